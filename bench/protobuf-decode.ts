/**
 * npx tsx bench/protobuf-decode.ts — OTLP logs protobuf decoding, per runtime candidate.
 *
 * The payload is what an OTel SDK exports: BENCH_RECORDS (default 1,000) log records from
 * bench/data.ts's realistic entries (5 services → 5 resources with the SDK's resource
 * attributes, one scope, 7 attributes per record with dotted keys, 60 % with trace context),
 * encoded once. Each candidate decodes it BENCH_RUNS times (default 15) after a warm-up, the
 * candidates taking turns within each run (so a busy moment of a shared machine costs them all
 * alike); the answer is records/s as the median and the range of the runs.
 *  - decode: the runtime's own decoder, to its message objects.
 *  - decode + read: plus what any mapping must read in that runtime's representation (fixed64
 *    times → decimal text, ids → hex, attribute values → plain values).
 *  - krafter decoder: the server's whole OTLP decoder (src/ingest/protocols/otlp.ts: decode and
 *    map to log entries), for protobuf and for the same request as OTLP JSON.
 * A candidate that is not installed (@bufbuild/protobuf, or the buf CLI it needs to build a
 * descriptor set from proto/) is skipped. Also checks how each runtime takes hostile input.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { decodeOtlpLogs } from '../src/ingest/protocols/otlp.js'
import { otlpSchema, PROTO_DIR, type PbAnyValue, type PbExportLogsServiceRequest, type PbInt64 } from '../src/ingest/protocols/otlp-schema.js'
import { encodeOtlpJson, encodeOtlpProtobuf, otlpRequestOf } from '../test/helpers/otlp.js'
import { makeEntryFactory } from './data.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1000)
const RUNS = Number(process.env.BENCH_RUNS ?? 15)

const next = makeEntryFactory(7, Date.now() - 600_000)
const request = otlpRequestOf(Array.from({ length: RECORDS }, next))
const bytes = encodeOtlpProtobuf(request)
const json = Buffer.from(encodeOtlpJson(request))
console.log(`payload: ${RECORDS} records, protobuf ${(bytes.length / 1024).toFixed(0)} KiB, JSON ${(json.length / 1024).toFixed(0)} KiB; ${RUNS} runs each`)

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9)
interface Candidate {
  key: string
  label: string
  decode: () => unknown
  reps: number
  rates: number[]
}
const candidates: Candidate[] = []
const candidate = (key: string, label: string, decode: () => unknown) => candidates.push({ key, label, decode, reps: 1, rates: [] })

const measureAll = (): Record<string, number> => {
  for (const c of candidates) {
    // Enough repeats per run for ~100 ms; a warm-up as long as two runs.
    const started = performance.now()
    c.decode()
    c.reps = Math.max(1, Math.round(100 / Math.max(0.05, performance.now() - started)))
    for (let i = 0; i < c.reps * 2; i++) c.decode()
  }
  for (let run = 0; run < RUNS; run++) {
    for (const c of candidates) {
      const started = performance.now()
      for (let i = 0; i < c.reps; i++) c.decode()
      c.rates.push((RECORDS * c.reps) / ((performance.now() - started) / 1000))
    }
  }
  const medians: Record<string, number> = {}
  for (const c of candidates) {
    const rates = [...c.rates].sort((a, b) => a - b)
    medians[c.key] = rates[Math.floor(rates.length / 2)]!
    if (c.label.startsWith('\n')) console.log(c.label.split('\n  ')[0])
    console.log(`  ${c.label.split('\n  ').at(-1)!.padEnd(32)} ${fmt(medians[c.key]!)} records/s  (runs ${fmt(rates[0]!).trim()} – ${fmt(rates.at(-1)!).trim()})`)
  }
  return medians
}

// --- protobuf.js: reflection from the vendored .proto files (what the server ships).
const { request: pbType } = otlpSchema()
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
const longText = (v: PbInt64) => (typeof v === 'number' ? String(v) : ((BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString())
const pbjsPlain = (v: PbAnyValue | null | undefined): unknown => {
  switch (v?.value) {
    case 'stringValue':
      return v.stringValue
    case 'intValue':
      return typeof v.intValue === 'number' ? v.intValue : v.intValue.high * 4294967296 + (v.intValue.low >>> 0)
    case 'doubleValue':
      return v.doubleValue
    case 'boolValue':
      return v.boolValue
    default:
      return null
  }
}
const pbjsRead = () => {
  const m = pbType.decode(bytes) as unknown as PbExportLogsServiceRequest
  let n = 0
  for (const rl of m.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const r of sl.logRecords) {
        const attrs: Record<string, unknown> = {}
        for (const kv of r.attributes) attrs[kv.key] = pbjsPlain(kv.value)
        n += longText(r.timeUnixNano).length + (r.traceId.length ? hex(r.traceId).length : 0) + String(pbjsPlain(r.body)).length
      }
  return n
}

const pbjsVersion = (JSON.parse(readFileSync(path.resolve('node_modules/protobufjs/package.json'), 'utf8')) as { version: string }).version
candidate('pbjs', `\nprotobuf.js ${pbjsVersion}\n  decode`, () => pbType.decode(bytes))
candidate('pbjsRead', 'decode + read', pbjsRead)

// --- @bufbuild/protobuf: its reflection over a descriptor set that buf builds from proto/
// (generated code embeds the same descriptors and decodes through the same reflection).
interface BufModule {
  fromBinary: (schema: unknown, bytes: Uint8Array, options?: { readUnknownFields?: boolean }) => unknown
  createFileRegistry: (set: unknown) => { getMessage: (name: string) => unknown }
}
let bufRuntime: { fromBinary: BufModule['fromBinary']; schema: unknown; version: string } | undefined
try {
  // Specifiers the type checker does not resolve: the bench still type-checks once it is uninstalled.
  const bufPackage: string = '@bufbuild/protobuf'
  const core = (await import(bufPackage)) as BufModule
  const wkt = (await import(`${bufPackage}/wkt`)) as { FileDescriptorSetSchema: unknown }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-buf-'))
  try {
    execFileSync(path.resolve('node_modules/.bin/buf'), ['build', PROTO_DIR, '-o', path.join(dir, 'otlp.binpb')], { stdio: 'pipe' })
    const set = core.fromBinary(wkt.FileDescriptorSetSchema, readFileSync(path.join(dir, 'otlp.binpb')))
    const schema = core.createFileRegistry(set).getMessage('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest')
    const version = (JSON.parse(readFileSync(path.resolve('node_modules/@bufbuild/protobuf/package.json'), 'utf8')) as { version: string }).version
    bufRuntime = { fromBinary: core.fromBinary, schema, version }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
} catch (err) {
  console.log(`\n@bufbuild/protobuf: skipped (${String((err as Error).message).split('\n')[0]})`)
}

interface BufAnyValue {
  value: { case: string | undefined; value?: unknown }
}
interface BufRequest {
  resourceLogs: {
    scopeLogs: { logRecords: { timeUnixNano: bigint; traceId: Uint8Array; body?: BufAnyValue; attributes: { key: string; value?: BufAnyValue }[] }[] }[]
  }[]
}
if (bufRuntime) {
  const { fromBinary, schema } = bufRuntime
  const bufPlain = (v: BufAnyValue | undefined): unknown => {
    const c = v?.value
    switch (c?.case) {
      case 'stringValue':
      case 'doubleValue':
      case 'boolValue':
        return c.value
      case 'intValue':
        return Number(c.value as bigint)
      default:
        return null
    }
  }
  const bufRead = () => {
    const m = fromBinary(schema, bytes, { readUnknownFields: false }) as BufRequest
    let n = 0
    for (const rl of m.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const r of sl.logRecords) {
          const attrs: Record<string, unknown> = {}
          for (const kv of r.attributes) attrs[kv.key] = bufPlain(kv.value)
          n += r.timeUnixNano.toString().length + (r.traceId.length ? hex(r.traceId).length : 0) + String(bufPlain(r.body)).length
        }
    return n
  }
  if (pbjsRead() !== bufRead()) throw new Error('the two runtimes read different values')
  candidate('buf', `\n@bufbuild/protobuf ${bufRuntime.version}\n  decode`, () => fromBinary(schema, bytes, { readUnknownFields: false }))
  candidate('bufRead', 'decode + read', bufRead)
}

candidate('protobuf', '\nkrafter decoder (src/ingest/protocols/otlp.ts, protobuf.js)\n  protobuf → log entries', () => decodeOtlpLogs(bytes, 'protobuf'))
candidate('json', 'OTLP JSON → log entries', () => decodeOtlpLogs(json, 'json'))
const results = measureAll()

if (results.buf) {
  console.log(`\nprotobuf.js / @bufbuild/protobuf: decode ×${(results.pbjs! / results.buf).toFixed(2)}, decode + read ×${(results.pbjsRead! / results.bufRead!).toFixed(2)}`)
}

// --- Hostile input: each runtime should refuse it with an error, never crash or hang.
const nested = (depth: number): Buffer => {
  // AnyValue{array_value: ArrayValue{values: [AnyValue …]}}, `depth` times, as a record body.
  let inner = Buffer.from([0x0a, 0x01, 0x78]) // AnyValue{string_value: "x"}
  for (let i = 0; i < depth; i++) {
    const array = Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]) // ArrayValue.values = 1
    inner = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]) // AnyValue.array_value = 5
  }
  const record = Buffer.concat([Buffer.from([0x2a]), varint(inner.length), inner]) // LogRecord.body = 5
  const scopeLogs = Buffer.concat([Buffer.from([0x12]), varint(record.length), record])
  const resourceLogs = Buffer.concat([Buffer.from([0x12]), varint(scopeLogs.length), scopeLogs])
  return Buffer.concat([Buffer.from([0x0a]), varint(resourceLogs.length), resourceLogs])
}
function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return Buffer.from(out)
}
const hostile: [string, Buffer][] = [
  ['truncated', bytes.subarray(0, bytes.length - 7)],
  ['AnyValue nested 20,000 deep', nested(20_000)],
  ['unknown field 99 (varint)', Buffer.concat([Buffer.from([0x98, 0x06, 0x01]), bytes])],
]
console.log('\nhostile input')
for (const [label, input] of hostile) {
  const outcome = (decode: () => unknown) => {
    try {
      decode()
      return 'decoded'
    } catch (err) {
      return `${(err as Error).name}: ${String((err as Error).message).slice(0, 60)}`
    }
  }
  console.log(`  ${label}`)
  console.log(`    protobuf.js:        ${outcome(() => pbType.decode(input))}`)
  if (bufRuntime) console.log(`    @bufbuild/protobuf: ${outcome(() => bufRuntime.fromBinary(bufRuntime.schema, input))}`)
}
