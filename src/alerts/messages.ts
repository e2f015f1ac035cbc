import type { LogEntry } from '../logs/search.js'
import type { AlertEvent, AlertRule, Condition } from '../meta/alerts.js'

export type NotificationKind = 'firing' | 'resolved' | 'test'

/** One message about a rule, sent on every channel of the rule. */
export interface Notification {
  /** Unique per message; the same for every retry (X-Krafter-Event-Id). */
  id: string
  kind: NotificationKind
  rule: AlertRule
  projectName: string
  /** null for test notifications. */
  event: AlertEvent | null
  /** A few recent matching entries, newest first. */
  entries: LogEntry[]
  sentAt: Date
}

const conditionText = (c: Condition): string =>
  c.type === 'count'
    ? `at least ${c.threshold} matching entries in ${c.window_minutes} min`
    : `at least ${c.threshold_percent} % of entries matching in ${c.window_minutes} min (of at least ${c.min_entries} entries)`

/** "42 matching entries in the last 5 min (threshold 10)": the value against the threshold. */
export const valueText = (rule: AlertRule, event: AlertEvent): string =>
  rule.condition.type === 'count'
    ? `${event.matched} matching entries in the last ${event.window_minutes} min (threshold ${event.threshold})`
    : `${event.value} % of entries matching (${event.matched} of ${event.total}) in the last ${event.window_minutes} min (threshold ${event.threshold} %)`

const HEADLINE: Record<NotificationKind, string> = { firing: 'FIRING', resolved: 'RESOLVED', test: 'TEST' }

export const subjectOf = (n: Notification): string =>
  n.kind === 'test'
    ? `[Krafter Logs] [TEST] ${n.rule.name} (${n.projectName}): test notification`
    : `[Krafter Logs] ${HEADLINE[n.kind]}: ${n.rule.name} (${n.projectName})`

const summaryOf = (n: Notification): string => {
  if (n.kind === 'test') {
    return `This is a TEST notification for the alert rule "${n.rule.name}": the channel works. No alert is firing because of it.`
  }
  const value = valueText(n.rule, n.event!)
  return n.kind === 'firing' ? `Alert "${n.rule.name}" is firing: ${value}.` : `Alert "${n.rule.name}" is resolved: ${value}.`
}

const entryLine = (e: LogEntry): string => `${e.timestamp} ${e.level.toUpperCase()} ${e.service ? `[${e.service}] ` : ''}${e.message}`

const MESSAGE_CHARS = 500
const clip = (text: string): string => (text.length > MESSAGE_CHARS ? `${text.slice(0, MESSAGE_CHARS)}…` : text)

export const textBody = (n: Notification): string => {
  const lines = [
    summaryOf(n),
    '',
    `Rule:       ${n.rule.name} (${n.rule.id})`,
    `Project:    ${n.projectName} (${n.rule.project_id})`,
    `Query:      ${n.rule.query}`,
    `Condition:  ${conditionText(n.rule.condition)}`,
  ]
  if (n.event) {
    lines.push(`Value:      ${valueText(n.rule, n.event)}`, `Opened at:  ${n.event.opened_at}`)
    if (n.event.resolved_at) lines.push(`Resolved at: ${n.event.resolved_at}`)
    lines.push(`Firing id:  ${n.event.id}`)
  }
  if (n.entries.length > 0) {
    lines.push('', `Recent matching entries (${n.entries.length}):`, ...n.entries.map((e) => `  ${clip(entryLine(e))}`))
  }
  lines.push('', `Sent by Krafter Logs at ${n.sentAt.toISOString()}.`)
  return lines.join('\n')
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

export const htmlBody = (n: Notification): string => {
  const row = (label: string, value: string) =>
    `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`
  const rows = [
    row('Rule', n.rule.name),
    row('Project', n.projectName),
    row('Query', n.rule.query),
    row('Condition', conditionText(n.rule.condition)),
    ...(n.event ? [row('Value', valueText(n.rule, n.event)), row('Opened at', n.event.opened_at)] : []),
    ...(n.event?.resolved_at ? [row('Resolved at', n.event.resolved_at)] : []),
  ]
  const entries =
    n.entries.length === 0
      ? ''
      : `<h3>Recent matching entries</h3><table style="font-family:monospace;font-size:12px">${n.entries
          .map(
            (e) =>
              `<tr><td style="white-space:nowrap;padding-right:8px">${escapeHtml(e.timestamp)}</td><td>${escapeHtml(e.level.toUpperCase())}</td><td>${escapeHtml(e.service)}</td><td>${escapeHtml(clip(e.message))}</td></tr>`,
          )
          .join('')}</table>`
  const color = n.kind === 'firing' ? '#c0392b' : n.kind === 'resolved' ? '#27ae60' : '#2c3e50'
  return `<!doctype html><html><body style="font-family:sans-serif">
<h2 style="color:${color}">${escapeHtml(subjectOf(n).replace('[Krafter Logs] ', ''))}</h2>
<p>${escapeHtml(summaryOf(n))}</p>
<table>${rows.join('')}</table>
${entries}
<p style="color:#888;font-size:12px">Sent by Krafter Logs at ${escapeHtml(n.sentAt.toISOString())}.</p>
</body></html>`
}

/** The JSON body of a webhook; signed as sent (the raw bytes). */
export const webhookPayload = (n: Notification) => ({
  id: n.id,
  type: `alert.${n.kind}`,
  test: n.kind === 'test',
  sent_at: n.sentAt.toISOString(),
  summary: summaryOf(n),
  rule: {
    id: n.rule.id,
    name: n.rule.name,
    project_id: n.rule.project_id,
    project_name: n.projectName,
    query: n.rule.query,
    condition: n.rule.condition,
    cooldown_minutes: n.rule.cooldown_minutes,
  },
  firing: n.event,
  entries: n.entries,
})
