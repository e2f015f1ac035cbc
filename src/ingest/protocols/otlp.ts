import { validationError, type FieldError } from '../../errors.js'
import { mapLevel, type Level } from '../../logs/fields.js'
import { mayHoldSurrogates } from '../entry.js'
import { MAX_PROTOCOL_RECORDS, tooManyRecords, type DecodedRecord, type IngestResult } from '../pipeline.js'
import { emptyObject, nestValue, putKey, putPath, type Plain, type PlainObject } from './otlp-metadata.js'
import { otlpSchema } from './otlp-schema.js'
import { readExportLogsRequest, type Attributes, type WireLogRecord, type WireResourceLogs } from './otlp-wire.js'

/**
 * OTLP/HTTP logs (API.md "Standard ingest protocols"): an ExportLogsServiceRequest, as protobuf
 * or as OTLP JSON, → one DecodedRecord per log record, for the shared pipeline. Both encodings
 * go through the same mapping (`entryOf`), from the fields each one reads:
 *  - body → message (a string as it is, any other value as the JSON text of its plain value, an
 *    int64 as its exact digits);
 *  - severity_number 1–24 → the level of its range, else severity_text by the entry's level rules;
 *  - time_unix_nano, else observed_time_unix_nano, else the time of receipt → timestamp, passed
 *    as the decimal nanoseconds the entry rules read exactly;
 *  - trace_id / span_id → lowercase hex; resource `service.name` → service;
 *  - attributes → metadata, resource attributes → metadata.resource, scope → metadata.scope
 *    (dotted keys as paths: otlp-metadata.ts); a string `stream` attribute → stream, else the
 *    scope name, else the default.
 * Also kept in metadata, as nothing of a record is dropped silently: event_name, a severity_text
 * that says something other than the level, an unknown severity_number. Not kept: flags (the
 * trace flags), dropped_attributes_count and schema_url, which say nothing about the event.
 */

export type OtlpEncoding = 'protobuf' | 'json'

export interface OtlpPayload {
  records: DecodedRecord[]
  /** Where record `number` sits in the request (`resource_logs[0].scope_logs[1].log_records[2]`), spelt out when an answer names it. */
  placeOf(number: number): string | undefined
}

/** One record's fields, read from either encoding (decimal nanoseconds '' or '0' when unset, ids in hex, …). */
type RecordFields = WireLogRecord

/** What every record of one scope shares. */
interface Origin {
  service: string | undefined
  resource: PlainObject | undefined
  scope: PlainObject | undefined
  scopeName: string
}

const SEVERITY_LEVELS: Level[] = ['debug', 'debug', 'info', 'warn', 'error', 'fatal']
/** severity_number 1–8 debug (TRACE and DEBUG), 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal. */
const levelOfSeverity = (n: number): Level | undefined => (n >= 1 && n <= 24 && Number.isInteger(n) ? SEVERITY_LEVELS[(n - 1) >> 2] : undefined)

// Epoch nanoseconds of 18 or 19 digits (1973-03-03 to 2286-11-20) go to the entry rules as
// they are (exact); shorter ones as RFC 3339 with microseconds, which the rules read by form
// rather than guessing seconds or milliseconds from the magnitude.
const timestampOf = (nanos: string): string | undefined | FieldError => {
  const digits = nanos.charCodeAt(0) === 48 ? nanos.replace(/^0+/, '') : nanos
  if (digits === '') return undefined
  if (digits.length === 18 || digits.length === 19) return digits
  if (digits.length > 19) return { field: 'timestamp', message: 'time_unix_nano is after the year 2286' }
  const us = (BigInt(digits) + 500n) / 1000n
  const iso = new Date(Number(us / 1000n)).toISOString()
  return `${iso.slice(0, -1)}${String(us % 1000n).padStart(3, '0')}Z`
}

type Mapped = { value: Record<string, unknown>; refused?: undefined } | { refused: FieldError }

