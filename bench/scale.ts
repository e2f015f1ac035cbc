/**
 * npm run bench:scale — query cost at scale (issue 18).
 *
 * Generates BENCH_ENTRIES (default 100,000,000) entries for one project over BENCH_DAYS (30)
 * days, plus BENCH_ENTRIES / 5 in two other projects, inside the engine (scale-data.ts), in
 * chunks of one project-day. The data dir is BENCH_ROOT/<entries> (default
 * $TMPDIR/krafter-bench-scale/<entries>) and is kept: a second run reuses it and generates only
 * the chunks not yet recorded as done (a chunk interrupted half-way is deleted and generated
 * again). BENCH_CLEAN=1 starts over.
 *
 * Then, through the HTTP API of the real server (`krafter-logs serve`), p50/p95/max over
 * BENCH_RUNS (default 20, after 2 warm-ups) of each case below, with serve's RSS sampled every
 * 100 ms and its peak (VmHWM) printed. After serve stops, each case runs once more on the engine
 * in this process to measure the rows and bytes it reads (the engine's SelectedRows and
 * SelectedBytes counters). The result goes to <data dir>/result.json, and a table of every
 * scale found under BENCH_ROOT is printed, so runs at 1M, 10M and 100M show the growth:
 *
 *   BENCH_ENTRIES=1000000 npm run bench:scale
 *   BENCH_ENTRIES=10000000 npm run bench:scale
 *   npm run bench:scale
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { parseConfig } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine, type Engine } from '../src/engine/engine.js'
import { engineSchemaVersion, migrateEngine } from '../src/engine/schema.js'
import { facetCounts, FacetsInput } from '../src/explore/facets.js'
import { messagePatterns, PatternsInput } from '../src/explore/patterns.js'
import { openMeta } from '../src/meta/db.js'
import { insertProject } from '../src/meta/projects.js'
import { getDefaultTeam } from '../src/meta/teams.js'
import { planInit } from '../src/ops/init.js'
import { exportEntries, ExportInput, searchLogs, SearchInput, StatsInput, volumeStats } from '../src/logs/search.js'
import { waitForServeUrl } from './http.js'
import { generateChunk } from './scale-data.js'
import { ndjsonBytes, storedBytes } from './storage.js'

const N = Number(process.env.BENCH_ENTRIES ?? 100_000_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 30)
const RUNS = Number(process.env.BENCH_RUNS ?? 20)
const ROOT = process.env.BENCH_ROOT ?? path.join(os.tmpdir(), 'krafter-bench-scale')
const BIN = path.resolve('bin/run.js')
const DAY_MS = 86_400_000
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

interface State {
  entries: number
  days: number
  /** The end of the generated time range (epoch ms): every query's range is relative to it. */
  anchorMs: number
  teamKey: string
  projects: { id: string; name: string; entries: number; seed: number }[]
  /** `${project}:${day}` of every chunk fully generated. */
  done: string[]
  projected: boolean
  generationSeconds: number
}

const home = path.join(ROOT, String(N))
const stateFile = path.join(home, 'bench-state.json')
if (process.env.BENCH_CLEAN === '1') rmSync(home, { recursive: true, force: true })
mkdirSync(ROOT, { recursive: true })

