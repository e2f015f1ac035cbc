import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'
import { keysetQuery, type KeysetOrder } from './keyset.js'

export type Condition =
  | { type: 'count'; threshold: number; window_minutes: number }
  | { type: 'rate'; threshold_percent: number; window_minutes: number; min_entries: number }

export type Channel = { type: 'email'; to: string[] } | { type: 'webhook'; url: string; secret: string }

/** What a rule is made of: set on create, replaced by update. */
export interface RuleFields {
  project_id: string
  name: string
  query: string
  condition: Condition
  channels: Channel[]
  cooldown_minutes: number
  enabled: boolean
}

export interface AlertRule extends RuleFields {
  id: string
  team_id: string
  last_evaluated_at: string | null
  last_value: number | null
  last_error: string | null
  last_fired_at: string | null
  created_at: string
  updated_at: string
}

export type EventStatus = 'open' | 'acknowledged' | 'resolved'

export interface AlertEvent {
  id: string
  rule_id: string
  status: EventStatus
  value: number
  threshold: number
  matched: number
  total: number
  window_minutes: number
  opened_at: string
  acknowledged_at: string | null
  resolved_at: string | null
  /** `condition` when the evaluator saw it clear, `manual` when resolved through the API. */
  resolved_by: 'condition' | 'manual' | null
}

