/**
 * OTLP logs requests for tests and benchmarks: an ExportLogsServiceRequest in its OTLP JSON
 * form (lowerCamelCase names, hex ids, int64 as decimal strings), encoded as protobuf with the
 * server's own schema or as JSON text; and the same data as API.md entries (`otlpRequestOf`
 * takes the entries that bench/data.ts makes, so a benchmark can send one data set as NDJSON
 * and as OTLP).
 */
import { otlpSchema } from '../../src/ingest/protocols/otlp-schema.js'

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string | number }
  | { doubleValue: number }
  | { bytesValue: string }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | { kvlistValue: { values: OtlpKeyValue[] } }
  | Record<string, never>

export interface OtlpKeyValue {
  key: string
  value: OtlpAnyValue
}

export interface OtlpLogRecord {
  timeUnixNano?: string
  observedTimeUnixNano?: string
  severityNumber?: number
  severityText?: string
  body?: OtlpAnyValue
  attributes?: OtlpKeyValue[]
  traceId?: string
  spanId?: string
  flags?: number
  eventName?: string
}

export interface OtlpScopeLogs {
  scope?: { name?: string; version?: string; attributes?: OtlpKeyValue[] }
  logRecords: OtlpLogRecord[]
}

export interface OtlpResourceLogs {
  resource?: { attributes: OtlpKeyValue[] }
  scopeLogs: OtlpScopeLogs[]
}

export interface OtlpRequest {
  resourceLogs: OtlpResourceLogs[]
}

/** A JavaScript value as an OTLP AnyValue, the way the OTel JS SDK writes attributes. */
export const anyValue = (v: unknown): OtlpAnyValue => {
  if (typeof v === 'string') return { stringValue: v }
  if (typeof v === 'boolean') return { boolValue: v }
  if (typeof v === 'bigint') return { intValue: v.toString() }
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') }
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } }
  if (v !== null && typeof v === 'object') return { kvlistValue: { values: attributes(v as Record<string, unknown>) } }
  return {}
}

/** An object's entries as KeyValues, keys as they are. */
export const attributes = (o: Record<string, unknown>): OtlpKeyValue[] => Object.entries(o).map(([key, value]) => ({ key, value: anyValue(value) }))

/** Nested objects → dotted keys (`{http: {method}}` → `http.method`), as instrumentations name attributes. */
export const dotted = (o: Record<string, unknown>, prefix = ''): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, dotted(v as Record<string, unknown>, `${prefix}${k}.`))
    else out[`${prefix}${k}`] = v
  }
  return out
}

/** Epoch nanoseconds as decimal text, from an ISO time (or epoch ms) plus extra nanoseconds. */
export const nanos = (time: string | number, extraNs = 0): string => (BigInt(typeof time === 'number' ? time : Date.parse(time)) * 1_000_000n + BigInt(extraNs)).toString()

const SEVERITY: Record<string, [number, string]> = {
  debug: [5, 'DEBUG'],
  info: [9, 'INFO'],
  warn: [13, 'WARN'],
  error: [17, 'ERROR'],
  fatal: [21, 'FATAL'],
}

/** An API.md entry, as bench/data.ts makes them. */
export interface PlainEntry {
  timestamp?: string
  level?: string
  service?: string
  stream?: string
  message: string
  trace_id?: string
  span_id?: string
  metadata?: Record<string, unknown>
}

/** What the OTel JS SDK puts in every resource besides service.name. */
export const SDK_RESOURCE = {
  'telemetry.sdk.language': 'nodejs',
  'telemetry.sdk.name': 'opentelemetry',
  'telemetry.sdk.version': '2.12.1',
  'host.name': 'bench-host-1',
  'process.pid': 4242,
}

/**
 * The ExportLogsServiceRequest an OTel SDK would send for these entries: one resource per
 * service (service.name and the SDK's own attributes), one scope, each entry a record whose
 * metadata are dotted attributes, its stream a `stream` attribute, its level a severity.
 * Stored through OTLP, an entry comes back with the same fields, plus metadata.resource and
 * metadata.scope.
 */
export const otlpRequestOf = (
  entries: PlainEntry[],
  scope: { name: string; version: string } | null = { name: 'bench-logger', version: '1.0.0' },
  sdkResource: Record<string, string | number> = SDK_RESOURCE,
): OtlpRequest => {
  const byService = new Map<string, OtlpLogRecord[]>()
  for (const e of entries) {
    const records = byService.get(e.service ?? '') ?? []
    byService.set(e.service ?? '', records)
    const [severityNumber, severityText] = SEVERITY[e.level ?? 'info'] ?? [0, e.level ?? '']
    const time = e.timestamp ? nanos(e.timestamp) : undefined
    records.push({
      ...(time ? { timeUnixNano: time, observedTimeUnixNano: time } : {}),
      severityNumber,
      severityText,
      body: { stringValue: e.message },
      attributes: attributes({ ...dotted(e.metadata ?? {}), ...(e.stream ? { stream: e.stream } : {}) }),
      ...(e.trace_id ? { traceId: e.trace_id, spanId: e.span_id ?? '', flags: 1 } : {}),
    })
  }
  return {
    resourceLogs: [...byService].map(([service, logRecords]) => ({
      resource: { attributes: attributes({ ...(service ? { 'service.name': service } : {}), ...sdkResource }) },
      scopeLogs: [{ ...(scope ? { scope } : {}), logRecords }],
    })),
  }
}

/** OTLP JSON text of a request (what the HTTP/JSON exporter sends). */
export const encodeOtlpJson = (request: OtlpRequest): string => JSON.stringify(request)

const hexBytes = (hex: string | undefined): Buffer | undefined => (hex === undefined ? undefined : Buffer.from(hex, 'hex'))

/** Protobuf bytes of a request, with the server's schema (what the HTTP/protobuf exporter sends). */
export const encodeOtlpProtobuf = (request: OtlpRequest): Buffer => {
  const { request: type } = otlpSchema()
  // fromObject reads int64 decimal strings and base64 bytes; only the ids are hex in OTLP JSON.
  const message = type.fromObject({
    resourceLogs: request.resourceLogs.map((rl) => ({
      ...rl,
      scopeLogs: rl.scopeLogs.map((sl) => ({
        ...sl,
        logRecords: sl.logRecords.map((r) => ({ ...r, traceId: hexBytes(r.traceId), spanId: hexBytes(r.spanId) })),
      })),
    })),
  })
  return Buffer.from(type.encode(message).finish())
}

export interface OtlpResponse {
  partialSuccess?: { rejectedLogRecords: string; errorMessage: string }
}

/** An ExportLogsServiceResponse from protobuf bytes, in its JSON form. */
export const decodeOtlpProtobufResponse = (bytes: Uint8Array): OtlpResponse => {
  const { response } = otlpSchema()
  return response.toObject(response.decode(bytes), { longs: String }) as OtlpResponse
}