let state: State
if (existsSync(stateFile)) {
  state = JSON.parse(readFileSync(stateFile, 'utf8')) as State
  if (state.days !== DAYS) throw new Error(`${home} holds ${state.days} days; BENCH_DAYS=${DAYS} needs another BENCH_ROOT or BENCH_CLEAN=1`)
  console.log(`reusing ${home} (${state.done.length} of ${state.projects.length * DAYS} chunks generated)`)
} else {
  rmSync(home, { recursive: true, force: true })
  const { steps, state: init } = planInit({ dataDir: home, port: 0 })
  for (const step of steps) await step.run(init)
  const meta = openMeta(dataPaths(home).meta)
  const team = getDefaultTeam(meta)!
  // Retention longer than the data, so serve's retention job keeps all of it.
  const mk = (name: string) => insertProject(meta, team.id, { name, retention_days: 365, daily_limit_mb: 10_000_000 }, new Date()).project.id
  state = {
    entries: N,
    days: DAYS,
    anchorMs: Math.floor(Date.now() / 60_000) * 60_000,
    teamKey: init.result.team_api_key!,
    projects: [
      { id: mk('bench-target'), name: 'bench-target', entries: N, seed: 1 },
      { id: mk('bench-noise-1'), name: 'bench-noise-1', entries: N / 10, seed: 2 },
      { id: mk('bench-noise-2'), name: 'bench-noise-2', entries: N / 10, seed: 3 },
    ],
    done: [],
    projected: false,
    generationSeconds: 0,
  }
  meta.close()
  writeFileSync(stateFile, JSON.stringify(state, null, 2))
}
const save = () => writeFileSync(stateFile, JSON.stringify(state, null, 2))
const waitForMutations = async (engine: Engine) => {
  for (;;) {
    const m = await q1<{ n: string }>(engine, `SELECT count() AS n FROM system.mutations WHERE database = 'krafter' AND NOT is_done`)
    if (Number(m.n) === 0) return
    await new Promise((r) => setTimeout(r, 1000))
  }
}

