import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ConfirmDialog, ErrorBanner, Panel, useLoad, useSubmit } from '../components/ui.js'
import type { Scope } from '../session.js'
import { useSession } from '../session.js'
import { fetchAll, FieldError, fieldErrors, loadProjects, type Project, SecretBox, timeOrNever, unplaced } from './ops/common.js'
import './ops.css'

interface ApiKey {
  id: string
  name: string
  prefix: string
  scopes: Scope[]
  project_ids: string[] | null
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  created_at: string
  status: 'active' | 'revoked' | 'expired'
  key?: string
}

const SCOPES: { scope: Scope; label: string }[] = [
  { scope: 'logs:read', label: 'logs:read: search, export, read projects and alerts' },
  { scope: 'logs:write', label: 'logs:write: change projects, rotate tokens, change alert rules' },
  { scope: 'admin', label: 'admin: API keys, the audit log, backups and retention runs' },
]

/** /keys (admin): the team's API keys; create with scopes, projects and expiry; revoke. */
export const Keys = () => {
  const { session, isAdmin } = useSession()
  const list = useLoad(async (signal) => {
    const [keys, projects] = await Promise.all([fetchAll<ApiKey>('/keys', signal), loadProjects(signal)])
    return { keys, projects }
  }, [])
  const [creating, setCreating] = useState(false)
  const [revoking, setRevoking] = useState<ApiKey>()
  const projects = list.data?.projects ?? []
  const nameOf = (id: string) => projects.find((p) => p.id === id)?.name ?? `${id.slice(0, 8)}… (deleted)`
  // Keys are managed with the admin scope (the page is shown to admin keys only).
  const canManage = isAdmin
  return (
    <main class="page ops">
      <header class="ops-head">
        <h1>API keys</h1>
        <span class="spacer" />
        {canManage && (
          <button type="button" class="btn primary" data-testid="key-new" onClick={() => setCreating(true)}>
            New key
          </button>
        )}
      </header>
      <p class="hint">Team API keys for the API, the CLI and this console. A key is shown once, when it is created; the server keeps only its hash.</p>
      <ErrorBanner error={list.error} />
      <table class="grid" data-testid="keys" aria-busy={list.loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Scopes</th>
            <th>Projects</th>
            <th>Expires</th>
            <th>Last used</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.keys.map((k) => (
            <tr key={k.id} data-testid="key-row" data-id={k.id} data-name={k.name} data-status={k.status} class={k.status === 'active' ? '' : 'dim'}>
              <td>
                {k.name}
                {session.key?.id === k.id && <span class="badge">this session</span>}
              </td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.scopes.join(', ')}</td>
              <td>{k.project_ids === null ? <span class="muted">all</span> : k.project_ids.map(nameOf).join(', ')}</td>
              <td>{timeOrNever(k.expires_at, 'never')}</td>
              <td>{timeOrNever(k.last_used_at, 'never')}</td>
              <td>
                <span class={`state state-${k.status === 'active' ? 'ok' : 'error'}`}>{k.status}</span>
                {k.revoked_at && <div class="hint">{timeOrNever(k.revoked_at)}</div>}
              </td>
              <td class="actions-cell">
                {canManage && k.status === 'active' && (
                  <button type="button" class="btn small danger" data-testid="key-revoke" onClick={() => setRevoking(k)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {creating && list.data && (
        <CreateKey
          projects={projects}
          own={session.scopes}
          onClose={() => {
            setCreating(false)
            list.reload()
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke ${revoking.name}?`}
          message={
            <>
              The key <code>{revoking.prefix}…</code> is refused from its next request on, and its console sessions end.
              {session.key?.id === revoking.id && <strong> This is the key of your own session: you will be signed out.</strong>}
            </>
          }
          confirmLabel="Revoke key"
          onConfirm={async () => {
            await api('DELETE', `/keys/${revoking.id}`)
            list.reload()
          }}
          onClose={() => setRevoking(undefined)}
        />
      )}
    </main>
  )
}

const EXPIRY = [
  { value: 'never', label: 'Never' },
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In a year' },
  { value: 'date', label: 'On a date…' },
]

const FIELDS = ['name', 'scopes', 'project_ids', 'expires_at']

const CreateKey = ({ projects, own, onClose }: { projects: Project[]; own: Scope[]; onClose: () => void }) => {
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<Scope[]>(['logs:read'])
  const [limited, setLimited] = useState(false)
  const [projectIds, setProjectIds] = useState<string[]>([])
  const [expiry, setExpiry] = useState('never')
  const [date, setDate] = useState('')
  const { busy, error, run } = useSubmit()
  const [created, setCreated] = useState<ApiKey>()
  const errors = fieldErrors(error)
  const toggle = <T,>(list: T[], item: T, on: boolean): T[] => (on ? [...list.filter((x) => x !== item), item] : list.filter((x) => x !== item))

  if (created)
    return (
      <Panel title="Key created" onClose={onClose} testId="key-created">
        <p>
          <strong>{created.name}</strong> ({created.scopes.join(', ')}
          {created.project_ids ? `, limited to ${created.project_ids.length === 1 ? 'one project' : `${created.project_ids.length} projects`}` : ', every project'}):
        </p>
        <SecretBox value={created.key ?? ''} testId="api-key">
          Only its prefix <code>{created.prefix}</code> is shown from now on.
        </SecretBox>
        <div class="actions">
          <button type="button" class="btn primary" onClick={onClose}>
            Done
          </button>
        </div>
      </Panel>
    )

  const expiresAt = (): string | null => {
    if (expiry === 'never') return null
    if (expiry === 'date') return date ? new Date(`${date}T23:59:59`).toISOString() : ''
    return new Date(Date.now() + Number(expiry) * 86_400_000).toISOString()
  }

  return (
    <Panel title="New API key" onClose={onClose} testId="key-form">
      <form
        noValidate
        onSubmit={run(async () => {
          const body = { name, scopes, project_ids: limited ? projectIds : null, expires_at: expiresAt() }
          setCreated(await api<ApiKey>('POST', '/keys', { body }))
        })}
      >
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus aria-invalid={!!errors.name} placeholder="grafana" />
          <FieldError errors={errors} field="name" />
        </label>
        <fieldset class="choices">
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label class="inline" key={s.scope}>
              <input type="checkbox" name="scopes" value={s.scope} checked={scopes.includes(s.scope)} disabled={!own.includes(s.scope)} onChange={(e) => setScopes((cur) => toggle(cur, s.scope, e.currentTarget.checked))} data-testid={`scope-${s.scope}`} />
              {s.label}
              {!own.includes(s.scope) && <span class="hint">(your key lacks it)</span>}
            </label>
          ))}
          <FieldError errors={errors} field="scopes" />
        </fieldset>
        <fieldset class="choices">
          <legend>Projects</legend>
          <label class="inline">
            <input type="radio" name="projects_mode" checked={!limited} onChange={() => setLimited(false)} data-testid="projects-all" />
            All projects, including those created later
          </label>
          <label class="inline">
            <input type="radio" name="projects_mode" checked={limited} onChange={() => setLimited(true)} data-testid="projects-some" />
            Only these projects
          </label>
          {limited && (
            <div class="checklist" role="group" aria-label="Projects the key may access">
              {projects.map((p) => (
                <label class="inline" key={p.id}>
                  <input type="checkbox" name="project_ids" value={p.id} checked={projectIds.includes(p.id)} onChange={(e) => setProjectIds((cur) => toggle(cur, p.id, e.currentTarget.checked))} data-testid="key-project" data-name={p.name} />
                  {p.name}
                </label>
              ))}
              {projects.length === 0 && <span class="hint">No projects yet.</span>}
            </div>
          )}
          <FieldError errors={errors} field="project_ids" />
        </fieldset>
        <div class="form-row">
          <label>
            Expires
            <select name="expiry" value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)} data-testid="key-expiry">
              {EXPIRY.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
          {expiry === 'date' && (
            <label>
              Date (end of that day, local time)
              <input name="expires_date" type="date" value={date} onInput={(e) => setDate(e.currentTarget.value)} aria-invalid={!!errors.expires_at} />
            </label>
          )}
        </div>
        <FieldError errors={errors} field="expires_at" />
        <ErrorBanner error={unplaced(error, FIELDS)} />
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy} data-testid="key-create">
            Create key
          </button>
        </div>
      </form>
    </Panel>
  )
}