/** The log entry (API.md's shape) of one record, or the field that makes it no entry. */
const entryOf = (record: RecordFields, origin: Origin): Mapped => {
  const metadata = emptyObject()
  const entry: Record<string, unknown> = {}
  const attributes = record.attributes
  for (let i = 0; i < attributes.length; i += 2) {
    const key = attributes[i] as string
    const value = attributes[i + 1]!
    if (key === 'stream' && typeof value === 'string' && entry.stream === undefined) entry.stream = value
    else putPath(metadata, key, nestValue(value))
  }
  if (entry.stream === undefined && origin.scopeName !== '') entry.stream = origin.scopeName
  // Shared by every record of the scope, not copied: the pipeline never changes metadata in
  // place (it builds new objects where it rewrites, entry.ts), so one object serves them all.
  if (origin.resource) putKey(metadata, 'resource', origin.resource)
  if (origin.scope) putKey(metadata, 'scope', origin.scope)
  if (record.eventName !== '') putKey(metadata, 'event_name', record.eventName)

  const level = levelOfSeverity(record.severityNumber)
  if (level) {
    entry.level = level
    if (record.severityText !== '' && mapLevel(record.severityText) !== level) putKey(metadata, 'severity_text', record.severityText)
  } else {
    // By the entry's rules: a text they do not name is stored as info, kept as original_level.
    if (record.severityText !== '') entry.level = record.severityText
    if (record.severityNumber !== 0) putKey(metadata, 'severity_number', record.severityNumber)
  }

  let timestamp = timestampOf(record.time)
  if (timestamp === undefined) timestamp = timestampOf(record.observed)
  if (typeof timestamp === 'object') return { refused: timestamp }
  if (timestamp !== undefined) entry.timestamp = timestamp

  entry.message = record.message
  if (origin.service !== undefined) entry.service = origin.service
  if (record.traceId !== '') entry.trace_id = record.traceId
  if (record.spanId !== '') entry.span_id = record.spanId
  for (const _ in metadata) {
    entry.metadata = metadata
    break
  }
  return { value: entry }
}

/** Resource and scope → what their records share; `service.name` (a string) becomes the service. */
const originOf = (resourceAttributes: Attributes, scopeName: string, scopeVersion: string, scopeAttributes: Attributes): Origin => {
  let service: string | undefined
  let resource: PlainObject | undefined
  for (let i = 0; i < resourceAttributes.length; i += 2) {
    const key = resourceAttributes[i] as string
    const value = resourceAttributes[i + 1]!
    if (key === 'service.name' && typeof value === 'string' && service === undefined) service = value
    else putPath((resource ??= emptyObject()), key, nestValue(value))
  }
  let scope: PlainObject | undefined
  if (scopeName !== '') (scope ??= emptyObject()).name = scopeName
  if (scopeVersion !== '') (scope ??= emptyObject()).version = scopeVersion
  for (let i = 0; i < scopeAttributes.length; i += 2) putPath((scope ??= emptyObject()), scopeAttributes[i] as string, nestValue(scopeAttributes[i + 1]!))
  return { service, resource, scope, scopeName }
}

/** Builds the payload record by record, numbering them across the request. */
class Collector {
  readonly records: DecodedRecord[] = []
  constructor(private readonly max: number) {}

