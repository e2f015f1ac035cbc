import type { Condition } from '../meta/alerts.js'

/**
 * What a rule's condition decides from the counts of one window, and when a rule may open a
 * firing again: the evaluator (evaluate.ts) and the preview (preview.ts) both ask here, so a
 * preview cannot drift from what the evaluator would do.
 */

export interface Measurement {
  matched: number
  total: number
  /** What the condition compares: the count, or the matching share in percent. */
  value: number
  threshold: number
  holds: boolean
}

/**
 * count: matched ≥ threshold. rate: at least min_entries entries in the window, and the
 * matching share (in percent, rounded to 2 decimals, as events report it) ≥ threshold_percent.
 */
export const checkCondition = (condition: Condition, matched: number, total: number): Measurement => {
  if (condition.type === 'count') return { matched, total, value: matched, threshold: condition.threshold, holds: matched >= condition.threshold }
  const value = total === 0 ? 0 : Math.round((matched / total) * 10_000) / 100
  return { matched, total, value, threshold: condition.threshold_percent, holds: total >= condition.min_entries && value >= condition.threshold_percent }
}

/** Whether a rule that last opened a firing at `lastFiredMs` (null: never) must stay quiet at `nowMs`. */
export const inCooldown = (lastFiredMs: number | null, nowMs: number, cooldownMinutes: number): boolean =>
  lastFiredMs !== null && nowMs - lastFiredMs < cooldownMinutes * 60_000
