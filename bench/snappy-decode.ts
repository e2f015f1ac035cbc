/**
 * npx tsx bench/snappy-decode.ts — snappy block-format decoding of realistic Loki push bodies
 * (protobuf PushRequest of JSON-ish log lines, as Promtail / Alloy send it), with each candidate:
 *  - `snappy` (napi-rs, native): uncompressSync on the event loop, uncompress on the libuv pool,
 *    each with the default external output buffer and with copyOutputData
 *  - `snappyjs` (pure JavaScript): uncompress
 * Prints MB/s of decompressed output per candidate and body size: median of the runs, with
 * min–max as the spread. BENCH_RUNS (default 15) runs of BENCH_REPEAT (default 50) decodes each.
 */
import { compressSync, uncompress, uncompressSync } from 'snappy'
import { encodePushRequest, sampleStreams } from '../test/helpers/loki.js'

// snappyjs lost (see src/ingest/snappy.ts) and may be uninstalled: its row is then left out.
// A computed specifier keeps the type check independent of it.
const SNAPPYJS = 'snappyjs'
const snappyjs = (await import(SNAPPYJS).catch(() => undefined)) as { default: { uncompress: (b: Uint8Array) => Uint8Array } } | undefined

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const REPEAT = Number(process.env.BENCH_REPEAT ?? 50)

interface Candidate {
  name: string
  decode: (body: Buffer) => Buffer | Uint8Array | Promise<Buffer | Uint8Array | string>
}

const candidates: Candidate[] = (process.env.BENCH_REVERSE ? (a: Candidate[]) => a.reverse() : (a: Candidate[]) => a)([
  { name: 'snappy uncompressSync', decode: (b) => uncompressSync(b, { asBuffer: true }) as Buffer },
  // copyOutputData: a V8-owned output buffer instead of an external one (whose finalizers and
  // external-memory accounting turned out to dominate the sync decode after the first runs).
  { name: 'snappy uncompressSync copy', decode: (b) => uncompressSync(b, { asBuffer: true, copyOutputData: true }) as Buffer },
  { name: 'snappy uncompress (async)', decode: (b) => uncompress(b, { asBuffer: true }) },
  { name: 'snappy uncompress async copy', decode: (b) => uncompress(b, { asBuffer: true, copyOutputData: true }) },
  ...(snappyjs ? [{ name: 'snappyjs uncompress', decode: (b: Buffer) => snappyjs.default.uncompress(b) }] : []),
])

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const bodies = [
  { label: '1,000 lines × ~200 B', lines: 1000, lineBytes: 200 },
  { label: '10,000 lines × ~200 B', lines: 10_000, lineBytes: 200 },
  { label: '100 lines × ~2 KiB', lines: 100, lineBytes: 2048 },
]

console.log(`node ${process.version}, ${RUNS} runs × ${REPEAT} decodes per cell${snappyjs ? '' : ' (snappyjs not installed: left out)'}`)
for (const spec of bodies) {
  const raw = Buffer.from(encodePushRequest(sampleStreams(spec.lines, spec.lineBytes, 1_795_000_000_000)))
  const body = compressSync(raw)
  // Same bytes out of every candidate, or the comparison means nothing.
  for (const c of candidates) {
    const out = Buffer.from((await c.decode(body)) as Uint8Array)
    if (!out.equals(raw)) throw new Error(`${c.name} decoded different bytes`)
  }
  console.log(`\n${spec.label}: ${(raw.length / 1024).toFixed(0)} KiB protobuf → ${(body.length / 1024).toFixed(0)} KiB snappy (${((body.length / raw.length) * 100).toFixed(0)} %)`)
  for (const c of candidates) {
    for (let i = 0; i < REPEAT; i++) await c.decode(body) // warm-up
    const rates: number[] = []
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now()
      for (let i = 0; i < REPEAT; i++) await c.decode(body)
      const seconds = (performance.now() - started) / 1000
      rates.push((raw.length * REPEAT) / seconds / 1e6)
    }
    console.log(
      `  ${c.name.padEnd(28)} ${median(rates).toFixed(0).padStart(6)} MB/s  (min ${Math.min(...rates).toFixed(0)}, max ${Math.max(...rates).toFixed(0)})`,
    )
  }
}
