import { useEffect, useRef, useState } from 'preact/hooks'
import { type Page, request } from '../api.js'
import { ErrorBanner, formatTime } from '../components/ui.js'
import { linkClick, patchQuery, useRoute } from '../url-state.js'
import './ops.css'

interface AuditEntry {
  id: string
  at: string
  actor: string
  action: string
  target_type: string
  target_id: string | null
  request_id: string | null
  details: Record<string, unknown> | null
}

const ACTIONS = [
  'project.create',
  'project.update',
  'project.delete',
  'project.rotate_token',
  'ingest_token.create',
  'ingest_token.revoke',
  'key.create',
  'key.revoke',
  'alert.create',
  'alert.update',
  'alert.delete',
  'alert.test',
  'alert_event.update',
  'retention.run',
  'backup.create',
  'backup.restore',
  'session.create',
  'session.delete',
  'login_link.create',
  'viewer_token.create',
  'stream.claim',
]

const PAGE_SIZE = 50

/** Where a target lives in the console, when it has a page. */
const targetLink = (e: AuditEntry): { path: string; query: Record<string, string> } | undefined => {
  if (!e.target_id || e.action.endsWith('.delete')) return undefined
  if (e.target_type === 'project') return { path: '/projects', query: { id: e.target_id } }
  if (e.target_type === 'alert_rule') return { path: '/alerts', query: { rule: e.target_id } }
  return undefined
}

/** /audit (admin): every management action, newest first, a page at a time ("Load more" follows the cursor). */
export const Audit = () => {
  const route = useRoute()
  const action = route.query.get('action') ?? ''
  const [rows, setRows] = useState<AuditEntry[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [hasMore, setHasMore] = useState(false)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<unknown>()
  const ctl = useRef<AbortController | undefined>(undefined)

  const load = (after: string | null, filter: string) => {
    ctl.current?.abort()
    const mine = new AbortController()
    ctl.current = mine
    setLoading(true)
    setError(undefined)
    request<Page<AuditEntry>>('GET', '/audit-logs', { query: { action: filter || undefined, limit: PAGE_SIZE, cursor: after }, signal: mine.signal }).then(
      (page) => {
        if (mine.signal.aborted) return
        setRows((r) => (after ? [...r, ...page.data] : page.data))
        setCursor(page.cursor)
        setHasMore(page.has_more)
        setLoading(false)
      },
      (err) => {
        if (mine.signal.aborted) return
        setError(err)
        setLoading(false)
      },
    )
  }
  useEffect(() => {
    setRows([])
    load(null, action)
    return () => ctl.current?.abort()
  }, [action])

  return (
    <main class="page ops">
      <header class="ops-head">
        <h1>Audit log</h1>
        <label class="inline">
          <span class="hint">Action</span>&nbsp;
          <select value={action} onChange={(e) => patchQuery({ action: e.currentTarget.value || undefined })} data-testid="audit-action">
            <option value="">All actions</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        <button type="button" class="btn" onClick={() => load(null, action)}>
          Refresh
        </button>
      </header>
      <ErrorBanner error={error} />
      <table class="grid" data-testid="audit" aria-busy={loading}>
        <thead>
          <tr>
            <th>Time</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Target</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => {
            const link = targetLink(e)
            return (
              <tr key={e.id} data-testid="audit-entry" data-action={e.action} data-target={e.target_id ?? ''} data-actor={e.actor}>
                <td>
                  <time dateTime={e.at}>{formatTime(e.at)}</time>
                </td>
                <td>
                  <code>{e.actor}</code>
                </td>
                <td>{e.action}</td>
                <td>
                  <span class="hint">{e.target_type}</span>{' '}
                  {e.target_id &&
                    (link ? (
                      <a href={`${link.path}?${new URLSearchParams(link.query)}`} onClick={linkClick(link.path, link.query)}>
                        <code>{e.target_id}</code>
                      </a>
                    ) : (
                      <code>{e.target_id}</code>
                    ))}
                </td>
                <td class="audit-details">{e.details ? JSON.stringify(e.details) : ''}</td>
              </tr>
            )
          })}
          {!loading && rows.length === 0 && !error && (
            <tr>
              <td colSpan={5} class="empty">
                Nothing recorded{action ? ` for ${action}` : ''}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div class="load-more">
        {hasMore && (
          <button type="button" class="btn" data-testid="audit-more" disabled={loading} onClick={() => load(cursor, action)}>
            {loading ? 'Loading…' : 'Load more'}
          </button>
        )}
        {!hasMore && rows.length > 0 && (
          <span class="hint" data-testid="audit-end">
            {rows.length} {rows.length === 1 ? "entry" : "entries"}, all shown.
          </span>
        )}
      </div>
    </main>
  )
}
