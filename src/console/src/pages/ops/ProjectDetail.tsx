import { useState } from 'preact/hooks'
import { api } from '../../api.js'
import { ConfirmDialog, ErrorBanner, formatBytes, formatCount, formatTime, Panel, useLoad, useSubmit } from '../../components/ui.js'
import { useSession } from '../../session.js'
import { linkClick, navigate, patchQuery, useRoute } from '../../url-state.js'
import { fieldErrors, intOf, type Project, ProjectFields, type ProjectValues, SecretBox, unplaced } from './common.js'

interface UsageDay {
  date: string
  bytes_in: number
  entries: number
  rejected: number
}
interface Usage {
  project_id: string
  daily_limit_mb: number
  daily_limit_bytes: number
  today: UsageDay & { percent_of_limit: number }
  days: UsageDay[]
}
interface Stream {
  id: string
  name: string
  inserted_at: string
}

type Dialog = 'edit' | 'rotate' | 'delete' | undefined

/** One project: settings, token rotation, deletion, usage per day and streams. */
export const ProjectDetail = ({ id }: { id: string }) => {
  const { canWrite } = useSession()
  const project = useLoad((signal) => api<Project>('GET', `/logs/projects/${encodeURIComponent(id)}`, { signal }), [id])
  const [dialog, setDialog] = useState<Dialog>()
  const close = () => setDialog(undefined)
  const p = project.data?.id === id ? project.data : undefined
  return (
    <main class="page ops">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/projects" onClick={linkClick('/projects')}>
          Projects
        </a>{' '}
        /
      </nav>
      <ErrorBanner error={project.error} />
      {p && (
        <>
          <header class="ops-head">
            <h1 data-testid="project-name">{p.name}</h1>
            <a class="btn" href={`/?project=${p.id}`} onClick={linkClick('/', { project: p.id })} data-testid="project-explore">
              Explore
            </a>
            <span class="spacer" />
            {canWrite && (
              <>
                <button type="button" class="btn" data-testid="project-edit" onClick={() => setDialog('edit')}>
                  Edit
                </button>
                <button type="button" class="btn" data-testid="project-rotate" onClick={() => setDialog('rotate')}>
                  Rotate token
                </button>
                <button type="button" class="btn danger" data-testid="project-delete" onClick={() => setDialog('delete')}>
                  Delete
                </button>
              </>
            )}
          </header>
          {p.description && <p class="hint">{p.description}</p>}
          <dl class="facts" data-testid="project-facts">
            <div>
              <dt>Retention</dt>
              <dd data-testid="project-retention" data-value={p.retention_days}>
                {p.retention_days} days
              </dd>
            </div>
            <div>
              <dt>Daily limit</dt>
              <dd data-testid="project-limit" data-value={p.daily_limit_mb}>
                {p.daily_limit_mb} MB
              </dd>
            </div>
            <div>
              <dt>Ingest token</dt>
              <dd>
                <code data-testid="project-token-prefix">{p.ingest_token_prefix}…</code>
              </dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{formatTime(p.created_at)}</dd>
            </div>
            <div>
              <dt>Project id</dt>
              <dd>
                <code>{p.id}</code>
              </dd>
            </div>
          </dl>
          <UsageSection project={p} />
          <StreamsSection id={p.id} />
          {dialog === 'edit' && <EditProject project={p} onClose={close} onSaved={project.reload} />}
          {dialog === 'rotate' && <RotateToken project={p} onClose={close} onRotated={project.reload} />}
          {dialog === 'delete' && (
            <ConfirmDialog
              title={`Delete ${p.name}?`}
              message={
                <>
                  This deletes the project, <strong>all its log entries</strong>, streams, usage and alert rules, and revokes its ingest token. It cannot be undone.
                </>
              }
              confirmText={p.name}
              confirmLabel="Delete project"
              onConfirm={async () => {
                await api('DELETE', `/logs/projects/${p.id}`)
                navigate('/projects', {}, { replace: true })
              }}
              onClose={close}
            />
          )}
        </>
      )}
    </main>
  )
}

const EDIT_FIELDS = ['name', 'description', 'retention_days', 'daily_limit_mb']

