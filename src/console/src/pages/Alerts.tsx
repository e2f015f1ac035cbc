import { useState } from 'preact/hooks'
import { api, request, type Page } from '../api.js'
import { ErrorBanner, formatTime, useLoad } from '../components/ui.js'
import { useSession } from '../session.js'
import { linkClick, patchQuery, useRoute } from '../url-state.js'
import { type AlertEvent, type AlertRule, conditionSummary, ruleState } from './ops/alert-types.js'
import { AlertForm } from './ops/AlertForm.js'
import { fetchAll, loadProjects, type Project } from './ops/common.js'
import { RuleDetail } from './ops/RuleDetail.js'
import './ops.css'

interface Listed {
  rules: AlertRule[]
  latest: Map<string, AlertEvent | undefined>
  projects: Project[]
}

/** Rules, their latest firing (for the state column) and the projects to name them by. */
const loadAll = async (signal: AbortSignal, projectId: string | undefined): Promise<Listed> => {
  const [rules, projects] = await Promise.all([fetchAll<AlertRule>('/logs/alerts', signal, { project_id: projectId }), loadProjects(signal)])
  const latest = new Map<string, AlertEvent | undefined>()
  await Promise.all(
    rules.map(async (r) => {
      const page = await request<Page<AlertEvent>>('GET', `/logs/alerts/${r.id}/events`, { query: { limit: 1 }, signal })
      latest.set(r.id, page.data[0])
    }),
  )
  return { rules, latest, projects }
}

/** /alerts: rules (?project= filters), ?rule=<id> opens one with its firings. */
export const Alerts = () => {
  const { canWrite } = useSession()
  const route = useRoute()
  const projectFilter = route.query.get('project') ?? undefined
  const openRule = route.query.get('rule') ?? undefined
  const list = useLoad((signal) => loadAll(signal, projectFilter), [projectFilter])
  const [editing, setEditing] = useState<AlertRule | 'new'>()
  const [toggleError, setToggleError] = useState<unknown>()
  // Rules changed here (enabled toggled, edited) show at once, before the list reloads.
  const [changed, setChanged] = useState<Record<string, AlertRule>>({})
  const data = list.data
  const projects = data?.projects ?? []
  const nameOf = (id: string) => projects.find((p) => p.id === id)?.name ?? id.slice(0, 8)
  const rules = (data?.rules ?? []).map((r) => {
    const c = changed[r.id]
    return c && c.updated_at > r.updated_at ? c : r
  })
  const saved = (r: AlertRule) => {
    setChanged((c) => ({ ...c, [r.id]: r }))
    list.reload()
  }
  const current = openRule ? rules.find((r) => r.id === openRule) : undefined

  return (
    <main class="page ops">
      <header class="ops-head">
        <h1>Alerts</h1>
        <label class="inline">
          <span class="hint">Project</span>&nbsp;
          <select value={projectFilter ?? ''} onChange={(e) => patchQuery({ project: e.currentTarget.value || undefined, rule: undefined })} data-testid="alerts-project">
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        {canWrite && (
          <button type="button" class="btn primary" data-testid="alert-new" disabled={data !== undefined && projects.length === 0} onClick={() => setEditing('new')}>
            New rule
          </button>
        )}
      </header>
      <ErrorBanner error={list.error} />
      <ErrorBanner error={toggleError} />
      <table class="grid" data-testid="alert-rules" aria-busy={list.loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Project</th>
            <th>Query</th>
            <th>Condition</th>
            <th>Enabled</th>
            <th>State</th>
            <th>Last evaluated</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => {
            const state = ruleState(r, data?.latest.get(r.id))
            return (
              <tr key={r.id} data-testid="alert-rule" data-id={r.id} data-name={r.name} data-enabled={String(r.enabled)} data-state={state} class={r.enabled ? '' : 'dim'}>
                <td>
                  <a href={`/alerts?rule=${r.id}`} onClick={linkClick('/alerts', { project: projectFilter, rule: r.id })} data-testid="alert-open">
                    {r.name}
                  </a>
                </td>
                <td>{nameOf(r.project_id)}</td>
                <td>
                  <code class="q">{r.query}</code>
                </td>
                <td>{conditionSummary(r.condition)}</td>
                <td>
                  {canWrite ? (
                    <button
                      type="button"
                      role="switch"
                      class="switch"
                      aria-checked={r.enabled}
                      aria-label={`${r.enabled ? 'Disable' : 'Enable'} ${r.name}`}
                      data-testid="alert-enabled"
                      onClick={async () => {
                        setToggleError(undefined)
                        try {
                          saved(await api<AlertRule>('PUT', `/logs/alerts/${r.id}`, { body: { enabled: !r.enabled } }))
                        } catch (err) {
                          setToggleError(err)
                        }
                      }}
                    >
                      <span class="switch-track" aria-hidden="true" />
                      {r.enabled ? 'on' : 'off'}
                    </button>
                  ) : (
                    <span data-testid="alert-enabled-text">{r.enabled ? 'on' : 'off'}</span>
                  )}
                </td>
                <td>
                  <span class={`state state-${state.replace(' ', '-')}`} title={r.last_error ?? undefined}>
                    {state}
                  </span>
                  {r.last_value !== null && r.last_evaluated_at && <div class="hint">last value {r.last_value}</div>}
                </td>
                <td>{r.last_evaluated_at ? formatTime(r.last_evaluated_at) : <span class="muted">never</span>}</td>
                <td class="actions-cell">
                  {canWrite && (
                    <button type="button" class="btn small" data-testid="alert-edit" onClick={() => setEditing(r)}>
                      Edit
                    </button>
                  )}
                </td>
              </tr>
            )
          })}
          {data && rules.length === 0 && (
            <tr>
              <td colSpan={8} class="empty">
                {projects.length === 0 ? 'Create a project first: rules watch the entries of a project.' : 'No alert rules yet.'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {openRule && current && (
        <RuleDetail
          rule={current}
          projectName={nameOf(current.project_id)}
          onClose={() => patchQuery({ rule: undefined })}
          onEdit={() => setEditing(current)}
          onChanged={list.reload}
          onDeleted={() => {
            patchQuery({ rule: undefined }, { replace: true })
            list.reload()
          }}
        />
      )}
      {openRule && data && !current && !list.loading && <ErrorBanner error={new Error(`No alert rule ${openRule} here`)} />}
      {editing && data && (
        <AlertForm
          rule={editing === 'new' ? undefined : editing}
          projects={projects}
          defaultProject={projectFilter}
          onClose={() => setEditing(undefined)}
          onSaved={saved}
        />
      )}
    </main>
  )
}
