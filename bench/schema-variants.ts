/**
 * npm run bench:schema — what each choice of the log table's design costs, on the data of the
 * scale bench (scale-data.ts): for each variant, a fresh embedded engine with the released
 * migrations up to a version plus the variant's statements, BENCH_ENTRIES (default 1,000,000)
 * entries generated in the engine over BENCH_DAYS (4) days, merged to one part per day; then
 * the bytes on disk of every column, skip index and projection, the NDJSON size of the same
 * entries, and the engine's insert rate of the bench's NDJSON (bench/data.ts) in 4,000-line
 * JSONEachRow inserts (the size of a grouped insert under batch load), BENCH_RUNS (3) times,
 * interleaved across variants so drift of the shared machine falls on all of them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { Engine } from '../src/engine/core.js'
import { openEmbeddedEngine } from '../src/engine/embedded.js'
import { renderBootstrap, renderMigrations } from '../src/engine/schema.js'
import { ensureDataSet } from './data.js'
import { generateChunk } from './scale-data.js'
import { ndjsonBytes, storedBytes } from './storage.js'

const N = Number(process.env.BENCH_ENTRIES ?? 1_000_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 4)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const INSERT_LINES = Number(process.env.BENCH_INSERT_LINES ?? 200_000)
const CHUNK = 4000
const T = 'krafter.log_entries'

interface Variant {
  name: string
  /** Released migrations applied (schema version). */
  version: number
  alter?: string[]
}
const VARIANTS: Variant[] = [
  { name: 'version 4 (before issue 18)', version: 4 },
  { name: 'version 5 (this release)', version: 5 },
  {
    // Measured and not shipped: a trace's hours first, then only those hours (docs/architecture.md).
    name: 'v5 + p_trace (hours per trace id hash)',
    version: 5,
    alter: [`ALTER TABLE ${T} ADD PROJECTION p_trace (SELECT project_id, toUInt32(cityHash64(trace_id)), min(toStartOfHour(timestamp)), max(toStartOfHour(timestamp)) GROUP BY project_id, toUInt32(cityHash64(trace_id))) WITH SETTINGS (index_granularity = 256)`],
  },
  { name: 'v5, text index posting lists bit-packed', version: 5, alter: [`ALTER TABLE ${T} DROP INDEX idx_message`, `ALTER TABLE ${T} ADD INDEX idx_message lower(message) TYPE text(tokenizer = splitByNonAlpha, posting_list_codec = 'bitpacking') GRANULARITY 1`] },
  {
    name: 'v5, bloom filters at 1 % instead of 0.1 %',
    version: 5,
    alter: ['id', 'trace_id', 'span_id'].flatMap((c) => [`ALTER TABLE ${T} DROP INDEX idx_${c}`, `ALTER TABLE ${T} ADD INDEX idx_${c} ${c} TYPE bloom_filter(0.01) GRANULARITY 1`]),
  },
  { name: 'v5 without the text index', version: 5, alter: [`ALTER TABLE ${T} DROP INDEX idx_message`] },
  { name: 'v5 without the stored template', version: 5, alter: [`ALTER TABLE ${T} DROP COLUMN message_template`] },
  { name: 'v5, metadata as a String', version: 5, alter: [`ALTER TABLE ${T} MODIFY COLUMN metadata String`] },
]

const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-schema-'))
const mib = (b: number) => (b / 1024 / 1024).toFixed(2)
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

const open = async (variant: Variant, dir: string): Promise<Engine> => {
  rmSync(dir, { recursive: true, force: true })
  const engine = await openEmbeddedEngine({ path: dir, database: 'krafter' })
  for (const sql of renderBootstrap(engine)) await engine.client.command({ query: sql })
  for (const statements of renderMigrations(engine).slice(0, variant.version)) for (const sql of statements) await engine.client.command({ query: sql })
  for (const sql of variant.alter ?? []) await engine.client.command({ query: sql })
  return engine
}

