import { z } from 'zod'
import type { FieldError } from '../errors.js'

export const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = (typeof LEVELS)[number]

export const LEVEL_ALIASES: Record<string, Level> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
}

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
  level: z.string({ error: 'must be a string' }).nullish(),
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
    if (Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null
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
}

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
  if (e.level != null) {
    const found = LEVEL_ALIASES[e.level.toLowerCase()]
    if (!found) return { error: { field: 'level', message: `must be one of ${LEVELS.join(', ')} (got "${e.level.slice(0, 20)}")` } }
    level = found
  }
  let timestamp = ctx.receivedUs
  if (e.timestamp != null) {
    const us = parseTimestamp(e.timestamp)
    if (us === null) return { error: { field: 'timestamp', message: 'must be RFC 3339 / ISO 8601 or epoch s, ms or ns between 1900 and 2299' } }
    timestamp = us
  }
  let metadata = (e.metadata ?? {}) as Record<string, unknown>
  let extra: Record<string, unknown> | undefined
  for (const key of Object.keys(e)) {
    if (!KNOWN.has(key)) (extra ??= {})[key] = (e as Record<string, unknown>)[key]
  }
  if (extra) metadata = { ...extra, ...metadata }
  let metadataBytes = 0
  let metadataJson = '{}'
  if (extra || e.metadata) {
    metadataJson = str(metadata)
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
