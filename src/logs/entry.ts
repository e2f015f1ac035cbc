import { z } from 'zod'
import type { FieldError } from '../errors.js'

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

export const LIMITS = {
  messageBytes: 256 * 1024,
  nameChars: 200,
  idChars: 128,
  metadataBytes: 64 * 1024,
  metadataDepth: 16,
} as const

/** The fields of API.md's log entry. Other top-level fields are kept, folded into metadata. */
const EntryShape = z.looseObject({
  message: z.string({ error: 'is required and must be a string' }),
  level: z.union([z.string(), z.number()], { error: 'must be a string or a number' }).nullish(),
  timestamp: z.union([z.string(), z.number()], { error: 'must be an RFC 3339 string or an epoch number' }).nullish(),
  service: z.string({ error: 'must be a string' }).max(LIMITS.nameChars, `must be at most ${LIMITS.nameChars} characters`).nullish(),
  stream: z.string({ error: 'must be a string' }).max(LIMITS.nameChars, `must be at most ${LIMITS.nameChars} characters`).nullish(),
  trace_id: z.string({ error: 'must be a string' }).max(LIMITS.idChars, `must be at most ${LIMITS.idChars} characters`).nullish(),
  span_id: z.string({ error: 'must be a string' }).max(LIMITS.idChars, `must be at most ${LIMITS.idChars} characters`).nullish(),
  metadata: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).nullish(),
})

const KNOWN = new Set(['message', 'level', 'timestamp', 'service', 'stream', 'trace_id', 'span_id', 'metadata'])

/**
 * A normalised entry: its log_entries row already encoded as one JSONEachRow line (the
 * metadata JSON is encoded once, for both the size check and the row), plus what the ingest
 * path needs to know about it.
 */
export interface NormalizedEntry {
  line: string
  stream: string
  bytes: number
}

export type NormalizeResult = NormalizedEntry | { error: FieldError }

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

// DateTime64(6) stores years 1900-2299; anything outside is a client bug, not a log time.
const MIN_US = Date.UTC(1900, 0, 1) * 1000
const MAX_US = Date.UTC(2299, 11, 31) * 1000

/** Timestamp → epoch microseconds, or null when it is not a time we understand. */
export const parseTimestamp = (value: string | number): number | null => {
  let us: number
  if (typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)) {
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

const depthOf = (value: unknown, limit: number, depth = 1): number => {
  if (depth > limit) return depth
  let max = depth
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v === 'object') max = Math.max(max, depthOf(v, limit, depth + 1))
  } else {
    for (const v of Object.values(value as object)) {
      if (v !== null && typeof v === 'object') max = Math.max(max, depthOf(v, limit, depth + 1))
      if (max > limit) break
    }
  }
  return max
}

/**
 * JSON text can spell lone UTF-16 surrogates (`"\ud800"`); ClickHouse refuses them, and one
 * such string would fail the engine insert it shares with other requests. They become U+FFFD.
 */
const wellFormed = (value: unknown): unknown => {
  if (typeof value === 'string') return value.toWellFormed()
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(wellFormed)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k.toWellFormed()] = wellFormed(v)
  return out
}

/** Whether JSON text may hold a surrogate escape (cheap pre-check before `wellFormed`). */
export const mayHoldSurrogates = (text: string): boolean => /\\u[dD][89a-fA-F]/.test(text)

const byteLength = (s: string): number => (s.length < 64 && /^[\x00-\x7f]*$/.test(s) ? s.length : Buffer.byteLength(s, 'utf8'))

export interface NormalizeContext {
  projectId: string
  receivedUs: number
  nextId: () => string
  /**
   * Accepted timestamps, epoch µs: from the project's retention ago to 2 days ahead. An entry
   * outside would be deleted at once (retention, TTL) or sit in the future: it must never get a
   * success answer, so it is refused naming the window.
   */
  window: { fromUs: number; toUs: number }
}

/** How far ahead of receipt a timestamp may be (clock skew, time zones gone wrong). */
export const FUTURE_WINDOW_DAYS = 2

export const timestampWindow = (receivedUs: number, retentionDays: number): NormalizeContext['window'] => ({
  fromUs: receivedUs - retentionDays * 86_400_000_000,
  toUs: receivedUs + FUTURE_WINDOW_DAYS * 86_400_000_000,
})

const isoOfUs = (us: number): string => new Date(Math.floor(us / 1000)).toISOString()

// Integers the JSON column can hold: Int64 and UInt64. JSON.parse turns longer ones into doubles,
// and the integer text JSON.stringify writes for those (`18446744073709552000`) is one the engine
// refuses, failing the whole grouped insert. Doubles of 1e21 and more are written with an
// exponent, which the engine reads as a float.
const MIN_INT = -(2n ** 63n)
const MAX_UINT = 2n ** 64n - 1n