const config = parseConfig({}, 'bench', {})
const q1 = async <T>(engine: Engine, query: string, params: Record<string, unknown> = {}) =>
  (await (await engine.client.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>())[0]!

// ---- generation (resumable) ---------------------------------------------------------------
let engine = await openEngine(config, dataPaths(home))
const startMs = state.anchorMs - DAYS * DAY_MS
const pending = state.projects.flatMap((p) => Array.from({ length: DAYS }, (_, day) => ({ p, day }))).filter(({ p, day }) => !state.done.includes(`${p.id}:${day}`))
if (pending.length > 0) {
  console.log(`generating ${pending.length} project-days (${fmt(N)} entries in the target over ${DAYS} days, ${fmt(N / 5)} in two others)…`)
  for (const [i, { p, day }] of pending.entries()) {
    const t0 = performance.now()
    const perDay = Math.floor(p.entries / DAYS)
    const count = day === DAYS - 1 ? p.entries - perDay * (DAYS - 1) : perDay
    const fromMs = startMs + day * DAY_MS
    // A chunk interrupted half-way left some of its rows: remove them first (a lightweight
    // DELETE is a mutation, seconds each: only when there is something to delete).
    const left = await q1<{ n: string }>(
      engine,
      `SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID} AND timestamp >= fromUnixTimestamp64Milli(toInt64({f:Int64}), 'UTC') AND timestamp < fromUnixTimestamp64Milli(toInt64({t:Int64}), 'UTC')`,
      { p: p.id, f: fromMs, t: fromMs + DAY_MS },
    )
    if (Number(left.n) > 0) await engine.client.command({
      query: `DELETE FROM krafter.log_entries WHERE project_id = {p:UUID} AND timestamp >= fromUnixTimestamp64Milli(toInt64({f:Int64}), 'UTC') AND timestamp < fromUnixTimestamp64Milli(toInt64({t:Int64}), 'UTC')`,
      query_params: { p: p.id, f: fromMs, t: fromMs + DAY_MS },
    })
    await generateChunk(engine, { projectId: p.id, start: day * perDay, count, seed: p.seed, fromMs, spanMs: DAY_MS })
    state.done.push(`${p.id}:${day}`)
    state.generationSeconds += (performance.now() - t0) / 1000
    state.projected = false
    save()
    if (i % 10 === 9 || i === pending.length - 1) console.log(`  ${i + 1}/${pending.length} chunks, ${state.generationSeconds.toFixed(0)} s so far`)
  }
}
// A data dir generated by an earlier release takes this one's migrations here, as serve would
// at start, and the bench waits for their mutations: the upgrade's cost at this scale.
let schemaVersion: number
{
  const t0 = performance.now()
  const from = await engineSchemaVersion(engine)
  const to = (schemaVersion = await migrateEngine(engine))
  await waitForMutations(engine)
  if (to !== from) console.log(`  schema upgraded from version ${from} to ${to} in ${((performance.now() - t0) / 1000).toFixed(0)} s (mutations included)`)
}
if (!state.projected) {
  // Live data gets p_volume when its small parts merge; bulk-generated parts are built here.
  const t0 = performance.now()
  await engine.client.command({ query: 'ALTER TABLE krafter.log_entries MATERIALIZE PROJECTION p_volume', clickhouse_settings: { mutations_sync: '1' } })
  console.log(`  p_volume built in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  state.projected = true
  save()
}
// Let background merges settle: what is measured is the steady state of a month-old table.
for (let i = 0; i < 600; i++) {
  const m = await q1<{ n: string }>(engine, `SELECT count() AS n FROM system.merges WHERE database = 'krafter'`)
  if (Number(m.n) === 0) break
  await new Promise((r) => setTimeout(r, 1000))
}
const stored = await storedBytes(engine)
const rawBytes = await ndjsonBytes(engine, 100)
const target = state.projects[0]!
// Trace ids spread over the month, one per run: each lookup is a different entry.
const traceIds = (
  await (
    await engine.client.query({
      query: `SELECT any(trace_id) AS t FROM krafter.log_entries WHERE project_id = {p:UUID} AND trace_id != '' GROUP BY intDiv(toUInt64(id), {step:UInt64}) ORDER BY rand() LIMIT {n:UInt32}`,
      query_params: { p: target.id, step: Math.max(1, Math.floor(N / (RUNS + 2))), n: RUNS + 2 },
      format: 'JSONEachRow',
    })
  ).json<{ t: string }>()
).map((r) => r.t)
await engine.close()

// ---- the cases --------------------------------------------------------------------------
const to = String(state.anchorMs)
const since = (days: number) => ({ project_id: target.id, from: String(state.anchorMs - days * DAY_MS), to })
type Path = 'search' | 'stats' | 'facets' | 'patterns' | 'export'
interface Case {
  name: string
  path: Path
  params: (run: number) => Record<string, string>
  target?: number
}
const CASES: Case[] = [
  { name: 'trace_id lookup, 30 d', path: 'search', params: (r) => ({ ...since(30), trace_id: traceIds[r % traceIds.length]! }), target: 500 },
  { name: 'rare word (q=kraken), 7 d', path: 'search', params: () => ({ ...since(7), q: 'kraken' }), target: 500 },
  { name: 'rare word (q=kraken), 30 d', path: 'search', params: () => ({ ...since(30), q: 'kraken' }), target: 500 },
  { name: 'common word newest 100 (q=completed), 30 d', path: 'search', params: () => ({ ...since(30), q: 'completed' }), target: 500 },
  { name: 'level + service (error, payments), 30 d', path: 'search', params: () => ({ ...since(30), level: 'error', service: 'payments' }), target: 500 },
  { name: 'metadata comparison (http.status>=500), 7 d', path: 'search', params: () => ({ ...since(7), q: 'metadata.http.status:>=500' }), target: 500 },
  { name: 'stats, 30 d', path: 'stats', params: () => since(30), target: 300 },
  { name: 'facets (level, service, metadata.http.status), 7 d', path: 'facets', params: () => ({ ...since(7), fields: 'level,service,metadata.http.status' }), target: 1000 },
  { name: 'patterns, 24 h', path: 'patterns', params: () => since(1) },
  { name: 'export 10,000 as CSV, 30 d', path: 'export', params: () => ({ ...since(30), format: 'csv', limit: '10000' }) },
]

// ---- through HTTP, serve's memory sampled -------------------------------------------------
const server = execa('node', [BIN, 'serve'], { env: { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }, reject: false, stdout: 'ignore', stderr: 'inherit' })
const url = await waitForServeUrl(home)
const status = (field: 'VmRSS' | 'VmHWM'): number => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}
let rssPeakSampled = 0
// The peak within the current case too: which read needs the memory.
let rssPeakCase = 0
const sampler = setInterval(() => {
  const rss = status('VmRSS')
  rssPeakSampled = Math.max(rssPeakSampled, rss)
  rssPeakCase = Math.max(rssPeakCase, rss)
}, 100)
const rssAtStart = status('VmRSS')
const http: Record<string, { p50: number; p95: number; max: number; rows: number; rss_peak_bytes: number }> = {}
for (const c of CASES) {
  rssPeakCase = status('VmRSS')
  const times: number[] = []
  let rows = 0
  for (let i = 0; i < RUNS + 2; i++) {
    const qs = new URLSearchParams(c.params(i))
    const t0 = performance.now()
    const res = await fetch(`${url}/api/v1/logs/${c.path}?${qs}`, { headers: { authorization: `Bearer ${state.teamKey}` } })
    const body = await res.text()
    const ms = performance.now() - t0
    if (res.status !== 200) throw new Error(`${c.name}: HTTP ${res.status} ${body.slice(0, 300)}`)
    if (i >= 2) times.push(ms)
    if (c.path === 'export') rows = Number(res.headers.get('x-export-count'))
    else {
      const data = (JSON.parse(body) as { data: unknown }).data
      rows = c.path === 'stats' ? (data as { buckets: unknown[] }).buckets.length : c.path === 'facets' ? (data as { total: number }).total : (data as unknown[]).length
    }
  }
  http[c.name] = { p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), rows, rss_peak_bytes: Math.max(rssPeakCase, status('VmRSS')) }
  console.log(`  ${c.name}: p50 ${http[c.name]!.p50.toFixed(0)} ms, p95 ${http[c.name]!.p95.toFixed(0)} ms (${fmt(rows)} rows), serve RSS peak ${mib(http[c.name]!.rss_peak_bytes)}`)
}
clearInterval(sampler)
const rssPeak = Math.max(status('VmHWM'), rssPeakSampled)
server.kill('SIGTERM')
await server

// ---- rows and bytes each case reads, on the engine in this process -----------------------
engine = await openEngine(config, dataPaths(home))
const counters = async () => {
  const rows = await (
    await engine.client.query({ query: "SELECT event, value FROM system.events WHERE event IN ('SelectedRows', 'SelectedBytes')", format: 'JSONEachRow' })
  ).json<{ event: string; value: string }>()
  const get = (e: string) => Number(rows.find((r) => r.event === e)?.value ?? 0)
  return { rows: get('SelectedRows'), bytes: get('SelectedBytes') }
}
const c0 = await counters()
const c1 = await counters()
const counterCost = { rows: c1.rows - c0.rows, bytes: c1.bytes - c0.bytes }
const now = new Date(state.anchorMs)
const run = (c: Case): Promise<unknown> => {
  const p = c.params(0)
  switch (c.path) {
    case 'search':
      return searchLogs(engine, SearchInput.parse(p), now)
    case 'stats':
      return volumeStats(engine, StatsInput.parse(p), now)
    case 'facets':
      return facetCounts(engine, FacetsInput.parse(p), now)
    case 'patterns':
      return messagePatterns(engine, PatternsInput.parse(p), now)
    case 'export':
      return exportEntries(engine, ExportInput.parse(p), now)
  }
}
const reads: Record<string, { rows: number; bytes: number }> = {}
for (const c of CASES) {
  await run(c)
  const before = await counters()
  await run(c)
  const after = await counters()
  // The product's own measurement (two counter reads per search) is inside the delta: a few rows.
  reads[c.name] = { rows: Math.max(0, after.rows - before.rows - counterCost.rows), bytes: Math.max(0, after.bytes - before.bytes - counterCost.bytes) }
}
await engine.close()

// ---- results ----------------------------------------------------------------------------
const result = {
  entries: N,
  days: DAYS,
  measured_at: new Date().toISOString(),
  runs: RUNS,
  stored_bytes: stored.disk,
  parts: stored.parts,
  rows: stored.rows,
  ndjson_bytes: rawBytes,
  index_bytes: stored.indexBytes,
  rss_start_bytes: rssAtStart,
  rss_peak_bytes: rssPeak,
  generation_seconds: Math.round(state.generationSeconds),
  schema_version: schemaVersion,
  indexes_and_projections: stored.structures,
  columns: stored.columns,
  cases: CASES.map((c) => ({ name: c.name, target_ms: c.target ?? null, ...http[c.name]!, rows_read: reads[c.name]!.rows, bytes_read: reads[c.name]!.bytes })),
}
writeFileSync(path.join(home, 'result.json'), JSON.stringify(result, null, 2))

console.log('')
console.log(`| ${fmt(N)} entries over ${DAYS} d (+${fmt(N / 5)} in 2 other projects), ${RUNS} runs | result rows | HTTP p50 ms | p95 ms | max ms | rows read | bytes read | serve RSS peak | target p95 |`)
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const c of result.cases) {
  const verdict = c.target_ms === null ? '—' : `≤ ${c.target_ms} ms ${c.p95 <= c.target_ms ? 'met' : 'MISSED'}`
  console.log(`| ${c.name} | ${fmt(c.rows)} | ${c.p50.toFixed(0)} | ${c.p95.toFixed(0)} | ${c.max.toFixed(0)} | ${fmt(c.rows_read)} | ${mib(c.bytes_read)} | ${mib(c.rss_peak_bytes)} | ${verdict} |`)
}
console.log('')
console.log(`serve RSS: ${mib(rssAtStart)} at start, peak ${mib(rssPeak)} (target ≤ 1536 MiB: ${rssPeak <= 1536 * 1024 * 1024 ? 'met' : 'MISSED'})`)
const ratio = result.ndjson_bytes / result.stored_bytes
console.log(`storage: ${mib(result.stored_bytes)} on disk (${result.parts} parts; skip indexes ${mib(result.index_bytes)}) for ${fmt(result.rows)} entries vs ${mib(result.ndjson_bytes)} of NDJSON: ${ratio.toFixed(1)}x smaller (target ≥ 10x: ${ratio >= 10 ? 'met' : 'MISSED'})`)
console.log(`columns (compressed / uncompressed): ${result.columns.slice(0, 12).map((c) => `${c.column} ${mib(c.compressed)} / ${mib(c.uncompressed)}`).join('; ')}`)
console.log(`indexes and projections (compressed): ${result.indexes_and_projections.map((x) => `${x.name} ${mib(x.compressed)}`).join('; ')}`)
console.log(`generation: ${result.generation_seconds} s in total; engine schema version ${result.schema_version}`)

// Every scale measured under BENCH_ROOT, side by side: how each query's cost grows.
const all = readdirSync(ROOT)
  .map((d) => path.join(ROOT, d, 'result.json'))
  .filter((f) => existsSync(f))
  .map((f) => JSON.parse(readFileSync(f, 'utf8')) as typeof result)
  .filter((r) => r.days === DAYS)
  .sort((a, b) => a.entries - b.entries)
if (all.length > 1) {
  console.log('')
  console.log(`| query (${DAYS} d of data) | ${all.map((r) => `${fmt(r.entries)}: p50 / p95 ms, rows read`).join(' | ')} |`)
  console.log(`| --- | ${all.map(() => '---').join(' | ')} |`)
  for (const c of CASES) {
    const cells = all.map((r) => {
      const x = r.cases.find((y) => y.name === c.name)
      return x ? `${x.p50.toFixed(0)} / ${x.p95.toFixed(0)}, ${fmt(x.rows_read)}` : '—'
    })
    console.log(`| ${c.name} | ${cells.join(' | ')} |`)
  }
  console.log(`| serve RSS peak | ${all.map((r) => mib(r.rss_peak_bytes)).join(' | ')} |`)
  console.log(`| storage vs NDJSON | ${all.map((r) => `${(r.ndjson_bytes / r.stored_bytes).toFixed(1)}x`).join(' | ')} |`)
}