const EditProject = ({ project, onClose, onSaved }: { project: Project; onClose: () => void; onSaved: () => void }) => {
  const [values, setValues] = useState<ProjectValues>({ name: project.name, description: project.description ?? '', retention: String(project.retention_days), limit: String(project.daily_limit_mb) })
  const { name, description, retention, limit } = values
  const { busy, error, run } = useSubmit()
  const errors = fieldErrors(error)
  return (
    <Panel title={`Edit ${project.name}`} onClose={onClose} testId="project-edit-form">
      <form
        noValidate
        onSubmit={run(async () => {
          // Only what changed: a PUT is partial.
          const body: Record<string, unknown> = {}
          if (name !== project.name) body.name = name
          if (description !== (project.description ?? '')) body.description = description.trim() ? description : null
          if (retention !== String(project.retention_days)) body.retention_days = intOf(retention)
          if (limit !== String(project.daily_limit_mb)) body.daily_limit_mb = intOf(limit)
          await api('PUT', `/logs/projects/${project.id}`, { body })
          onSaved()
          onClose()
        })}
      >
        <ProjectFields values={values} onChange={(patch) => setValues((v) => ({ ...v, ...patch }))} errors={errors} />
        <p class="hint">Shorter retention removes older entries at the next nightly retention run.</p>
        <ErrorBanner error={unplaced(error, EDIT_FIELDS)} />
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Panel>
  )
}

const GRACE = [
  { seconds: 0, label: 'None: the current token stops working now' },
  { seconds: 3600, label: '1 hour: both tokens work for an hour' },
  { seconds: 86400, label: '24 hours: both tokens work for a day' },
]

const RotateToken = ({ project, onClose, onRotated }: { project: Project; onClose: () => void; onRotated: () => void }) => {
  const [grace, setGrace] = useState(3600)
  const { busy, error, run } = useSubmit()
  const [token, setToken] = useState<string>()
  return (
    <Panel kind="dialog" title={`Rotate the ingest token of ${project.name}`} onClose={onClose} testId="project-rotate-form">
      {token ? (
        <>
          <p>The new ingest token{grace > 0 ? `; the previous one keeps working for ${grace === 3600 ? 'an hour' : '24 hours'}` : '; the previous one no longer works'}:</p>
          <SecretBox value={token} testId="ingest-token">
            Put it in your log shippers{grace > 0 ? ' before the grace period ends' : ''}.
          </SecretBox>
          <div class="actions">
            <button type="button" class="btn primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={run(async () => {
            const rotated = await api<Project>('POST', `/logs/projects/${project.id}/rotate_token`, { body: { grace_seconds: grace } })
            setToken(rotated.ingest_token)
            onRotated()
          })}
        >
          <fieldset class="choices">
            <legend>Grace period for the current token</legend>
            {GRACE.map((g) => (
              <label class="inline" key={g.seconds}>
                <input type="radio" name="grace" value={g.seconds} checked={grace === g.seconds} onChange={() => setGrace(g.seconds)} data-testid={`grace-${g.seconds}`} />
                {g.label}
              </label>
            ))}
          </fieldset>
          <ErrorBanner error={error} />
          <div class="actions">
            <button type="button" class="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="btn primary" disabled={busy} data-testid="rotate-submit">
              Rotate token
            </button>
          </div>
        </form>
      )}
    </Panel>
  )
}

const DAY_CHOICES = [7, 14, 30, 90]

