import path from 'node:path'
import protobuf from 'protobufjs'
import { PACKAGE_ROOT } from '../../version.js'

/** A decoded `logproto.PushRequest`, in plain types: the only shape loki.ts sees of protobuf. */
export interface PushRequest {
  streams: {
    labels: string
    entries: {
      /** Epoch nanoseconds as decimal text, exact. */
      ns: string
      line: string
      structuredMetadata: { name: string; value: string }[]
    }[]
  }[]
}

/** The vendored schema (proto/loki/push.proto, shipped with the package), read once when first needed. */
export const PUSH_PROTO = path.join(PACKAGE_ROOT, 'proto', 'loki', 'push.proto')

/**
 * The PushRequest type, built once from the vendored schema with its string fields read as
 * bytes. protobufjs verifies proto3 strings as UTF-8 and throws on the first invalid byte,
 * which would refuse a whole push for one bad line; Loki (gogoproto) does not check them and
 * sanitises invalid UTF-8. Both are the same wire type (length-delimited), so reading the
 * bytes and decoding them here with U+FFFD for invalid sequences takes what Loki takes.
 */
let pushRequestType: protobuf.Type | undefined
export const pushRequest = (): protobuf.Type => {
  if (pushRequestType) return pushRequestType
  const schema = protobuf.loadSync(PUSH_PROTO).toJSON({ keepComments: false })
  const messages = (schema.nested!.logproto as protobuf.INamespace).nested as Record<string, { fields?: Record<string, { type: string }> }>
  for (const message of Object.values(messages)) {
    for (const field of Object.values(message.fields ?? {})) if (field.type === 'string') field.type = 'bytes'
  }
  // The JSON holds google.protobuf.Timestamp too (protobufjs ships it; loadSync resolved the import).
  return (pushRequestType = protobuf.Root.fromJSON(schema).lookupType('logproto.PushRequest'))
}

interface Long {
  toNumber(): number
  toString(): string
}
interface RawPush {
  streams?: {
    labels?: Uint8Array
    entries?: { timestamp?: { seconds?: number | Long; nanos?: number }; line?: Uint8Array; structuredMetadata?: { name?: Uint8Array; value?: Uint8Array }[] }[]
  }[]
}

/**
 * A Timestamp's epoch nanoseconds as text. The usual one (whole seconds a safe integer ≥ 0,
 * nanos within a second) is written digit by digit; any other is summed exactly with BigInt.
 */
const nsText = (timestamp: { seconds?: number | Long; nanos?: number } | undefined): string => {
  const raw = timestamp?.seconds ?? 0
  const seconds = typeof raw === 'number' ? raw : raw.toNumber()
  const nanos = timestamp?.nanos ?? 0
  if (Number.isSafeInteger(seconds) && seconds > 0 && nanos >= 0 && nanos < 1e9) return `${seconds}${String(nanos).padStart(9, '0')}`
  return (BigInt(typeof raw === 'number' ? raw : raw.toString()) * 1_000_000_000n + BigInt(nanos)).toString()
}

// The string fields as read (bytes, see pushRequest): UTF-8, invalid sequences as U+FFFD.
// protobufjs hands Buffers (slices of the body) to Node; a plain Uint8Array is wrapped without a copy.
const text = (bytes: Uint8Array | undefined): string => {
  if (bytes === undefined || bytes.length === 0) return ''
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString('utf8')
}

/**
 * Protobuf bytes (already inflated) → the PushRequest. The one place that knows the protobuf
 * runtime (protobufjs, reflection over the vendored .proto): swapping it touches this file only.
 * Throws on bytes that are not a PushRequest.
 */
export const decodePushRequest = (bytes: Uint8Array): PushRequest => {
  const raw = pushRequest().decode(bytes) as unknown as RawPush
  return {
    streams: (raw.streams ?? []).map((s) => ({
      labels: text(s.labels),
      entries: (s.entries ?? []).map((e) => ({
        ns: nsText(e.timestamp),
        line: text(e.line),
        structuredMetadata: (e.structuredMetadata ?? []).map((p) => ({ name: text(p.name), value: text(p.value) })),
      })),
    })),
  }
}
