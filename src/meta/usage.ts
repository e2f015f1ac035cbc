import type { MetaDb } from './db.js'

export interface UsageDay {
  date: string
  bytes_in: number
  entries: number
  /** Records refused that day (invalid, or over the daily limit): never stored, always reported. */
  rejected: number
}

/** UTC calendar day (YYYY-MM-DD) of an instant: the unit daily limits reset on. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10)

/** The last `days` UTC days ending today, newest first, with zeros for days without ingest. */
export const usageForDays = (db: MetaDb, projectId: string, now: Date, days: number): UsageDay[] => {
  const wanted: string[] = []
  for (let i = 0; i < days; i++) wanted.push(utcDay(new Date(now.getTime() - i * 86_400_000)))
  const rows = db
    .prepare('SELECT day, bytes_in, entries, rejected FROM usage_daily WHERE project_id = ? AND day >= ? ORDER BY day DESC')
    .all(projectId, wanted[wanted.length - 1]) as { day: string; bytes_in: number; entries: number; rejected: number }[]
  const byDay = new Map(rows.map((r) => [r.day, r]))
  return wanted.map((date) => {
    const row = byDay.get(date)
    return { date, bytes_in: row?.bytes_in ?? 0, entries: row?.entries ?? 0, rejected: row?.rejected ?? 0 }
  })
}

