import { useEffect, useState } from 'preact/hooks'
import { api } from '../../api.js'
import { ConfirmDialog, ErrorBanner, Panel, useLoad } from '../../components/ui.js'
import { useSession } from '../../session.js'
import { linkClick } from '../../url-state.js'
import { type AlertEvent, type AlertRule, channelSummary, conditionSummary, cooldownSummary, type TestResult } from './alert-types.js'
import { fetchAll, timeOrNever } from './common.js'

/** Firings refresh by themselves this often while the rule is open (the evaluator runs every minute by default). */
const REFRESH_MS = 15_000

/** One rule: what it watches, a test notification, deletion, and its firings with ack/resolve. */
export const RuleDetail = ({ rule: given, projectName, onClose, onEdit, onChanged, onDeleted }: { rule: AlertRule; projectName: string; onClose: () => void; onEdit: () => void; onChanged: () => void; onDeleted: () => void }) => {
  const { canWrite } = useSession()
  // The rule read again with its firings, so its last evaluation is current after a refresh.
  const live = useLoad(async (signal) => {
    const [fresh, list] = await Promise.all([api<AlertRule>('GET', `/logs/alerts/${given.id}`, { signal }), fetchAll<AlertEvent>(`/logs/alerts/${given.id}/events`, signal)])
    return { rule: fresh, events: list }
  }, [given.id, given.updated_at])
  const rule = live.data?.rule.id === given.id && live.data.rule.updated_at >= given.updated_at ? live.data.rule : given
  const events = { data: live.data?.rule.id === given.id ? live.data.events : undefined, error: live.error, loading: live.loading }
  const refresh = () => {
    live.reload()
    onChanged()
  }
  const [test, setTest] = useState<{ busy: boolean; result?: TestResult; error?: unknown }>({ busy: false })
  const [deleting, setDeleting] = useState(false)
  const [actionError, setActionError] = useState<unknown>()
  const [busyEvent, setBusyEvent] = useState<string>()
  useEffect(() => {
    const t = setInterval(() => document.visibilityState === 'visible' && refresh(), REFRESH_MS)
    return () => clearInterval(t)
  })

  const patch = async (event: AlertEvent, status: 'acknowledged' | 'resolved') => {
    setBusyEvent(event.id)
    setActionError(undefined)
    try {
      await api<AlertEvent>('PATCH', `/logs/alert-events/${event.id}`, { body: { status } })
      refresh()
    } catch (err) {
      setActionError(err)
      refresh()
    } finally {
      setBusyEvent(undefined)
    }
  }

  return (
    <Panel title={rule.name} onClose={onClose} testId="alert-detail">
      <dl class="rule-summary">
        <dt>Project</dt>
        <dd>
          <a href={`/?project=${rule.project_id}&q=${encodeURIComponent(rule.query)}`} onClick={linkClick('/', { project: rule.project_id, q: rule.query })}>
            {projectName}
          </a>
        </dd>
        <dt>Query</dt>
        <dd>
          <code class="q">{rule.query}</code>
        </dd>
        <dt>Condition</dt>
        <dd>
          {conditionSummary(rule.condition)}, {cooldownSummary(rule.cooldown_minutes)}, {rule.enabled ? 'enabled' : 'disabled'}
        </dd>
        <dt>Channels</dt>
        <dd>
          <ul class="deliveries">
            {rule.channels.map((c, i) => (
              <li key={i}>{channelSummary(c)}</li>
            ))}
          </ul>
        </dd>
        <dt>Last evaluation</dt>
        <dd>
          {timeOrNever(rule.last_evaluated_at, 'not evaluated yet')}
          {rule.last_value !== null && ` · value ${rule.last_value}`}
          {rule.last_fired_at && (
            <>
              {' '}
              · last fired {timeOrNever(rule.last_fired_at)}
            </>
          )}
          {rule.last_error && <div class="field-error">{rule.last_error}</div>}
        </dd>
      </dl>
      {canWrite && (
        <div class="toolbar">
          <button type="button" class="btn" data-testid="alert-detail-edit" onClick={onEdit}>
            Edit
          </button>
          <button
            type="button"
            class="btn"
            data-testid="alert-test"
            disabled={test.busy}
            onClick={async () => {
              setTest({ busy: true })
              try {
                setTest({ busy: false, result: await api<TestResult>('POST', `/logs/alerts/${rule.id}/test`) })
              } catch (error) {
                setTest({ busy: false, error })
              }
            }}
          >
            {test.busy ? 'Sending test…' : 'Send test notification'}
          </button>
          <span class="spacer" />
          <button type="button" class="btn danger" data-testid="alert-delete" onClick={() => setDeleting(true)}>
            Delete
          </button>
        </div>
      )}
      <ErrorBanner error={test.error} />
      {test.result && (
        <section data-testid="alert-test-result" data-ok={String(test.result.ok)}>
          <h3 class="hint">Test notification {test.result.ok ? 'delivered on every channel' : 'failed on some channel'}</h3>
          <ul class="deliveries">
            {test.result.deliveries.map((d, i) => (
              <li key={i} data-testid="test-delivery" data-ok={String(d.ok)} data-channel={d.channel}>
                <span class={d.ok ? 'ok' : 'fail'}>{d.ok ? 'OK' : 'FAILED'}</span>
                <span>{d.channel}</span>
                <code>{d.target}</code>
                <span class="hint">
                  {d.status_code !== null && `status ${d.status_code} · `}
                  {Math.round(d.duration_ms)} ms
                </span>
                {d.error && <span class="field-error">{d.error}</span>}
              </li>
            ))}
          </ul>
        </section>
      )}

      <section class="ops-section">
        <header class="section-head">
          <h2>Firings</h2>
          <button type="button" class="btn small" data-testid="events-refresh" onClick={refresh}>
            Refresh
          </button>
        </header>
        <ErrorBanner error={events.error ?? actionError} />
        <table class="grid" data-testid="alert-events" aria-busy={events.loading}>
          <thead>
            <tr>
              <th>State</th>
              <th>Opened</th>
              <th class="num">Value</th>
              <th>Acknowledged</th>
              <th>Resolved</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {events.data?.map((e) => (
              <tr key={e.id} data-testid="alert-event" data-id={e.id} data-status={e.status}>
                <td>
                  <span class={`state state-${e.status}`}>{e.status}</span>
                </td>
                <td>{timeOrNever(e.opened_at)}</td>
                <td class="num" title={`${e.matched} of ${e.total} entries in ${e.window_minutes} min`}>
                  {e.value} / {e.threshold}
                </td>
                <td>{timeOrNever(e.acknowledged_at)}</td>
                <td>
                  {timeOrNever(e.resolved_at)}
                  {e.resolved_by && <div class="hint">{e.resolved_by === 'manual' ? 'by hand' : 'condition cleared'}</div>}
                </td>
                <td class="actions-cell">
                  {canWrite && e.status === 'open' && (
                    <button type="button" class="btn small" data-testid="event-ack" disabled={busyEvent === e.id} onClick={() => patch(e, 'acknowledged')}>
                      Acknowledge
                    </button>
                  )}
                  {canWrite && e.status !== 'resolved' && (
                    <button type="button" class="btn small" data-testid="event-resolve" disabled={busyEvent === e.id} onClick={() => patch(e, 'resolved')}>
                      Resolve
                    </button>
                  )}
                  {e.deliveries.length > 0 && (
                    <div class="hint">
                      {e.deliveries.filter((d) => d.ok).length}/{e.deliveries.length} deliveries ok
                    </div>
                  )}
                </td>
              </tr>
            ))}
            {events.data?.length === 0 && (
              <tr>
                <td colSpan={6} class="empty">
                  This rule has not fired.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      {deleting && (
        <ConfirmDialog
          title={`Delete the rule ${rule.name}?`}
          message="The rule, its firings and their delivery records are deleted."
          confirmText={rule.name}
          confirmLabel="Delete rule"
          onConfirm={async () => {
            await api('DELETE', `/logs/alerts/${rule.id}`)
            onDeleted()
          }}
          onClose={() => setDeleting(false)}
        />
      )}
    </Panel>
  )
}
