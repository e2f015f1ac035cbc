import { z } from 'zod'

/** An integer query parameter from `min` to `max`, one message naming the range for every failure. */
export const intParam = (min: number, max: number, fallback: number) => {
  const rule = `must be an integer from ${min} to ${max}`
  return z.coerce.number({ error: rule }).int(rule).min(min, rule).max(max, rule).default(fallback)
}
