import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Engine } from '../engine/engine.js'
import { logTable } from '../engine/schema.js'
import { errorMessage } from '../errors.js'
import { compileQuery, type Params } from '../logs/query/compile.js'
import { parseQuery } from '../logs/query/parse.js'
import { compileFilters, searchLogs, selectRows, type LogEntry } from '../logs/search.js'
import * as repo from '../meta/alerts.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { getProject } from '../meta/projects.js'
import type { Metrics } from '../metrics/metrics.js'
import { checkCondition, inCooldown, type Measurement } from './condition.js'
import type { Notification, NotificationKind } from './messages.js'
import type { Notifier } from './notify.js'

/** Entries shown in a notification. */
export const SAMPLE_ENTRIES = 5

export type { Measurement } from './condition.js'

/**
 * The statement counting, over [fromMs, toMs), the entries a rule's query matches and all
 * entries of its project (for rates). The query is compiled like a search: bound parameters,
 * and the project and time range at the top level. `groupBy` splits the counts by a key
 * computed per entry (the preview's minutes, preview.ts), answered as column `bucket`.
 */
export const ruleCountsSql = (
  engine: Engine,
  rule: Pick<repo.RuleFields, 'project_id' | 'query'>,
  range: { fromMs: number; toMs: number },
  now: Date,
  groupBy?: (params: Params) => string,
): { sql: string; params: Params } => {
  const base = compileFilters({ project_id: rule.project_id, from: range.fromMs, to: range.toMs }, now)
  const node = parseQuery(rule.query)
  const matches = node.type === 'all' ? '1' : compileQuery(node, base.params)
  const counts = `countIf(${matches}) AS matched, count() AS total`
  const sql = groupBy
    ? `SELECT ${groupBy(base.params)} AS bucket, ${counts} FROM ${logTable(engine)} WHERE ${base.where} GROUP BY bucket`
    : `SELECT ${counts} FROM ${logTable(engine)} WHERE ${base.where}`
  return { sql, params: base.params }
}

/** Counts the rule's window ending at `now`, in one statement, and checks its condition. */
export const measureRule = async (engine: Engine, rule: repo.AlertRule, now: Date): Promise<Measurement> => {
  const toMs = now.getTime()
  const { sql, params } = ruleCountsSql(engine, rule, { fromMs: toMs - rule.condition.window_minutes * 60_000, toMs }, now)
  const { rows } = await selectRows<{ matched: number | string; total: number | string }>(engine, sql, params, { measure: false })
  return checkCondition(rule.condition, Number(rows[0]?.matched ?? 0), Number(rows[0]?.total ?? 0))
}

/** A few of the newest entries the rule matches in its window, for the notification. */
export const sampleEntries = async (engine: Engine, rule: repo.AlertRule, now: Date): Promise<LogEntry[]> => {
  const toMs = now.getTime()
  const result = await searchLogs(
    engine,
    {
      project_id: rule.project_id,
      q: rule.query,
      from: toMs - rule.condition.window_minutes * 60_000,
      to: toMs,
      limit: SAMPLE_ENTRIES,
      order: 'desc',
    },
    now,
  )
  return result.entries
}

export type Outcome = 'opened' | 'still_firing' | 'cooldown' | 'resolved' | 'ok' | 'error'

export interface RuleEvaluation {
  rule_id: string
  outcome: Outcome
  measurement?: Measurement
  event_id?: string
  error?: string
}

export interface EvaluatorDeps {
  meta: MetaDb
  engine: Engine
  clock: () => Date
  notifier: Notifier
  logger?: Logger
  metrics?: Metrics
}

export const buildNotification = (
  meta: MetaDb,
  rule: repo.AlertRule,
  kind: NotificationKind,
  event: repo.AlertEvent | null,
  entries: LogEntry[],
  now: Date,
): Notification => ({
  id: `evt_${randomUUID()}`,
  kind,
  rule,
  projectName: getProject(meta, rule.team_id, rule.project_id)?.name ?? rule.project_id,
  event,
  entries,
  sentAt: now,
})

/**
 * The alert lifecycle. Per rule and pass: a condition that holds opens a firing and notifies
 * every channel once (unless the rule fired less than `cooldown_minutes` ago: then it stays
 * quiet); while the firing is open or acknowledged nothing more is sent; when the condition no
 * longer holds the firing is resolved and a resolve notification goes out.
 */
export class AlertEvaluator {
  private running?: Promise<RuleEvaluation[]>

  constructor(private readonly deps: EvaluatorDeps) {}

