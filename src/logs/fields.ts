/**
 * What a stored entry's level and timestamp mean (API.md): shared by the ingest pipeline, which
 * normalises them, and by search, whose filters take the same spellings.
 */
export const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = (typeof LEVELS)[number]

/** API.md's level names (case-insensitive) and what each is stored as. */
export const LEVEL_ALIASES: Record<string, Level> = {
  debug: 'debug',
  trace: 'debug',
  verbose: 'debug',
  silly: 'debug',
  dbg: 'debug',
  fine: 'debug',
  finer: 'debug',
  finest: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  http: 'info',
  log: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
  severe: 'fatal',
}

/** pino's numbers (trace 10 … fatal 60) and syslog severities (0 emerg … 7 debug). */
const NUMERIC_LEVELS: Record<number, Level> = {
  10: 'debug',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
  0: 'fatal',
  1: 'fatal',
  2: 'fatal',
  3: 'error',
  4: 'warn',
  5: 'info',
  6: 'info',
  7: 'debug',
}

/**
 * A level as a client sent it → the stored level, or undefined for a value API.md does not
 * name (the entry is then kept as `info` with the original in metadata.original_level: a level
 * is never a reason to drop an entry).
 */
export const mapLevel = (value: string | number): Level | undefined =>
  typeof value === 'number' ? NUMERIC_LEVELS[value] : (LEVEL_ALIASES[value.trim().toLowerCase()] ?? (/^\d+$/.test(value.trim()) ? NUMERIC_LEVELS[Number(value.trim())] : undefined))

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

// DateTime64(6) stores years 1900-2299; anything outside is a client bug, not a log time.
const MIN_US = Date.UTC(1900, 0, 1) * 1000
const MAX_US = Date.UTC(2299, 11, 31) * 1000

/** Timestamp → epoch microseconds, or null when it is not a time we understand. */
export const parseTimestamp = (value: string | number): number | null => {
  let us: number
  if (typeof value === 'string' && /^\d{18,19}$/.test(value)) {
    // Epoch nanoseconds as text (OTLP, Loki): exact, where a double would be off by up to 256 ns.
    us = Number((BigInt(value) + 500n) / 1000n)
  } else if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)) {
    const n = typeof value === 'number' ? value : Number(value)
    if (!Number.isFinite(n) || n < 0) return null
    // Told apart by magnitude: seconds < 1e11 (year 5138) ≤ milliseconds < 1e14 ≤ microseconds < 1e17 ≤ nanoseconds.
    if (n < 1e11) us = Math.round(n * 1e6)
    else if (n < 1e14) us = Math.round(n * 1e3)
    else if (n < 1e17) us = Math.round(n)
    else us = Math.round(n / 1e3)
  } else {
    const m = RFC3339.exec(value.trim())
    if (!m) return null
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
    if (Number.isNaN(ms) || Number(mo) > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null
    // Date.UTC rolls days over (Feb 31 → Mar 3): a date that does not exist is invalid, never shifted.
    const date = new Date(ms)
    if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return null
    let offsetMin = 0
    if (zone && zone !== 'Z' && zone !== 'z') {
      const sign = zone[0] === '-' ? -1 : 1
      const digits = zone.slice(1).replace(':', '')
      offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'))
    }
    us = (ms - offsetMin * 60_000) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6) || '0')
  }
  return us >= MIN_US && us <= MAX_US ? us : null
}
