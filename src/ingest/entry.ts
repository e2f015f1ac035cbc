import { z } from 'zod'
import type { FieldError } from '../errors.js'
import { mapLevel, parseTimestamp, type Level } from '../logs/fields.js'
import { fieldErrorsOf } from '../validation.js'

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
 * An entry that passed the entry rules, not yet encoded: the stage between (redaction) may
 * rewrite its strings and metadata before the limits and the encoding apply.
 */
export interface LogEntry {
  /** Epoch microseconds. */
  timestamp: number
  level: Level
  service: string
  stream: string
  message: string
  traceId: string
  spanId: string
  /** The client's metadata with unknown top-level fields folded in; undefined when there is none. */
  metadata: Record<string, unknown> | undefined
}

/**
 * An encoded entry: its log_entries row as one JSONEachRow line (the metadata JSON is encoded
 * once, for both the size check and the row), plus what the ingest path needs to know about it.
 */
export interface NormalizedEntry {
  line: string
  stream: string
  bytes: number
  /** The redaction rules that changed this entry (absent when none did). */
  redacted?: string[]
}

/** The redaction stage as the pipeline runs it: a project's compiled rules bound to the install key. */
export type RedactStage = (entry: LogEntry) => { entry: LogEntry; matched: string[] }

export type NormalizeResult = NormalizedEntry | { error: FieldError }

/**
 * `out[key] = value` for a key from client JSON: plain assignment of `__proto__` would set the
 * object's prototype and lose the value, so keys are defined, never assigned.
 */
const setOwn = (out: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
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
  for (const [k, v] of Object.entries(value)) setOwn(out, k.toWellFormed(), wellFormed(v))
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
  /** The project's redaction rules; undefined when none is enabled. */
  redact?: RedactStage
  /** Every entry's stream, whatever it says (an anonymous stream); its own is kept as metadata.original_stream. */
  stream?: string
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
  for (const [k, v] of Object.entries(value)) setOwn(out, k, storableNumbers(v))
  return out
}
// A 64-bit-overflowing integer has at least 19 digits in its JSON text: only then walk the value.
const LONG_DIGITS = /\d{19}/

const str = JSON.stringify

type EntryFields = z.infer<typeof EntryShape>

/**
 * The entry rules of API.md on a client's value: shape, message size, timestamp forms and
 * window. Returns the fields with the timestamp in epoch µs, or the first field at fault.
 */
export const validateEntry = (
  input: unknown,
  ctx: NormalizeContext,
  surrogates = false,
): { fields: EntryFields; timestamp: number } | { error: FieldError } => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { error: { field: 'entry', message: 'must be a JSON object' } }
  }
  // Before anything walks the value recursively (a deep enough value overflows the stack).
  for (const [key, value] of Object.entries(input)) {
    if (value !== null && typeof value === 'object' && depthOf(value, LIMITS.metadataDepth) > LIMITS.metadataDepth) {
      // Unknown top-level fields are folded into metadata, at the same depth.
      const field = KNOWN.has(key) ? key : 'metadata'
      return { error: { field, message: `must not nest deeper than ${LIMITS.metadataDepth} levels` } }
    }
  }
  const raw = (surrogates ? wellFormed(input) : input) as Record<string, unknown>
  const parsed = EntryShape.safeParse(raw)
  if (!parsed.success) {
    // The first issue only: a per-line answer names one field (the ingest contract).
    return { error: fieldErrorsOf(parsed.error.issues.slice(0, 1), 'entry')[0]! }
  }
  const e = parsed.data
  // zod copies objects by assignment, which drops a `__proto__` key: put it back as data.
  if (Object.hasOwn(raw, '__proto__')) setOwn(e, '__proto__', raw.__proto__)
  const rawMetadata = raw.metadata as Record<string, unknown> | null | undefined
  if (e.metadata && rawMetadata && Object.hasOwn(rawMetadata, '__proto__')) setOwn(e.metadata, '__proto__', rawMetadata.__proto__)
  const messageBytes = byteLength(e.message)
  if (messageBytes === 0 || messageBytes > LIMITS.messageBytes) {
    return { error: { field: 'message', message: `must be 1 byte to ${LIMITS.messageBytes / 1024} KiB` } }
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
  return { fields: e, timestamp }
}

