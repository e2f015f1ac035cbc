import path from 'node:path'
import protobuf from 'protobufjs'
import { PACKAGE_ROOT } from '../../version.js'

/**
 * The OTLP logs messages, read with protobuf.js from the vendored .proto files (proto/, see its
 * README for their upstream commit) when the OTLP routes are built: the files are the one
 * source of the wire format, with no generated code to keep in step. protobuf.js was chosen
 * over @bufbuild/protobuf by measurement (bench/protobuf-decode.ts).
 */
export const PROTO_DIR = path.join(PACKAGE_ROOT, 'proto')
const SERVICE_PROTO = 'opentelemetry/proto/collector/logs/v1/logs_service.proto'
const PACKAGE = 'opentelemetry.proto.collector.logs.v1'

export interface OtlpSchema {
  request: protobuf.Type
  response: protobuf.Type
  /** SeverityNumber's values by name (`SEVERITY_NUMBER_WARN` → 13), for JSON that spells them. */
  severityNumbers: Record<string, number>
}

let loaded: OtlpSchema | undefined

/** The schema, loaded once (synchronously: a few milliseconds, at startup). */
export const otlpSchema = (): OtlpSchema => {
  if (loaded) return loaded
  const root = new protobuf.Root()
  // Imports are written from the proto root (`opentelemetry/proto/common/v1/common.proto`).
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target)
  root.loadSync(SERVICE_PROTO)
  loaded = {
    request: root.lookupType(`${PACKAGE}.ExportLogsServiceRequest`),
    response: root.lookupType(`${PACKAGE}.ExportLogsServiceResponse`),
    severityNumbers: root.lookupEnum('opentelemetry.proto.logs.v1.SeverityNumber').values,
  }
  return loaded
}

/**
 * What protobuf.js decodes an ExportLogsServiceRequest to (field names in camelCase). 64-bit
 * integers are `Long`s (the `long` package, a dependency of protobuf.js: exact), or numbers
 * if it were missing; bytes are Buffers; unset fields read their proto3 defaults; a oneof's
 * name (`value`) reads the name of the member that is set.
 */
export interface PbLong {
  low: number
  high: number
  unsigned: boolean
}
export type PbInt64 = PbLong | number

export interface PbAnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue' | 'stringValueStrindex'
  stringValue: string
  boolValue: boolean
  intValue: PbInt64
  doubleValue: number
  arrayValue?: { values: PbAnyValue[] } | null
  kvlistValue?: { values: PbKeyValue[] } | null
  bytesValue: Uint8Array
}

export interface PbKeyValue {
  key: string
  value?: PbAnyValue | null
}

export interface PbLogRecord {
  timeUnixNano: PbInt64
  observedTimeUnixNano: PbInt64
  severityNumber: number
  severityText: string
  body?: PbAnyValue | null
  attributes: PbKeyValue[]
  traceId: Uint8Array
  spanId: Uint8Array
  eventName: string
}

export interface PbScopeLogs {
  scope?: { name: string; version: string; attributes: PbKeyValue[] } | null
  logRecords: PbLogRecord[]
}

export interface PbResourceLogs {
  resource?: { attributes: PbKeyValue[] } | null
  scopeLogs: PbScopeLogs[]
}

export interface PbExportLogsServiceRequest {
  resourceLogs: PbResourceLogs[]
}
