import { AppError, validationError, type FieldError } from '../../errors.js'
import { mayHoldSurrogates } from '../entry.js'
import { tooManyRecords, type DecodedRecord, type IngestResult } from '../pipeline.js'
import { parseLabelText } from './loki-labels.js'
import { decodePushRequest, pushRequest } from './loki-proto.js'

/**
 * Loki push (POST /loki/api/v1/push) → the pipeline's records, by API.md's mapping: the line →
 * `message`; labels `service_name`, `service`, `app`, `job` (the first non-empty) → `service`;
 * `level`, `severity`, `detected_level` → `level` (labels first, then structured metadata, as
 * Loki's own level detection looks at both); `stream` → `stream`; every label →
 * `metadata.labels`; structured metadata → `metadata`, except what became an entry column
 * (`trace_id` and `span_id` → the entry's ids, a level taken from it).
 *
 * Each record keeps its place in the payload (`streams[0].values[3]` in JSON,
 * `streams[0].entries[3]` in protobuf) for the answer naming the refused ones.
 */
export interface LokiPush {
  records: DecodedRecord[]
  /** places[number - 1]: where record `number` sits in the payload. */
  places: string[]
}

const SERVICE_LABELS = ['service_name', 'service', 'app', 'job']
const LEVEL_KEYS = ['level', 'severity', 'detected_level']

/** What a stream's labels give each of its entries, worked out once per stream. */
interface StreamFields {
  service: string | undefined
  level: string | undefined
  stream: string | undefined
  labels: Record<string, string> | undefined
}

const firstOf = (keys: string[], values: Record<string, string>): string | undefined => {
  for (const key of keys) {
    const value = values[key]
    if (value) return value
  }
  return undefined
}

const streamFields = (labels: Record<string, string>): StreamFields => ({
  service: firstOf(SERVICE_LABELS, labels),
  level: firstOf(LEVEL_KEYS, labels),
  stream: labels.stream || undefined,
  labels: Object.keys(labels).length > 0 ? labels : undefined,
})

// Epoch ns of 18–19 digits (1973-03-03 to 2286-11-20) go to the entry rules as text, exact. Any
// other is certainly outside a project's window: it goes as an RFC 3339 time (µs), so the entry
// rules refuse it naming the window and the time it was.
const timestampOf = (ns: string): string => {
  if (ns.length >= 18 && ns.length <= 19 && /^\d+$/.test(ns)) return ns
  const us = BigInt(ns) / 1000n
  const ms = Number(us / 1000n)
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return 'out of range'
  const iso = new Date(ms).toISOString()
  const micros = ((us % 1000n) + 1000n) % 1000n
  return `${iso.slice(0, -1)}${micros.toString().padStart(3, '0')}Z`
}

