/** When a job runs: every N milliseconds, or daily at `HH:MM` UTC. */
export type Schedule = { every_ms: number } | { daily_at: string }

const parseHhMm = (at: string): [number, number] => {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at)
  if (!m) throw new Error(`daily_at must be HH:MM (UTC), got ${JSON.stringify(at)}`)
  return [Number(m[1]), Number(m[2])]
}

/** Milliseconds from `now` to the next `HH:MM` UTC (tomorrow's when today's has passed). */
export const msUntilNext = (runAt: string, now: Date): number => {
  const [h, m] = parseHhMm(runAt)
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, m))
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1)
  return next.getTime() - now.getTime()
}

/**
 * The next run after `now`. Every-N counts from the start of the last run, so a run's own
 * duration does not drift the rhythm; a run that overran its interval is followed a full
 * interval after `now` rather than at once, so a slow job cannot run back to back.
 */
export const nextRunAt = (schedule: Schedule, now: Date, lastStartedAt?: Date): Date => {
  if ('daily_at' in schedule) return new Date(now.getTime() + msUntilNext(schedule.daily_at, now))
  const due = (lastStartedAt ?? now).getTime() + schedule.every_ms
  return new Date(due > now.getTime() ? due : now.getTime() + schedule.every_ms)
}

export const validateSchedule = (schedule: Schedule): void => {
  if ('daily_at' in schedule) parseHhMm(schedule.daily_at)
  else if (!Number.isSafeInteger(schedule.every_ms) || schedule.every_ms <= 0) throw new Error(`every_ms must be a positive integer, got ${schedule.every_ms}`)
}