/** Bytes ingested per UTC day against the daily limit: a bar per day, the limit at the track's end. */
const UsageSection = ({ project }: { project: Project }) => {
  const route = useRoute()
  const days = DAY_CHOICES.includes(Number(route.query.get('days'))) ? Number(route.query.get('days')) : 7
  const usage = useLoad((signal) => api<Usage>('GET', `/logs/projects/${project.id}/usage`, { query: { days }, signal }), [project.id, project.daily_limit_mb, days])
  const u = usage.data
  return (
    <section class="ops-section" aria-labelledby="usage-title">
      <header class="section-head">
        <h2 id="usage-title">Usage per day</h2>
        <div class="seg" role="group" aria-label="Days shown">
          {DAY_CHOICES.map((d) => (
            <button key={d} type="button" class={`btn small ${d === days ? 'active' : ''}`} aria-pressed={d === days} onClick={() => patchQuery({ days: d === 7 ? undefined : String(d) }, { replace: true })}>
              {d} days
            </button>
          ))}
        </div>
      </header>
      <ErrorBanner error={usage.error} />
      {u && (
        <>
          <p class="hint" data-testid="usage-today" data-bytes={u.today.bytes_in} data-percent={u.today.percent_of_limit}>
            Today (UTC): <strong>{formatBytes(u.today.bytes_in)}</strong> of {formatBytes(u.daily_limit_bytes)} ({u.today.percent_of_limit}% of the daily limit), {formatCount(u.today.entries)} entries
            {u.today.rejected > 0 && `, ${formatCount(u.today.rejected)} rejected`}.
          </p>
          <table class="grid usage" data-testid="usage" aria-busy={usage.loading}>
            <thead>
              <tr>
                <th>Day (UTC)</th>
                <th class="usage-bar-col">
                  Volume against the limit <span class="hint">(the line is {project.daily_limit_mb} MB)</span>
                </th>
                <th class="num">Ingested</th>
                <th class="num">% of limit</th>
                <th class="num">Entries</th>
                <th class="num">Rejected</th>
              </tr>
            </thead>
            <tbody>
              {u.days.map((d) => {
                const share = u.daily_limit_bytes > 0 ? d.bytes_in / u.daily_limit_bytes : 0
                const pct = Math.round(share * 10000) / 100
                return (
                  <tr key={d.date} data-testid="usage-day" data-date={d.date} data-bytes={d.bytes_in} data-entries={d.entries}>
                    <td>{d.date}</td>
                    <td class="usage-bar-col">
                      <div class="usage-track" role="img" aria-label={`${formatBytes(d.bytes_in)}, ${pct}% of the daily limit`}>
                        <div class={`usage-fill ${share >= 1 ? 'full' : share >= 0.8 ? 'high' : ''} ${d.bytes_in > 0 ? 'some' : ''}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
                        <div class="usage-limit" title={`Daily limit ${project.daily_limit_mb} MB`} />
                      </div>
                    </td>
                    <td class="num">{formatBytes(d.bytes_in)}</td>
                    <td class="num">{pct}%</td>
                    <td class="num">{formatCount(d.entries)}</td>
                    <td class={`num ${d.rejected > 0 ? 'warn' : ''}`}>{formatCount(d.rejected)}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}

/** `stream:<name>`, quoted unless the name is plain. */
const streamQuery = (name: string): string => (/^[A-Za-z0-9_-]+$/.test(name) ? `stream:${name}` : `stream:"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`)

const StreamsSection = ({ id }: { id: string }) => {
  const streams = useLoad((signal) => api<Stream[]>('GET', `/logs/projects/${id}/streams`, { signal }), [id])
  return (
    <section class="ops-section" aria-labelledby="streams-title">
      <header class="section-head">
        <h2 id="streams-title">Streams</h2>
        <button type="button" class="btn small" onClick={streams.reload}>
          Refresh
        </button>
      </header>
      <ErrorBanner error={streams.error} />
      {streams.data && (
        <table class="grid" data-testid="streams" aria-busy={streams.loading}>
          <thead>
            <tr>
              <th>Name</th>
              <th>First seen</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {streams.data.map((s) => (
              <tr key={s.id} data-testid="stream" data-name={s.name}>
                <td>
                  <code>{s.name}</code>
                </td>
                <td>{formatTime(s.inserted_at)}</td>
                <td>
                  <a href={`/?project=${id}&q=${encodeURIComponent(streamQuery(s.name))}`} onClick={linkClick('/', { project: id, q: streamQuery(s.name) })}>
                    Explore
                  </a>
                </td>
              </tr>
            ))}
            {streams.data.length === 0 && (
              <tr>
                <td colSpan={3} class="empty">
                  No streams yet: a stream appears the first time an entry names it (entries without one go to <code>default</code>).
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  )
}