  /**
   * One pass over every enabled rule; a pass still running is joined, not doubled. The slot is
   * cleared by the pass's own settlement, which always comes after the assignment (a pass
   * that clears itself inside its own body can finish before it is stored, and then stays
   * stored for good: with no enabled rules nothing is awaited and no later pass ever ran).
   */
  evaluateAll(): Promise<RuleEvaluation[]> {
    if (this.running) return this.running
    const pass = this.pass()
    this.running = pass
    const clear = () => {
      if (this.running === pass) this.running = undefined
    }
    pass.then(clear, clear)
    return pass
  }

  private async pass(): Promise<RuleEvaluation[]> {
    const results: RuleEvaluation[] = []
    for (const rule of repo.enabledRules(this.deps.meta)) {
      const result = await this.evaluateRule(rule)
      this.deps.metrics?.alertEvaluations.inc({ outcome: result.outcome })
      results.push(result)
    }
    return results
  }

  /** Evaluates one rule; a failure (engine down, rule deleted meanwhile) is recorded, not thrown. */
  async evaluateRule(rule: repo.AlertRule): Promise<RuleEvaluation> {
    const now = this.deps.clock()
    try {
      return await this.step(rule, await measureRule(this.deps.engine, rule, now), now)
    } catch (err) {
      const error = errorMessage(err)
      if (repo.getRule(this.deps.meta, rule.team_id, rule.id)) repo.recordEvaluation(this.deps.meta, rule.id, { at: now, value: null, error })
      this.deps.logger?.warn({ rule_id: rule.id, err }, 'alert rule evaluation failed')
      return { rule_id: rule.id, outcome: 'error', error }
    }
  }

  private async step(rule: repo.AlertRule, m: Measurement, now: Date): Promise<RuleEvaluation> {
    const { meta, engine, notifier } = this.deps
    const active = repo.activeEvent(meta, rule.id)
    if (m.holds) {
      if (active) {
        repo.recordEvaluation(meta, rule.id, { at: now, value: m.value, error: null })
        return { rule_id: rule.id, outcome: 'still_firing', measurement: m, event_id: active.id }
      }
      if (inCooldown(rule.last_fired_at ? Date.parse(rule.last_fired_at) : null, now.getTime(), rule.cooldown_minutes)) {
        repo.recordEvaluation(meta, rule.id, { at: now, value: m.value, error: null })
        return { rule_id: rule.id, outcome: 'cooldown', measurement: m }
      }
      const event = repo.insertEvent(
        meta,
        { rule_id: rule.id, value: m.value, threshold: m.threshold, matched: m.matched, total: m.total, window_minutes: rule.condition.window_minutes },
        now,
      )
      repo.recordEvaluation(meta, rule.id, { at: now, value: m.value, error: null, firedAt: now })
      const entries = await sampleEntries(engine, rule, now).catch(() => [])
      notifier.dispatch(buildNotification(meta, rule, 'firing', event, entries, now))
      this.deps.logger?.info({ rule_id: rule.id, event_id: event.id, value: m.value, threshold: m.threshold }, 'alert firing')
      return { rule_id: rule.id, outcome: 'opened', measurement: m, event_id: event.id }
    }
    repo.recordEvaluation(meta, rule.id, { at: now, value: m.value, error: null })
    if (!active) return { rule_id: rule.id, outcome: 'ok', measurement: m }
    const resolved = repo.setEventStatus(meta, active.id, 'resolved', now, 'condition')!
    notifier.dispatch(buildNotification(meta, rule, 'resolved', { ...resolved, value: m.value, matched: m.matched, total: m.total }, [], now))
    this.deps.logger?.info({ rule_id: rule.id, event_id: active.id, value: m.value }, 'alert resolved')
    return { rule_id: rule.id, outcome: 'resolved', measurement: m, event_id: active.id }
  }
}

/** A test notification of a rule on every channel, once each (no retries), with recent matches. */
export const sendTestNotification = async (
  deps: Omit<EvaluatorDeps, 'logger'>,
  rule: repo.AlertRule,
  by: Actor,
): Promise<{ rule_id: string; notification_id: string; ok: boolean; deliveries: Awaited<ReturnType<Notifier['send']>> }> => {
  const now = deps.clock()
  const entries = await sampleEntries(deps.engine, rule, now).catch(() => [])
  const notification = buildNotification(deps.meta, rule, 'test', null, entries, now)
  const deliveries = await deps.notifier.send(notification, { retries: 0 })
  const ok = deliveries.every((d) => d.ok)
  recordAction(deps, by, rule.team_id, 'alert.test', { type: 'alert_rule', id: rule.id }, { ok })
  return { rule_id: rule.id, notification_id: notification.id, ok, deliveries }
}