  add(mapped: Mapped): void {
    if (this.records.length === this.max) throw tooManyRecords(this.max)
    const number = this.records.length + 1
    this.records.push(mapped.refused ? { number, refused: mapped.refused } : { number, value: mapped.value })
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf: read from the wire (otlp-wire.ts), then mapped.

/** Where a protobuf record sits, from the scope it belongs to: kept as indices, spelt out only for the records an answer names. */
class ProtobufPlaces {
  /** Per scope: its first record's number, its resource_logs and scope_logs indices. */
  private readonly scopes: number[] = []

  scope(first: number, resource: number, scope: number): void {
    this.scopes.push(first, resource, scope)
  }

  placeOf(number: number): string | undefined {
    for (let s = this.scopes.length - 3; s >= 0; s -= 3) {
      const first = this.scopes[s]!
      if (first <= number) return `resource_logs[${this.scopes[s + 1]}].scope_logs[${this.scopes[s + 2]}].log_records[${number - first}]`
    }
    return undefined
  }
}

const decodeProtobuf = (body: Buffer, max: number): OtlpPayload => {
  let request: WireResourceLogs[]
  try {
    request = readExportLogsRequest(body)
  } catch (err) {
    // protobuf.js says what broke and where ("index out of range: 7 + 10 > 12"); nothing internal.
    throw validationError('body', `is not a protobuf ExportLogsServiceRequest (${String((err as Error).message).slice(0, 200)})`)
  }
  return otlpWirePayload(request, max)
}

/** The payload of a request read from the protobuf wire (the whole request first: a body that cannot be read is refused before anything else). */
export const otlpWirePayload = (request: WireResourceLogs[], max = MAX_PROTOCOL_RECORDS): OtlpPayload => {
  const out = new Collector(max)
  const places = new ProtobufPlaces()
  for (let i = 0; i < request.length; i++) {
    const rl = request[i]!
    for (let j = 0; j < rl.scopeLogs.length; j++) {
      const sl = rl.scopeLogs[j]!
      const origin = originOf(rl.attributes, sl.name, sl.version, sl.attributes)
      if (sl.records.length > 0) places.scope(out.records.length + 1, i, j)
      for (const record of sl.records) out.add(entryOf(record, origin))
    }
  }
  const { records } = out
  return { records, placeOf: (number) => (number >= 1 && number <= records.length ? places.placeOf(number) : undefined) }
}

// ---------------------------------------------------------------------------------------------
// OTLP JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): proto3 JSON
// with lowerCamelCase names (the proto names are accepted too), trace and span ids in hex,
// 64-bit integers as strings or numbers, enums as integers (their names are accepted too).

/** A JSON value that is not what OTLP has at `where`. */
class JsonShapeError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where} ${problem}`)
  }
}

type JsonObject = Record<string, unknown>

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A field by its JSON name or its proto name; null counts as absent (proto3 JSON). */
const field = (o: JsonObject, camel: string, snake: string): unknown => {
  const v = Object.hasOwn(o, camel) ? o[camel] : Object.hasOwn(o, snake) ? o[snake] : undefined
  return v === null ? undefined : v
}

const objectAt = (o: JsonObject, camel: string, snake: string, where: string): JsonObject | undefined => {
  const v = field(o, camel, snake)
  if (v === undefined) return undefined
  if (!isObject(v)) throw new JsonShapeError(`${where}.${camel}`, 'must be an object')
  return v
}

const arrayAt = (o: JsonObject, camel: string, snake: string, where: string): unknown[] => {
  const v = field(o, camel, snake)
  if (v === undefined) return []
  if (!Array.isArray(v)) throw new JsonShapeError(`${where}.${camel}`, 'must be an array')
  return v
}

const stringAt = (o: JsonObject, camel: string, snake: string, where: string): string => {
  const v = field(o, camel, snake)
  if (v === undefined) return ''
  if (typeof v !== 'string') throw new JsonShapeError(`${where}.${camel}`, 'must be a string')
  return v
}

const INT64 = /^-?\d{1,19}$/
const UINT64 = /^\d{1,20}$/
const MIN_INT64 = -(2n ** 63n)
const MAX_INT64 = 2n ** 63n - 1n
const MAX_UINT64 = 2n ** 64n - 1n

const jsonInt64 = (v: unknown, where: string): number | string => {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string' && INT64.test(v)) {
    const n = BigInt(v)
    if (n < MIN_INT64 || n > MAX_INT64) throw new JsonShapeError(where, 'is beyond 64 bits')
    return n >= -(2n ** 53n) && n < 2n ** 53n ? Number(n) : n.toString()
  }
  throw new JsonShapeError(where, 'must be an integer (a number or a decimal string)')
}

/** A fixed64 time as decimal text; a JSON number beyond 2^53 nanoseconds has lost its last digits already. */
const jsonUint64Text = (v: unknown, where: string): string => {
  if (v === undefined) return ''
  if (typeof v === 'string' && UINT64.test(v) && BigInt(v) <= MAX_UINT64) return v
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** 64) return BigInt(v).toString()
  throw new JsonShapeError(where, 'must be a non-negative integer of nanoseconds (a decimal string or a number)')
}

const jsonDouble = (v: unknown, where: string): number | string => {
  if (typeof v === 'number') return v
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v)
  throw new JsonShapeError(where, 'must be a number')
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

const jsonBytes = (v: unknown, where: string): string => {
  if (typeof v !== 'string' || !BASE64.test(v)) throw new JsonShapeError(where, 'must be base64 text')
  return Buffer.from(v, 'base64').toString('base64')
}

/** JSON nests as deep as it likes; an AnyValue this deep is no log attribute (metadata takes 16). */
const MAX_VALUE_DEPTH = 64

const jsonPlain = (v: unknown, where: string, depth = 0): Plain => {
  if (v === undefined || v === null) return null
  if (!isObject(v)) throw new JsonShapeError(where, 'must be an AnyValue object ({"stringValue": …}, {"intValue": …}, …)')
  if (depth > MAX_VALUE_DEPTH) throw new JsonShapeError(where, `nests deeper than ${MAX_VALUE_DEPTH} levels`)
  let x: unknown
  if ((x = field(v, 'stringValue', 'string_value')) !== undefined) {
    if (typeof x !== 'string') throw new JsonShapeError(`${where}.stringValue`, 'must be a string')
    return x
  }
  if ((x = field(v, 'boolValue', 'bool_value')) !== undefined) {
    if (typeof x !== 'boolean') throw new JsonShapeError(`${where}.boolValue`, 'must be true or false')
    return x
  }
  if ((x = field(v, 'intValue', 'int_value')) !== undefined) return jsonInt64(x, `${where}.intValue`)
  if ((x = field(v, 'doubleValue', 'double_value')) !== undefined) return jsonDouble(x, `${where}.doubleValue`)
  if ((x = field(v, 'bytesValue', 'bytes_value')) !== undefined) return jsonBytes(x, `${where}.bytesValue`)
  if ((x = field(v, 'arrayValue', 'array_value')) !== undefined) {
    if (!isObject(x)) throw new JsonShapeError(`${where}.arrayValue`, 'must be an object ({"values": […]})')
    return arrayAt(x, 'values', 'values', `${where}.arrayValue`).map((e, i) => jsonPlain(e, `${where}.arrayValue.values[${i}]`, depth + 1))
  }
  if ((x = field(v, 'kvlistValue', 'kvlist_value')) !== undefined) {
    if (!isObject(x)) throw new JsonShapeError(`${where}.kvlistValue`, 'must be an object ({"values": […]})')
    const out = emptyObject()
    for (const [key, value] of jsonKeyValues(x, `${where}.kvlistValue`, depth + 1)) putKey(out, key, value)
    return out
  }
  return null
}

/** As the protobuf body (otlp-wire.ts bodyText): a string or an int64 as it is, anything else as JSON text, none ''. */
const jsonBodyText = (v: unknown, where: string): string => {
  const plain = jsonPlain(v, where)
  if (plain === null) return ''
  if (typeof plain === 'string' && field(v as JsonObject, 'stringValue', 'string_value') !== undefined) return plain
  if (typeof plain === 'string' && field(v as JsonObject, 'intValue', 'int_value') !== undefined) return plain
  return JSON.stringify(plain)
}

const jsonKeyValues = (o: JsonObject, where: string, depth = 0): [string, Plain][] =>
  arrayAt(o, 'values', 'values', where).map((kv, i) => jsonKeyValue(kv, `${where}.values[${i}]`, depth))

const jsonKeyValue = (kv: unknown, where: string, depth: number): [string, Plain] => {
  if (!isObject(kv)) throw new JsonShapeError(where, 'must be a KeyValue object ({"key": …, "value": …})')
  const key = field(kv, 'key', 'key')
  if (typeof key !== 'string') throw new JsonShapeError(`${where}.key`, 'must be a string')
  return [key, jsonPlain(field(kv, 'value', 'value'), `${where}.value`, depth)]
}

const jsonAttributes = (o: JsonObject, where: string): Attributes => {
  const out: Attributes = []
  arrayAt(o, 'attributes', 'attributes', where).forEach((kv, i) => out.push(...jsonKeyValue(kv, `${where}.attributes[${i}]`, 0)))
  return out
}

const HEX = /^[0-9a-fA-F]*$/

const jsonId = (o: JsonObject, camel: string, snake: string, where: string): string => {
  const v = stringAt(o, camel, snake, where)
  if (!HEX.test(v)) throw new JsonShapeError(`${where}.${camel}`, 'must be hex (OTLP JSON spells ids in hex, not base64)')
  return v.toLowerCase()
}

const jsonSeverityNumber = (o: JsonObject, where: string): number => {
  const v = field(o, 'severityNumber', 'severity_number')
  if (v === undefined) return 0
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v)) return Number(v)
    const named = otlpSchema().severityNumbers[v]
    if (named !== undefined) return named
  }
  throw new JsonShapeError(`${where}.severityNumber`, 'must be a SeverityNumber (an integer 0–24)')
}

/** Which entry field a malformed part of a record stands for, so its refusal names it. */
const fieldOfPart = (where: string, record: string): string => {
  const part = where.slice(record.length + 1)
  if (part.startsWith('body')) return 'message'
  if (part.startsWith('attributes')) return 'metadata'
  if (part.startsWith('timeUnixNano') || part.startsWith('observedTimeUnixNano')) return 'timestamp'
  if (part.startsWith('severity')) return 'level'
  if (part.startsWith('traceId')) return 'trace_id'
  if (part.startsWith('spanId')) return 'span_id'
  return 'entry'
}

const jsonRecord = (r: unknown, where: string, origin: Origin): Mapped => {
  try {
    if (!isObject(r)) throw new JsonShapeError(where, 'must be a LogRecord object')
    const fields: RecordFields = {
      time: jsonUint64Text(field(r, 'timeUnixNano', 'time_unix_nano'), `${where}.timeUnixNano`),
      observed: jsonUint64Text(field(r, 'observedTimeUnixNano', 'observed_time_unix_nano'), `${where}.observedTimeUnixNano`),
      severityNumber: jsonSeverityNumber(r, where),
      severityText: stringAt(r, 'severityText', 'severity_text', where),
      message: jsonBodyText(field(r, 'body', 'body'), `${where}.body`),
      attributes: jsonAttributes(r, where),
      traceId: jsonId(r, 'traceId', 'trace_id', where),
      spanId: jsonId(r, 'spanId', 'span_id', where),
      eventName: stringAt(r, 'eventName', 'event_name', where),
    }
    return entryOf(fields, origin)
  } catch (err) {
    if (!(err instanceof JsonShapeError)) throw err
    return { refused: { field: fieldOfPart(err.where, where), message: `${err.where} ${err.problem}` } }
  }
}

const decodeJson = (body: Buffer, max: number): OtlpPayload => {
  const text = body.toString('utf8')
  let request: unknown
  try {
    request = JSON.parse(text)
  } catch {
    throw validationError('body', 'is not valid JSON')
  }
  if (!isObject(request)) throw validationError('body', 'must be an ExportLogsServiceRequest JSON object ({"resourceLogs": […]})')
  const out = new Collector(max)
  const places: string[] = []
  try {
    arrayAt(request, 'resourceLogs', 'resource_logs', '').forEach((rl, i) => {
      const rlWhere = `resourceLogs[${i}]`
      if (!isObject(rl)) throw new JsonShapeError(rlWhere, 'must be a ResourceLogs object')
      const resource = objectAt(rl, 'resource', 'resource', rlWhere)
      const resourceAttributes = resource ? jsonAttributes(resource, `${rlWhere}.resource`) : []
      arrayAt(rl, 'scopeLogs', 'scope_logs', rlWhere).forEach((sl, j) => {
        const slWhere = `${rlWhere}.scopeLogs[${j}]`
        if (!isObject(sl)) throw new JsonShapeError(slWhere, 'must be a ScopeLogs object')
        const scope = objectAt(sl, 'scope', 'scope', slWhere)
        const scopeWhere = `${slWhere}.scope`
        const origin = scope
          ? originOf(resourceAttributes, stringAt(scope, 'name', 'name', scopeWhere), stringAt(scope, 'version', 'version', scopeWhere), jsonAttributes(scope, scopeWhere))
          : originOf(resourceAttributes, '', '', [])
        arrayAt(sl, 'logRecords', 'log_records', slWhere).forEach((r, k) => {
          const where = `${slWhere}.logRecords[${k}]`
          places.push(where)
          out.add(jsonRecord(r, where, origin))
        })
      })
    })
  } catch (err) {
    // Above the records (resource, scope, the arrays): the request is not OTLP, refused whole.
    if (err instanceof JsonShapeError) throw validationError('body', `${err.where.replace(/^\./, '')} ${err.problem}`)
    throw err
  }
  // JSON escapes can spell lone UTF-16 surrogates, which the engine refuses: the pipeline mends them.
  if (mayHoldSurrogates(text)) for (const r of out.records) if (!r.refused) r.surrogates = true
  return { records: out.records, placeOf: (number) => places[number - 1] }
}

/**
 * The records of an OTLP logs export. An undecodable body is a 400 naming it; more records
 * than a request may carry is a 413. A request with no records is valid OTLP (and gets an
 * empty success answer): the payload is then empty.
 */
export const decodeOtlpLogs = (body: Buffer, encoding: OtlpEncoding, max = MAX_PROTOCOL_RECORDS): OtlpPayload =>
  encoding === 'protobuf' ? decodeProtobuf(body, max) : decodeJson(body, max)

// ---------------------------------------------------------------------------------------------
// The answer: ExportLogsServiceResponse, with partial_success when records were refused.

export interface OtlpPartialSuccess {
  rejectedLogRecords: number
  errorMessage: string
}

/** partial_success for a pipeline result: the count, and each refused record by place and field (the first 100). */
export const partialSuccessOf = (payload: OtlpPayload, result: IngestResult | undefined): OtlpPartialSuccess | undefined => {
  if (!result || result.rejected === 0) return undefined
  const shown = (result.errors ?? []).map((e) => `${payload.placeOf(e.line) ?? `log record ${e.line}`}: ${e.field} ${e.message}`)
  const more = result.rejected - shown.length
  return {
    rejectedLogRecords: result.rejected,
    errorMessage: `${result.rejected} of ${payload.records.length} log records refused: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
  }
}

/** The answer as protobuf: empty when everything was accepted (an ExportLogsServiceResponse with nothing set). */
export const encodeOtlpResponse = (partial: OtlpPartialSuccess | undefined): Buffer => {
  const { response } = otlpSchema()
  return Buffer.from(response.encode(partial ? { partialSuccess: partial } : {}).finish())
}

/** The answer as OTLP JSON: int64 as a decimal string, as proto3 JSON writes it. */
export const otlpJsonResponse = (partial: OtlpPartialSuccess | undefined): { partialSuccess?: { rejectedLogRecords: string; errorMessage: string } } =>
  partial ? { partialSuccess: { rejectedLogRecords: String(partial.rejectedLogRecords), errorMessage: partial.errorMessage } } : {}