/** Valid fields → the entry: level aliases, defaults, unknown fields folded into metadata. */
export const buildEntry = (e: EntryFields, timestamp: number): LogEntry => {
  let level: Level = 'info'
  let originalLevel: string | number | undefined
  if (e.level != null) {
    const found = mapLevel(e.level)
    if (found) level = found
    else originalLevel = typeof e.level === 'string' ? e.level.slice(0, LIMITS.nameChars) : e.level
  }
  let metadata = (e.metadata ?? undefined) as Record<string, unknown> | undefined
  let extra: Record<string, unknown> | undefined
  for (const key of Object.keys(e)) {
    if (!KNOWN.has(key)) setOwn((extra ??= {}), key, (e as Record<string, unknown>)[key])
  }
  if (originalLevel !== undefined) (extra ??= {}).original_level = originalLevel
  if (extra) metadata = { ...extra, ...metadata }
  return {
    timestamp,
    level,
    service: e.service ?? '',
    stream: e.stream || 'default',
    message: e.message,
    traceId: e.trace_id ?? '',
    spanId: e.span_id ?? '',
    metadata,
  }
}

/** The entry in a fixed stream; the stream it named (not the default) stays as metadata.original_stream. */
const intoStream = (entry: LogEntry, stream: string): LogEntry => {
  if (entry.stream === 'default') return { ...entry, stream }
  const metadata: Record<string, unknown> = { original_stream: entry.stream }
  if (entry.metadata) for (const [k, v] of Object.entries(entry.metadata)) setOwn(metadata, k, v)
  return { ...entry, stream, metadata }
}

/**
 * The entry → its engine row and `bytes_in` (seed 004: UTF-8 bytes of message, stream,
 * service, trace_id, span_id and the JSON-encoded metadata), or the metadata limit it breaks.
 */
export const encodeEntry = (entry: LogEntry, ctx: NormalizeContext): NormalizedEntry | { error: FieldError } => {
  const { metadata } = entry
  let metadataBytes = 0
  let metadataJson = '{}'
  if (metadata) {
    metadataJson = str(metadata)
    if (LONG_DIGITS.test(metadataJson)) metadataJson = str(storableNumbers(metadata))
    metadataBytes = Buffer.byteLength(metadataJson, 'utf8')
    if (metadataBytes > LIMITS.metadataBytes) {
      return { error: { field: 'metadata', message: `must be at most ${LIMITS.metadataBytes / 1024} KiB encoded` } }
    }
  }
  const { service, stream, message, traceId, spanId } = entry
  const bytes = byteLength(message) + byteLength(stream) + byteLength(service) + byteLength(traceId) + byteLength(spanId) + metadataBytes
  const line =
    `{"project_id":"${ctx.projectId}","timestamp":${entry.timestamp},"id":"${ctx.nextId()}","level":"${entry.level}",` +
    `"service":${str(service)},"stream":${str(stream)},"message":${str(message)},"trace_id":${str(traceId)},` +
    `"span_id":${str(spanId)},"metadata":${metadataJson},"received_at":${ctx.receivedUs}}\n`
  return { line, stream, bytes }
}

/**
 * One entry of API.md through the stages: validate → entry → redact → encode, so the metadata
 * limit, `bytes_in` and the daily limit apply to what is stored. Returns the engine row or the
 * first field at fault.
 */
export const normalizeEntry = (input: unknown, ctx: NormalizeContext, surrogates = false): NormalizeResult => {
  const valid = validateEntry(input, ctx, surrogates)
  if ('error' in valid) return valid
  const built = buildEntry(valid.fields, valid.timestamp)
  const entry = ctx.stream === undefined ? built : intoStream(built, ctx.stream)
  if (!ctx.redact) return encodeEntry(entry, ctx)
  const redacted = ctx.redact(entry)
  const encoded = encodeEntry(redacted.entry, ctx)
  if (redacted.matched.length > 0 && !('error' in encoded)) encoded.redacted = redacted.matched
  return encoded
}
