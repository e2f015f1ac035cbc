import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorBanner, formatTime, Panel, useLoad, useSubmit } from '../components/ui.js'
import { useSession } from '../session.js'
import { linkClick, navigate, useRoute } from '../url-state.js'
import { fieldErrors, intOf, loadProjects, type Project, ProjectFields, type ProjectValues, SecretBox, unplaced } from './ops/common.js'
import { ProjectDetail } from './ops/ProjectDetail.js'
import './ops.css'

/** /projects lists the team's projects; /projects?id=<id> opens one. */
export const Projects = () => {
  const route = useRoute()
  const id = route.query.get('id')
  return id ? <ProjectDetail id={id} /> : <ProjectList />
}

const ProjectList = () => {
  const { canWrite } = useSession()
  const list = useLoad((signal) => loadProjects(signal), [])
  const [creating, setCreating] = useState(false)
  return (
    <main class="page ops">
      <header class="ops-head">
        <h1>Projects</h1>
        {canWrite && (
          <button type="button" class="btn primary" data-testid="project-new" onClick={() => setCreating(true)}>
            New project
          </button>
        )}
      </header>
      <ErrorBanner error={list.error} />
      <table class="grid" data-testid="projects" aria-busy={list.loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th class="num">Retention</th>
            <th class="num">Daily limit</th>
            <th>Ingest token</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.map((p) => (
            <tr key={p.id} data-testid="project-row" data-id={p.id} data-name={p.name}>
              <td>
                <a href={`/projects?id=${p.id}`} onClick={linkClick('/projects', { id: p.id })}>
                  {p.name}
                </a>
                {p.description && <div class="hint">{p.description}</div>}
              </td>
              <td class="num">{p.retention_days} d</td>
              <td class="num">{p.daily_limit_mb} MB</td>
              <td>
                <code>{p.ingest_token_prefix}…</code>
              </td>
              <td>{formatTime(p.created_at)}</td>
            </tr>
          ))}
          {list.data?.length === 0 && (
            <tr>
              <td colSpan={5} class="empty">
                No projects yet.{canWrite ? ' Create one to get an ingest token.' : ''}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {creating && (
        <CreateProject
          onCreated={list.reload}
          onClose={() => {
            setCreating(false)
            list.reload()
          }}
        />
      )}
    </main>
  )
}

const FIELDS = ['name', 'description', 'retention_days', 'daily_limit_mb']

/** The create form; on success the same panel shows the ingest token, once. */
const CreateProject = ({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) => {
  const [values, setValues] = useState<ProjectValues>({ name: '', description: '', retention: '7', limit: '500' })
  const { name, description, retention, limit } = values
  const { busy, error, run } = useSubmit()
  const [created, setCreated] = useState<Project>()
  const errors = fieldErrors(error)
  if (created)
    return (
      <Panel title="Project created" onClose={onClose} testId="project-created">
        <p>
          <strong>{created.name}</strong> is ready. Send logs to it with this ingest token:
        </p>
        <SecretBox value={created.ingest_token ?? ''} testId="ingest-token">
          The server keeps only a hash of it. If it is lost, rotate the token on the project's page.
        </SecretBox>
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>
            Done
          </button>
          <button
            type="button"
            class="btn primary"
            onClick={() => {
              onClose()
              navigate('/projects', { id: created.id })
            }}
          >
            Open project
          </button>
        </div>
      </Panel>
    )
  return (
    <Panel title="New project" onClose={onClose} testId="project-form">
      <form
        noValidate
        onSubmit={run(async () => {
          const body = { name, description: description.trim() ? description : null, retention_days: intOf(retention), daily_limit_mb: intOf(limit) }
          setCreated(await api<Project>('POST', '/logs/projects', { body }))
          onCreated()
        })}
      >
        <ProjectFields values={values} onChange={(patch) => setValues((v) => ({ ...v, ...patch }))} errors={errors} descriptionHint="(optional)" />
        <ErrorBanner error={unplaced(error, FIELDS)} />
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            Create project
          </button>
        </div>
      </form>
    </Panel>
  )
}
