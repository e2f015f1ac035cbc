// The alert rule and firing objects of the API (docs/api.md "Alerts") and how the pages word them.

export type Condition = { type: 'count'; threshold: number; window_minutes: number } | { type: 'rate'; threshold_percent: number; window_minutes: number; min_entries: number }
export type Channel = { type: 'email'; to: string[] } | { type: 'webhook'; url: string; secret?: string }

export interface AlertRule {
  id: string
  project_id: string
  name: string
  query: string
  condition: Condition
  channels: Channel[]
  cooldown_minutes: number
  enabled: boolean
  last_evaluated_at: string | null
  last_value: number | null
  last_error: string | null
  last_fired_at: string | null
  created_at: string
  updated_at: string
}

export interface DeliveryAttempt {
  id: string
  notification_id: string
  kind: 'firing' | 'resolved' | 'test'
  channel: 'email' | 'webhook'
  target: string
  attempt: number
  ok: boolean
  status_code: number | null
  duration_ms: number
  error: string | null
  attempted_at: string
}

export interface AlertEvent {
  id: string
  rule_id: string
  status: 'open' | 'acknowledged' | 'resolved'
  value: number
  threshold: number
  matched: number
  total: number
  window_minutes: number
  opened_at: string
  acknowledged_at: string | null
  resolved_at: string | null
  resolved_by: 'condition' | 'manual' | null
  deliveries: DeliveryAttempt[]
}

export interface TestResult {
  rule_id: string
  notification_id: string
  ok: boolean
  deliveries: { channel: 'email' | 'webhook'; target: string; ok: boolean; attempts: number; status_code: number | null; error: string | null; duration_ms: number }[]
}

export interface Preview {
  from: string
  to: string
  step_minutes: number
  firings: number
  fired_at: string[]
  points: { time: string; matching: number; total: number; met: boolean }[]
}

const minutes = (m: number): string => (m % 1440 === 0 ? `${m / 1440} d` : m % 60 === 0 ? `${m / 60} h` : `${m} min`)

export const conditionSummary = (c: Condition): string =>
  c.type === 'count' ? `≥ ${c.threshold} matching in ${minutes(c.window_minutes)}` : `≥ ${c.threshold_percent}% of entries in ${minutes(c.window_minutes)} (at least ${c.min_entries} entries)`

export const channelSummary = (c: Channel): string => (c.type === 'email' ? `email ${c.to.join(', ')}` : `webhook ${c.url}`)

export const cooldownSummary = (m: number): string => (m === 0 ? 'no cooldown' : `cooldown ${minutes(m)}`)

/** What a rule is doing now: its latest firing when one is active, else its last evaluation. */
export type RuleState = 'firing' | 'acknowledged' | 'ok' | 'error' | 'not evaluated' | 'disabled'

export const ruleState = (rule: AlertRule, latest: AlertEvent | undefined): RuleState => {
  if (latest?.status === 'open') return 'firing'
  if (latest?.status === 'acknowledged') return 'acknowledged'
  if (!rule.enabled) return 'disabled'
  if (rule.last_error) return 'error'
  if (!rule.last_evaluated_at) return 'not evaluated'
  return 'ok'
}