// ---- bytes on disk ------------------------------------------------------------------------
interface Size {
  disk: number
  ndjson: number
  parts: { name: string; bytes: number }[]
}
const sizes = new Map<string, Size>()
for (const variant of VARIANTS) {
  const engine = await open(variant, path.join(root, 'size'))
  const perDay = Math.floor(N / DAYS)
  const from = Date.UTC(2026, 10, 1)
  for (let d = 0; d < DAYS; d++) {
    await generateChunk(engine, { projectId: '11111111-1111-4111-8111-111111111111', start: d * perDay, count: perDay, seed: 1, fromMs: from + d * 86_400_000, spanMs: 86_400_000 })
  }
  await engine.client.command({ query: `OPTIMIZE TABLE ${T} FINAL` })
  const stored = await storedBytes(engine)
  const parts = [...stored.columns.map((c) => ({ name: c.column, bytes: c.compressed })), ...stored.structures.map((x) => ({ name: x.name, bytes: x.compressed }))]
  sizes.set(variant.name, { disk: stored.disk, ndjson: await ndjsonBytes(engine), parts })
  await engine.close()
  console.log(`${variant.name}: ${mib(stored.disk)} MiB on disk`)
}

// ---- insert rate --------------------------------------------------------------------------
const file = await ensureDataSet(1_000_000)
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, INSERT_LINES)
const bodies: string[] = []
for (let i = 0; i < lines.length; i += CHUNK) bodies.push(lines.slice(i, i + CHUNK).join('\n') + '\n')
const rates = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]))
for (let run = 0; run < RUNS; run++) {
  for (const variant of VARIANTS) {
    const engine = await open(variant, path.join(root, 'insert'))
    for (const set of ['input_format_skip_unknown_fields = 1', "date_time_input_format = 'best_effort'"]) await engine.client.command({ query: `SET ${set}` })
    const started = performance.now()
    for (const body of bodies) {
      const { stream } = await engine.client.exec({ query: `INSERT INTO ${T} FORMAT JSONEachRow`, values: Readable.from([body], { objectMode: false }) })
      stream.destroy()
    }
    rates.get(variant.name)!.push(lines.length / ((performance.now() - started) / 1000))
    await engine.close()
  }
}
rmSync(root, { recursive: true, force: true })

// ---- table --------------------------------------------------------------------------------
const base = VARIANTS[0]!.name
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log('')
console.log(`| variant (${fmt(N)} entries over ${DAYS} days) | on disk MiB | vs NDJSON | insert entries/s, ${CHUNK}-line inserts (median; runs) | insert vs version 4 |`)
console.log('| --- | --- | --- | --- | --- |')
for (const variant of VARIANTS) {
  const s = sizes.get(variant.name)!
  const r = rates.get(variant.name)!
  console.log(`| ${variant.name} | ${mib(s.disk)} | ${(s.ndjson / s.disk).toFixed(2)}x | ${fmt(median(r))} (${r.map(fmt).join(', ')}) | ${((median(r) / median(rates.get(base)!)) * 100).toFixed(0)} % |`)
}
console.log('')
const names = [...new Set(VARIANTS.flatMap((v) => sizes.get(v.name)!.parts.map((p) => p.name)))]
const total = (n: string) => Math.max(...VARIANTS.map((v) => sizes.get(v.name)!.parts.find((p) => p.name === n)?.bytes ?? 0))
names.sort((a, b) => total(b) - total(a))
console.log(`| MiB | ${VARIANTS.map((v) => v.name).join(' | ')} |`)
console.log(`| --- | ${VARIANTS.map(() => '---').join(' | ')} |`)
for (const n of names) console.log(`| ${n} | ${VARIANTS.map((v) => { const b = sizes.get(v.name)!.parts.find((p) => p.name === n)?.bytes; return b === undefined ? '—' : mib(b) }).join(' | ')} |`)