const overflows = (value: number): boolean => {
  if (!Number.isInteger(value)) return false
  const text = String(value)
  if (text.includes('e')) return false
  const n = BigInt(text)
  return n > MAX_UINT || n < MIN_INT
}

/**
 * Metadata integers whose JSON text is beyond 64 bits become strings (of the value as parsed,
 * which JavaScript already rounded to a double), so one client's numbers never fail an insert
 * shared with others.
 */
const storableNumbers = (value: unknown): unknown => {
  if (typeof value === 'number') return overflows(value) ? String(value) : value
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(storableNumbers)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = storableNumbers(v)
  return out
}
// A 64-bit-overflowing integer has at least 19 digits in its JSON text: only then walk the value.
const LONG_DIGITS = /\d{19}/

const str = JSON.stringify

/**
 * Validates and normalises one entry of API.md: level aliases, timestamp forms, defaults,
 * sizes. Returns the engine row and its `bytes_in` (seed 004: UTF-8 bytes of message, stream,
 * service, trace_id, span_id and the JSON-encoded metadata), or the first field at fault.
 */
export const normalizeEntry = (input: unknown, ctx: NormalizeContext, surrogates = false): NormalizeResult => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { error: { field: 'entry', message: 'must be a JSON object' } }
  }
  const raw = surrogates ? wellFormed(input) : input
  const parsed = EntryShape.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    return { error: { field: String(issue.path[0] ?? 'entry'), message: issue.message } }
  }
  const e = parsed.data
  const messageBytes = byteLength(e.message)
  if (messageBytes === 0 || messageBytes > LIMITS.messageBytes) {
    return { error: { field: 'message', message: `must be 1 byte to ${LIMITS.messageBytes / 1024} KiB` } }
  }
  let level: Level = 'info'
  let originalLevel: string | number | undefined
  if (e.level != null) {
    const found = mapLevel(e.level)
    if (found) level = found
    else originalLevel = typeof e.level === 'string' ? e.level.slice(0, LIMITS.nameChars) : e.level
  }
  let timestamp = ctx.receivedUs
  if (e.timestamp != null) {
    const us = parseTimestamp(e.timestamp)
    if (us === null) return { error: { field: 'timestamp', message: 'must be an existing date as RFC 3339 / ISO 8601, or epoch s, ms or ns' } }
    if (us < ctx.window.fromUs || us > ctx.window.toUs) {
      return {
        error: {
          field: 'timestamp',
          message: `must be within the project's retention window, ${isoOfUs(ctx.window.fromUs)} to ${isoOfUs(ctx.window.toUs)} (got ${isoOfUs(us)})`,
        },
      }
    }
    timestamp = us
  }
  let metadata = (e.metadata ?? {}) as Record<string, unknown>
  let extra: Record<string, unknown> | undefined
  for (const key of Object.keys(e)) {
    if (!KNOWN.has(key)) (extra ??= {})[key] = (e as Record<string, unknown>)[key]
  }
  if (originalLevel !== undefined) (extra ??= {}).original_level = originalLevel
  if (extra) metadata = { ...extra, ...metadata }
  let metadataBytes = 0
  let metadataJson = '{}'
  if (extra || e.metadata) {
    metadataJson = str(metadata)
    if (LONG_DIGITS.test(metadataJson)) {
      const storable = storableNumbers(metadata) as Record<string, unknown>
      metadataJson = str(storable)
    }
    // Nesting deeper than the limit needs at least two characters per level.
    if (metadataJson.length > 2 * LIMITS.metadataDepth && depthOf(metadata, LIMITS.metadataDepth) > LIMITS.metadataDepth) {
      return { error: { field: 'metadata', message: `must not nest deeper than ${LIMITS.metadataDepth} levels` } }
    }
    metadataBytes = Buffer.byteLength(metadataJson, 'utf8')
    if (metadataBytes > LIMITS.metadataBytes) {
      return { error: { field: 'metadata', message: `must be at most ${LIMITS.metadataBytes / 1024} KiB encoded` } }
    }
  }
  const service = e.service ?? ''
  const stream = e.stream || 'default'
  const traceId = e.trace_id ?? ''
  const spanId = e.span_id ?? ''
  const bytes = messageBytes + byteLength(stream) + byteLength(service) + byteLength(traceId) + byteLength(spanId) + metadataBytes
  const line =
    `{"project_id":"${ctx.projectId}","timestamp":${timestamp},"id":"${ctx.nextId()}","level":"${level}",` +
    `"service":${str(service)},"stream":${str(stream)},"message":${str(e.message)},"trace_id":${str(traceId)},` +
    `"span_id":${str(spanId)},"metadata":${metadataJson},"received_at":${ctx.receivedUs}}\n`
  return { line, stream, bytes }
}