/** Sets a key as an own property, `__proto__` included (a plain assignment would drop that one). */
const put = <T>(target: Record<string, T>, key: string, value: T): void => {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/** One entry of a stream → the API.md entry value. `ns`: epoch nanoseconds, decimal text. */
const entryOf = (fields: StreamFields, ns: string, line: string, structured: Record<string, string> | undefined): Record<string, unknown> => {
  const value: Record<string, unknown> = { message: line, timestamp: timestampOf(ns) }
  if (fields.service !== undefined) value.service = fields.service
  let level = fields.level
  let metadata: Record<string, unknown> | undefined
  if (structured) {
    let levelKey: string | undefined
    if (level === undefined) {
      levelKey = LEVEL_KEYS.find((key) => structured[key])
      if (levelKey) level = structured[levelKey]
    }
    for (const key of Object.keys(structured)) {
      const v = structured[key]!
      if (key === levelKey) continue
      else if (key === 'trace_id') value.trace_id = v
      else if (key === 'span_id') value.span_id = v
      else put((metadata ??= {}), key, v)
    }
  }
  if (level !== undefined) value.level = level
  if (fields.stream !== undefined) value.stream = fields.stream
  if (fields.labels) (metadata ??= {}).labels = fields.labels
  if (metadata) value.metadata = metadata
  return value
}

/** Collects the records of a push, numbered in payload order, with their places. */
class Collector {
  readonly records: DecodedRecord[] = []
  readonly places: string[] = []
  constructor(
    private readonly maxEntries: number,
    private readonly surrogates = false,
  ) {}

  private place(place: string): number {
    if (this.records.length >= this.maxEntries) throw tooManyRecords(this.maxEntries)
    this.places.push(place)
    return this.places.length
  }
  value(place: string, value: unknown): void {
    const number = this.place(place)
    this.records.push(this.surrogates ? { number, value, surrogates: true } : { number, value })
  }
  refuse(place: string, refused: FieldError): void {
    this.records.push({ number: this.place(place), refused })
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

const utf8 = new TextDecoder('utf-8', { fatal: true })

const BAD_VALUE: FieldError = { field: 'entry', message: 'must be [timestamp, line] or [timestamp, line, {structured metadata}]' }
const BAD_TIMESTAMP: FieldError = { field: 'timestamp', message: 'must be a string of epoch nanoseconds' }
const BAD_LINE: FieldError = { field: 'message', message: 'the line must be a string' }
const BAD_STRUCTURED: FieldError = { field: 'metadata', message: 'structured metadata must be an object of string values' }

/** JSON labels → strings, or undefined when they are not an object of strings (numbers and booleans are taken as their text). */
const jsonStrings = (value: unknown): Record<string, string> | undefined => {
  if (!isObject(value)) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') put(out, k, v)
    else if (typeof v === 'number' || typeof v === 'boolean') put(out, k, String(v))
    else return undefined
  }
  return out
}

/**
 * A JSON push body: `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"], ["<ns>", "<line>", {structured metadata}]]}]}`.
 * A body that is not that object is a 400; a value or stream at fault is refused on its own.
 */
export const decodeLokiJson = (body: Buffer, maxEntries: number): LokiPush => {
  let parsed: unknown
  let surrogates = false
  try {
    const text = utf8.decode(body)
    parsed = JSON.parse(text)
    surrogates = mayHoldSurrogates(text)
  } catch {
    throw validationError('body', 'is not valid JSON (UTF-8)')
  }
  if (!isObject(parsed) || !Array.isArray(parsed.streams)) throw validationError('streams', 'must be an array of {stream, values}')
  const out = new Collector(maxEntries, surrogates)
  parsed.streams.forEach((stream: unknown, s) => {
    if (!isObject(stream) || !Array.isArray(stream.values)) {
      out.refuse(`streams[${s}]`, { field: 'values', message: 'the stream must be an object with a values array' })
      return
    }
    const labels = stream.stream === undefined || stream.stream === null ? {} : jsonStrings(stream.stream)
    const fields = labels && streamFields(labels)
    stream.values.forEach((value: unknown, v) => {
      const place = `streams[${s}].values[${v}]`
      if (!fields) return out.refuse(place, { field: 'labels', message: `must be an object of string values (streams[${s}].stream)` })
      if (!Array.isArray(value) || value.length < 2 || value.length > 3) return out.refuse(place, BAD_VALUE)
      const [ts, line, meta] = value as unknown[]
      if (typeof ts !== 'string' || !/^[+-]?\d{1,30}$/.test(ts)) return out.refuse(place, BAD_TIMESTAMP)
      if (typeof line !== 'string') return out.refuse(place, BAD_LINE)
      let structured: Record<string, string> | undefined
      if (value.length === 3) {
        structured = jsonStrings(meta)
        if (!structured) return out.refuse(place, BAD_STRUCTURED)
      }
      out.value(place, entryOf(fields, ts, line, structured))
    })
  })
  return { records: out.records, places: out.places }
}

/**
 * Reads the vendored schema now (serve's start), so a package without it fails there, not as
 * a 400 "not a PushRequest" to every protobuf push.
 */
export const loadLokiSchema = (): void => {
  pushRequest()
}

/** A protobuf push body (already inflated from snappy): `logproto.PushRequest`, labels as text. */
export const decodeLokiProtobuf = (body: Buffer, maxEntries: number): LokiPush => {
  let push
  try {
    push = decodePushRequest(body)
  } catch {
    throw validationError('body', 'is not a Loki PushRequest (protobuf, snappy-compressed)')
  }
  const out = new Collector(maxEntries)
  push.streams.forEach((stream, s) => {
    const parsed = parseLabelText(stream.labels)
    const fields = 'labels' in parsed ? streamFields(parsed.labels) : undefined
    stream.entries.forEach((entry, e) => {
      const place = `streams[${s}].entries[${e}]`
      if (!fields) return out.refuse(place, { field: 'labels', message: (parsed as { error: string }).error })
      let structured: Record<string, string> | undefined
      if (entry.structuredMetadata.length > 0) {
        structured = {}
        for (const { name, value } of entry.structuredMetadata) put(structured, name, value)
      }
      out.value(place, entryOf(fields, entry.ns, entry.line, structured))
    })
  })
  return { records: out.records, places: out.places }
}

/**
 * The answer to a push with refused entries. Loki itself (pkg/distributor, pushWithResolver)
 * stores the valid entries of a push and answers 400 with a text naming the ones it refused
 * (an empty push is its 422, which API.md's envelope has no code for: 400 here too, from the
 * pipeline), so that a client sees the failure and does not send the accepted ones again:
 * Promtail, Alloy and the Loki clients retry 429 and 5xx, never another 4xx. The same here, in
 * the envelope: `validation_error` (400) whose message counts the accepted and refused entries
 * and whose details name each refused one (`streams[0].values[3].timestamp`) with its reason.
 */
export const lokiRefusal = (result: IngestResult, push: LokiPush): AppError => {
  const details = (result.errors ?? []).map((e) => ({ field: `${push.places[e.line - 1]}.${e.field}`, message: e.message }))
  const first = details[0]
  return new AppError(
    'validation_error',
    `${result.rejected} of ${result.accepted + result.rejected} entries refused, ${result.accepted} stored` +
      (first ? `; first: ${first.field} ${first.message}` : ''),
    { details },
  )
}