export interface DeliveryAttempt {
  id: string
  rule_id: string
  event_id: string | null
  /** Same for every attempt of one notification: the X-Krafter-Event-Id receivers dedupe on. */
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

type RuleRow = Omit<AlertRule, 'condition' | 'channels' | 'enabled'> & { condition: string; channels: string; enabled: number }

const toRule = (row: RuleRow | undefined): AlertRule | undefined =>
  row && { ...row, condition: JSON.parse(row.condition), channels: JSON.parse(row.channels), enabled: row.enabled === 1 }

const RULES_ORDER: KeysetOrder = { columns: ['created_at', 'id'], direction: 'ASC' }
const EVENTS_ORDER: KeysetOrder = { columns: ['opened_at', 'id'], direction: 'DESC' }

export interface PageKey {
  at: string
  id: string
}

/** A rule's fields as its columns: condition and channels as JSON, enabled as 0/1. */
const ruleColumns = (fields: RuleFields) => ({
  project_id: fields.project_id,
  name: fields.name,
  query: fields.query,
  condition: JSON.stringify(fields.condition),
  channels: JSON.stringify(fields.channels),
  cooldown_minutes: fields.cooldown_minutes,
  enabled: fields.enabled ? 1 : 0,
})

export const insertRule = (db: MetaDb, teamId: string, fields: RuleFields, now: Date): AlertRule => {
  const id = randomUUID()
  const stamp = now.toISOString()
  db.prepare(
    `INSERT INTO alert_rules (id, team_id, project_id, name, query, condition, channels, cooldown_minutes, enabled, created_at, updated_at)
     VALUES (@id, @teamId, @project_id, @name, @query, @condition, @channels, @cooldown_minutes, @enabled, @stamp, @stamp)`,
  ).run({ ...ruleColumns(fields), id, teamId, stamp })
  return getRule(db, teamId, id)!
}

export const getRule = (db: MetaDb, teamId: string, id: string): AlertRule | undefined =>
  toRule(db.prepare('SELECT * FROM alert_rules WHERE team_id = ? AND id = ?').get(teamId, id) as RuleRow | undefined)

/** Keyset page ordered by (created_at, id); `projectIds` narrows it for keys limited to some projects. */
export const listRules = (
  db: MetaDb,
  teamId: string,
  options: { limit: number; after?: PageKey; projectId?: string; projectIds?: string[] | null },
): AlertRule[] => {
  const q = keysetQuery({
    select: 'SELECT * FROM alert_rules',
    filters: [
      ['team_id = @teamId', { teamId }],
      options.projectId && ['project_id = @projectId', { projectId: options.projectId }],
      options.projectIds && ['project_id IN (SELECT value FROM json_each(@projectIds))', { projectIds: JSON.stringify(options.projectIds) }],
    ],
    order: RULES_ORDER,
    after: options.after && [options.after.at, options.after.id],
    limit: options.limit,
  })
  return (db.prepare(q.sql).all(q.params) as RuleRow[]).map((r) => toRule(r)!)
}

export const enabledRules = (db: MetaDb): AlertRule[] =>
  (db.prepare('SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY created_at, id').all() as RuleRow[]).map((r) => toRule(r)!)

export const updateRuleRow = (db: MetaDb, teamId: string, id: string, fields: RuleFields, now: Date): AlertRule | undefined => {
  const info = db
    .prepare(
      `UPDATE alert_rules SET project_id = @project_id, name = @name, query = @query, condition = @condition, channels = @channels,
         cooldown_minutes = @cooldown_minutes, enabled = @enabled, updated_at = @stamp
       WHERE team_id = @teamId AND id = @id`,
    )
    .run({ ...ruleColumns(fields), id, teamId, stamp: now.toISOString() })
  return info.changes === 0 ? undefined : getRule(db, teamId, id)
}

export const deleteRuleRow = (db: MetaDb, teamId: string, id: string): boolean =>
  db.prepare('DELETE FROM alert_rules WHERE team_id = ? AND id = ?').run(teamId, id).changes > 0

/** What the evaluator learnt on its last pass; shown with the rule. */
export const recordEvaluation = (
  db: MetaDb,
  id: string,
  result: { at: Date; value: number | null; error: string | null; firedAt?: Date },
): void => {
  db.prepare(
    `UPDATE alert_rules SET last_evaluated_at = ?, last_value = ?, last_error = ?, last_fired_at = COALESCE(?, last_fired_at) WHERE id = ?`,
  ).run(result.at.toISOString(), result.value, result.error, result.firedAt?.toISOString() ?? null, id)
}

// ---- events -----------------------------------------------------------------------------

export const insertEvent = (
  db: MetaDb,
  fields: Pick<AlertEvent, 'rule_id' | 'value' | 'threshold' | 'matched' | 'total' | 'window_minutes'>,
  now: Date,
): AlertEvent => {
  const id = randomUUID()
  db.prepare(
    `INSERT INTO alert_events (id, rule_id, status, value, threshold, matched, total, window_minutes, opened_at)
     VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?)`,
  ).run(id, fields.rule_id, fields.value, fields.threshold, fields.matched, fields.total, fields.window_minutes, now.toISOString())
  return getEvent(db, id)!
}

export const getEvent = (db: MetaDb, id: string): AlertEvent | undefined =>
  db.prepare('SELECT * FROM alert_events WHERE id = ?').get(id) as AlertEvent | undefined

/** The rule's firing that is not resolved yet, if any (at most one at a time). */
export const activeEvent = (db: MetaDb, ruleId: string): AlertEvent | undefined =>
  db.prepare(`SELECT * FROM alert_events WHERE rule_id = ? AND status != 'resolved' ORDER BY opened_at DESC LIMIT 1`).get(ruleId) as
    | AlertEvent
    | undefined

/** Newest first, keyset on (opened_at, id). */
export const listEvents = (db: MetaDb, ruleId: string, options: { limit: number; before?: PageKey }): AlertEvent[] => {
  const q = keysetQuery({
    select: 'SELECT * FROM alert_events',
    filters: [['rule_id = @ruleId', { ruleId }]],
    order: EVENTS_ORDER,
    after: options.before && [options.before.at, options.before.id],
    limit: options.limit,
  })
  return db.prepare(q.sql).all(q.params) as AlertEvent[]
}

export const setEventStatus = (
  db: MetaDb,
  id: string,
  status: 'acknowledged' | 'resolved',
  now: Date,
  resolvedBy?: 'condition' | 'manual',
): AlertEvent | undefined => {
  const stamp = now.toISOString()
  if (status === 'acknowledged') {
    db.prepare(`UPDATE alert_events SET status = 'acknowledged', acknowledged_at = ? WHERE id = ? AND status = 'open'`).run(stamp, id)
  } else {
    db.prepare(`UPDATE alert_events SET status = 'resolved', resolved_at = ?, resolved_by = ? WHERE id = ? AND status != 'resolved'`).run(
      stamp,
      resolvedBy ?? 'manual',
      id,
    )
  }
  return getEvent(db, id)
}

// ---- deliveries -------------------------------------------------------------------------

type DeliveryRow = Omit<DeliveryAttempt, 'ok'> & { ok: number }

export const recordDelivery = (db: MetaDb, attempt: Omit<DeliveryAttempt, 'id'>): DeliveryAttempt => {
  const row = { id: randomUUID(), ...attempt }
  db.prepare(
    `INSERT INTO alert_deliveries (id, rule_id, event_id, notification_id, kind, channel, target, attempt, ok, status_code, duration_ms, error, attempted_at)
     VALUES (@id, @rule_id, @event_id, @notification_id, @kind, @channel, @target, @attempt, @ok, @status_code, @duration_ms, @error, @attempted_at)`,
  ).run({ ...row, ok: row.ok ? 1 : 0 })
  return row
}

export const deliveriesOfEvents = (db: MetaDb, eventIds: string[]): DeliveryAttempt[] =>
  (
    db
      .prepare(
        `SELECT * FROM alert_deliveries WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY attempted_at, notification_id, attempt`,
      )
      .all(JSON.stringify(eventIds)) as DeliveryRow[]
  ).map((r) => ({ ...r, ok: r.ok === 1 }))
