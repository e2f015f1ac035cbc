import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { notFound } from '../errors.js'
import { selectRows } from '../logs/search.js'
import type { MetaDb } from '../meta/db.js'
import { getProject } from '../meta/projects.js'
import { checkCondition, inCooldown } from './condition.js'
import { ruleCountsSql } from './evaluate.js'
import { assertRuleQuery, RULE_DEFAULTS, ruleFields } from './rules.js'

/**
 * "How often would this rule have fired over the last hours": the rule form's preview
 * (POST /logs/alerts/preview, docs/api.md "Preview a rule"). One engine statement counts the
 * matching and all entries per minute; the windows of the evaluation instants are summed from
 * those minutes here, and the evaluator's lifecycle (evaluate.ts) is replayed over them.
 */

export const PREVIEW_MAX_POINTS = 500
export const PREVIEW_MAX_HOURS = 168
const HOURS_RULE = `must be an integer from 1 to ${PREVIEW_MAX_HOURS}`
const MINUTE_MS = 60_000
const MINUTE_US = 60_000_000

/** Fields of the rule form that do not change when a rule fires: accepted (the console posts its whole form) and ignored. */
const ignored = z.unknown().optional().meta({ description: 'Ignored: a rule field that does not change when the rule fires (the whole rule form may be posted)' })

export const AlertPreviewInput = z
  .object({
    project_id: ruleFields.project_id,
    query: ruleFields.query,
    condition: ruleFields.condition,
    cooldown_minutes: ruleFields.cooldown_minutes.default(RULE_DEFAULTS.cooldown_minutes),
    hours: z.number({ error: HOURS_RULE }).int(HOURS_RULE).min(1, HOURS_RULE).max(PREVIEW_MAX_HOURS, HOURS_RULE).default(24),
    name: ignored,
    channels: ignored,
    enabled: ignored,
  })
  .strict()
export type AlertPreviewInput = z.infer<typeof AlertPreviewInput>

export interface PreviewPoint {
  /** The evaluation instant: the window is the `window_minutes` before it. */
  time: string
  matching: number
  total: number
  met: boolean
}

export interface AlertPreview {
  from: string
  to: string
  step_minutes: number
  firings: number
  fired_at: string[]
  points: PreviewPoint[]
}

export interface PreviewDeps {
  meta: MetaDb
  engine: Engine
  clock: () => Date
}

/**
 * Minutes between evaluation instants: the window (so consecutive windows tile the range),
 * within 1 to 60, enlarged when that would give more than PREVIEW_MAX_POINTS instants.
 */
export const previewStep = (windowMinutes: number, hours: number): number => {
  const step = Math.min(60, Math.max(1, windowMinutes))
  const rangeMinutes = hours * 60
  return Math.floor(rangeMinutes / step) + 1 <= PREVIEW_MAX_POINTS ? step : Math.ceil(rangeMinutes / (PREVIEW_MAX_POINTS - 1))
}

/**
 * The rule's condition at every `step_minutes` from now back to `hours` ago (the newest instant
 * is now), and the firings the evaluator would have opened: a held condition opens one when
 * none is open and the cooldown since the last opening has passed; the open one resolves at
 * the first instant the condition does not hold. Nothing is written.
 */
export const previewRule = async (deps: PreviewDeps, teamId: string, input: AlertPreviewInput): Promise<AlertPreview> => {
  if (!getProject(deps.meta, teamId, input.project_id)) throw notFound('Project')
  assertRuleQuery(input.query)
  const now = deps.clock()
  const toMs = now.getTime()
  const { condition } = input
  const window = condition.window_minutes
  const step = previewStep(window, input.hours)
  const count = Math.floor((input.hours * 60) / step) + 1
  // Minute buckets counted back from now (bucket 0: the minute before now), enough for the
  // window of the oldest instant. Anchored at now, not at wall-clock minutes, so every window
  // is a whole number of buckets and the counts are exactly the evaluator's.
  const minutes = (count - 1) * step + window
  const { sql, params } = ruleCountsSql(deps.engine, input, { fromMs: toMs - minutes * MINUTE_MS, toMs }, now, (p) =>
    `intDiv(${p.bind('Int64', toMs * 1000 - 1)} - toUnixTimestamp64Micro(timestamp), ${p.bind('UInt32', MINUTE_US)})`,
  )
  const { rows } = await selectRows<{ bucket: number | string; matched: number | string; total: number | string }>(deps.engine, sql, params, { measure: false })
  const matched = new Array<number>(minutes).fill(0)
  const total = new Array<number>(minutes).fill(0)
  for (const row of rows) {
    const k = Number(row.bucket)
    if (!(k >= 0 && k < minutes)) continue
    matched[k]! += Number(row.matched)
    total[k]! += Number(row.total)
  }
  const prefix = (counts: number[]) => counts.reduce<number[]>((sums, n, i) => (sums.push(sums[i]! + n), sums), [0])
  const matchedSums = prefix(matched)
  const totalSums = prefix(total)

  const points: PreviewPoint[] = []
  const firedAt: string[] = []
  let open = false
  let lastFired: number | null = null
  for (let i = count - 1; i >= 0; i--) {
    const at = toMs - i * step * MINUTE_MS
    const first = i * step
    const m = checkCondition(condition, matchedSums[first + window]! - matchedSums[first]!, totalSums[first + window]! - totalSums[first]!)
    const time = new Date(at).toISOString()
    points.push({ time, matching: m.matched, total: m.total, met: m.holds })
    if (!m.holds) {
      open = false
    } else if (!open && !inCooldown(lastFired, at, input.cooldown_minutes)) {
      open = true
      lastFired = at
      firedAt.push(time)
    }
  }
  return {
    from: new Date(toMs - input.hours * 60 * MINUTE_MS).toISOString(),
    to: now.toISOString(),
    step_minutes: step,
    firings: firedAt.length,
    fired_at: firedAt,
    points,
  }
}
