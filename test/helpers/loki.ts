/**
 * A Loki push client's bodies, built here without the server's decoder: the protobuf
 * `logproto.PushRequest` is written field by field with protobufjs's low-level Writer (field
 * numbers as in upstream pkg/push/push.proto), then snappy-compressed in the block format, as
 * Promtail and Grafana Alloy send it (Content-Type application/x-protobuf, no Content-Encoding).
 * bench/ingest.ts and bench/snappy-decode.ts reuse these.
 */
import protobuf from 'protobufjs'
import { compressSync } from 'snappy'

export interface PushEntry {
  /** Epoch nanoseconds as decimal text, or a protobuf Timestamp. */
  ts: string | { seconds: number | bigint; nanos: number }
  /** The line; bytes are written as they are (e.g. invalid UTF-8, as a broken shipper may send). */
  line: string | Uint8Array
  /** Structured metadata (name → value). */
  metadata?: Record<string, string>
}

export interface PushStream {
  /** A label set, or the label text as clients write it (`{app="x", job="y"}`). */
  labels: Record<string, string> | string
  entries: PushEntry[]
}

/** A label set as Loki's protobuf carries it: Prometheus' text form, values quoted and escaped. */
export const labelText = (labels: Record<string, string>): string =>
  `{${Object.entries(labels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ')}}`

const timestampOf = (ts: PushEntry['ts']): { seconds: bigint; nanos: number } => {
  if (typeof ts !== 'string') return { seconds: BigInt(ts.seconds), nanos: ts.nanos }
  const ns = BigInt(ts)
  return { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) }
}

const writeLabelPair = (w: protobuf.Writer, field: number, name: string, value: string) => {
  w.uint32((field << 3) | 2).fork()
  w.uint32((1 << 3) | 2).string(name)
  w.uint32((2 << 3) | 2).string(value)
  w.ldelim()
}

/** The protobuf PushRequest (uncompressed). */
export const encodePushRequest = (streams: PushStream[]): Uint8Array => {
  const w = protobuf.Writer.create()
  for (const stream of streams) {
    w.uint32((1 << 3) | 2).fork() // PushRequest.streams = 1
    w.uint32((1 << 3) | 2).string(typeof stream.labels === 'string' ? stream.labels : labelText(stream.labels)) // labels = 1
    for (const entry of stream.entries) {
      w.uint32((2 << 3) | 2).fork() // entries = 2
      const { seconds, nanos } = timestampOf(entry.ts)
      w.uint32((1 << 3) | 2).fork() // timestamp = 1 (google.protobuf.Timestamp)
      if (seconds !== 0n) w.uint32((1 << 3) | 0).int64(seconds.toString())
      if (nanos !== 0) w.uint32((2 << 3) | 0).int32(nanos)
      w.ldelim()
      if (typeof entry.line === 'string') w.uint32((2 << 3) | 2).string(entry.line) // line = 2
      else w.uint32((2 << 3) | 2).bytes(entry.line)
      for (const [name, value] of Object.entries(entry.metadata ?? {})) writeLabelPair(w, 3, name, value) // structuredMetadata = 3
      w.ldelim()
    }
    w.ldelim()
  }
  return w.finish()
}

/** The body Promtail / Alloy send: the PushRequest, snappy block format. */
export const snappyPushBody = (streams: PushStream[]): Buffer => compressSync(Buffer.from(encodePushRequest(streams)))

/** The snappy block format's header: the uncompressed length as a little-endian base-128 varint. */
export const snappyLengthPrefix = (length: number): Buffer => {
  const bytes: number[] = []
  let n = length
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  bytes.push(n)
  return Buffer.from(bytes)
}

/** Epoch nanoseconds (decimal text) of a time given in ms, plus extra ns. */
export const nsOf = (ms: number, extraNs = 0): string => (BigInt(ms) * 1_000_000n + BigInt(extraNs)).toString()

/**
 * Realistic push content for benchmarks: `lines` JSON-ish log lines of about `lineBytes` bytes
 * (varied words, ids and numbers from a fixed-seed generator, so they compress as real logs
 * do, not as repeated padding), spread over a few streams as a shipper groups them by label set.
 */
export const sampleStreams = (lines: number, lineBytes = 200, startMs = Date.now()): PushStream[] => {
  let seed = 0x2545f491
  const rand = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 0x100000000
  }
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const words = ['request', 'handled', 'user', 'cache', 'miss', 'hit', 'timeout', 'retry', 'order', 'payment', 'accepted', 'declined', 'queue', 'worker', 'session', 'token', 'refresh', 'upstream', 'latency', 'slow', 'query', 'rows', 'shard', 'connection', 'reset', 'pool']
  const services = ['checkout', 'payments', 'search', 'auth']
  const levels = ['info', 'info', 'info', 'warn', 'error', 'debug']
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('')
  const streams = services.map((service) => ({ labels: { service_name: service, env: 'prod', host: `web-${service.length}` }, entries: [] as PushEntry[] }))
  for (let i = 0; i < lines; i++) {
    const head = `{"level":"${pick(levels)}","msg":"${pick(words)} ${pick(words)}","method":"${pick(['GET', 'POST', 'PUT'])}","path":"/api/v1/${pick(words)}/${Math.floor(rand() * 1e6)}","status":${pick([200, 200, 201, 404, 500])},"duration_ms":${(rand() * 1000).toFixed(2)},"user_id":"u_${hex(10)}","detail":"`
    let detail = pick(words)
    while (head.length + detail.length + 2 < lineBytes) detail += ` ${pick(words)}`
    const line = `${head}${detail}"}`
    streams[i % streams.length]!.entries.push({ ts: nsOf(startMs, i), line, metadata: { trace_id: hex(32) } })
  }
  return streams
}
