import path from 'node:path'
import protobuf from 'protobufjs'
import { PACKAGE_ROOT } from '../../version.js'

/** A decoded `logproto.PushRequest`, in plain types: the only shape loki.ts sees of protobuf. */
export interface PushRequest {
  streams: {
    labels: string
    entries: {
      /** Epoch nanoseconds, exact. */
      ns: bigint
      line: string
      structuredMetadata: { name: string; value: string }[]
    }[]
  }[]
}

/** The vendored schema (proto/loki/push.proto, shipped with the package), read once when first needed. */
export const PUSH_PROTO = path.join(PACKAGE_ROOT, 'proto', 'loki', 'push.proto')

let pushRequestType: protobuf.Type | undefined
const pushRequest = (): protobuf.Type => (pushRequestType ??= protobuf.loadSync(PUSH_PROTO).lookupType('logproto.PushRequest'))

interface Long {
  toString(): string
}
interface RawPush {
  streams?: { labels?: string; entries?: { timestamp?: { seconds?: number | Long; nanos?: number }; line?: string; structuredMetadata?: { name?: string; value?: string }[] }[] }[]
}

const NS_PER_S = 1_000_000_000n

// protobufjs reads strings without checking UTF-8; invalid bytes can come out as lone
// surrogates, which the engine refuses. They become U+FFFD, as Loki sanitises them.
const wellFormed = (s: string | undefined): string => (s === undefined ? '' : s.isWellFormed() ? s : s.toWellFormed())

/**
 * Protobuf bytes (already inflated) → the PushRequest. The one place that knows the protobuf
 * runtime (protobufjs, reflection over the vendored .proto): swapping it touches this file only.
 * Throws on bytes that are not a PushRequest.
 */
export const decodePushRequest = (bytes: Uint8Array): PushRequest => {
  const raw = pushRequest().decode(bytes) as unknown as RawPush
  return {
    streams: (raw.streams ?? []).map((s) => ({
      labels: wellFormed(s.labels),
      entries: (s.entries ?? []).map((e) => {
        const seconds = e.timestamp?.seconds ?? 0
        return {
          ns: BigInt(typeof seconds === 'number' ? seconds : seconds.toString()) * NS_PER_S + BigInt(e.timestamp?.nanos ?? 0),
          line: wellFormed(e.line),
          structuredMetadata: (e.structuredMetadata ?? []).map((p) => ({ name: wellFormed(p.name), value: wellFormed(p.value) })),
        }
      }),
    })),
  }
}
