/**
 * npm run bench:search — search latency at 10M entries.
 * Generates BENCH_ENTRIES (default 10,000,000) entries for one project over the last 24 h,
 * plus 20 % noise in two other projects, inside the engine (INSERT … SELECT). Then times
 * typical queries through the HTTP API of the real server (p50/p95 over BENCH_RUNS, default
 * 25) and, in the same run, the same SQL directly on the engine. Also prints stored bytes vs
 * the raw NDJSON bytes of the same entries.
 * Then the explore endpoints (search-explore.ts): facets, patterns, context and live tail
 * latency while ingesting. BENCH_EXPLORE=off skips them; BENCH_ONLY=explore runs only them
 * (no query table).
 */
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { parseConfig } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine } from '../src/engine/engine.js'
import { openMeta } from '../src/meta/db.js'
import { insertProject } from '../src/meta/projects.js'
import { getDefaultTeam } from '../src/meta/teams.js'
import { planInit } from '../src/ops/init.js'
import { buildSearchSql, buildStatsSql, SearchInput, StatsInput } from '../src/logs/search.js'
import { generateEntries } from './search-data.js'
import { waitForServeUrl } from './http.js'
import { runExplore } from './search-explore.js'
import { ndjsonBytes, storedBytes } from './storage.js'

const N = Number(process.env.BENCH_ENTRIES ?? 10_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 25)
const BIN = path.resolve('bin/run.js')
const fmt = (n: number) => n.toLocaleString('en-US')
const ONLY_EXPLORE = process.env.BENCH_ONLY === 'explore'
const EXPLORE = ONLY_EXPLORE || process.env.BENCH_EXPLORE !== 'off'
if (process.env.BENCH_ONLY !== undefined && !ONLY_EXPLORE) throw new Error('BENCH_ONLY: only "explore" is known')

const home = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-search-'))
const { steps, state } = planInit({ dataDir: home, port: 0 })
for (const step of steps) await step.run(state)
const teamKey = state.result.team_api_key!
const meta = openMeta(dataPaths(home).meta)
const team = getDefaultTeam(meta)!
const mk = (name: string) => insertProject(meta, team.id, { name, retention_days: 7, daily_limit_mb: 10_000_000 }, new Date())
const { project: targetProject, ingestToken: targetIngestToken } = mk('bench-target')
const target = targetProject.id
const noise = [mk('bench-noise-1').project.id, mk('bench-noise-2').project.id]
meta.close()

const config = parseConfig({}, 'bench', {})
const nowMs = Date.now()
const toMs = nowMs
const fromMs = nowMs - 86_400_000

let engine = await openEngine(config, dataPaths(home))
let started = performance.now()
console.log(`generating ${fmt(N)} entries for the target project and ${fmt(N / 5)} noise entries…`)
await generateEntries(engine, target, N, 1, fromMs)
for (const [i, id] of noise.entries()) await generateEntries(engine, id, N / 10, 2 + i, fromMs)
console.log(`  generated in ${((performance.now() - started) / 1000).toFixed(0)} s`)
// Live data gets the p_volume projection when its small parts merge; bulk-generated parts never
// merged, so build it as their merges would have.
await engine.client.command({ query: 'ALTER TABLE krafter.log_entries MATERIALIZE PROJECTION p_volume', clickhouse_settings: { mutations_sync: '1' } })
const q1 = async <T>(query: string, params: Record<string, unknown> = {}) =>
  (await (await engine.client.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>())[0]!
// A trace id that exists, for the lookup.
const traceId = (await q1<{ t: string }>(`SELECT trace_id AS t FROM krafter.log_entries WHERE project_id = {p:UUID} AND trace_id != '' LIMIT 1 OFFSET 4321`, { p: target })).t
started = performance.now()
// Let background merges settle so what is measured is the steady state of a day-old table.
for (let i = 0; i < 120; i++) {
  const m = await q1<{ n: string }>(`SELECT count() AS n FROM system.merges WHERE database = 'krafter'`)
  const p = await q1<{ n: string }>(`SELECT count() AS n FROM system.parts WHERE database = 'krafter' AND table = 'log_entries' AND active`)
  if (Number(m.n) === 0 && Number(p.n) <= 30) break
  await new Promise((r) => setTimeout(r, 1000))
}
const size = await storedBytes(engine)
const raw = await ndjsonBytes(engine)
console.log(`  storage: ${fmt(size.rows)} rows in ${size.parts} parts, ${(size.disk / 1024 / 1024).toFixed(1)} MiB stored vs ${(raw / 1024 / 1024).toFixed(1)} MiB as NDJSON (${(raw / size.disk).toFixed(1)}x)`)
await engine.close()

const base = { project_id: target, from: String(fromMs), to: String(toMs) }
const CASES: { name: string; path: 'search' | 'stats' | 'export'; params: Record<string, string> }[] = [
  { name: 'rare word (q=kraken)', path: 'search', params: { q: 'kraken' } },
  { name: 'common word (q=completed)', path: 'search', params: { q: 'completed' } },
  { name: 'phrase (q="connection reset")', path: 'search', params: { q: '"connection reset"' } },
  { name: 'level + service filter', path: 'search', params: { level: 'error', service: 'payments' } },
  { name: 'metadata comparison (http.status>=500)', path: 'search', params: { q: 'metadata.http.status:>=500' } },
  { name: 'trace_id lookup', path: 'search', params: { trace_id: traceId } },
  { name: 'stats over 24 h', path: 'stats', params: {} },
  { name: 'export 10,000 as CSV', path: 'export', params: { format: 'csv', limit: '10000' } },
]

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

const http: Record<string, { p50: number; p95: number; rows: number }> = {}
const direct: Record<string, { p50: number; p95: number }> = {}
const indexEffect: string[] = []
if (!ONLY_EXPLORE) {
  // Through the HTTP API of the real server.
  const server = execa('node', [BIN, 'serve'], { env: { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }, reject: false, stdout: 'ignore', stderr: 'inherit' })
  const url = await waitForServeUrl(home)
  for (const c of CASES) {
    const qs = new URLSearchParams({ ...base, ...c.params })
    const times: number[] = []
    let rows = 0
    for (let i = 0; i < RUNS + 2; i++) {
      const t0 = performance.now()
      const res = await fetch(`${url}/api/v1/logs/${c.path}?${qs}`, { headers: { authorization: `Bearer ${teamKey}` } })
      const body = await res.text()
      const ms = performance.now() - t0
      if (res.status !== 200) throw new Error(`${c.name}: HTTP ${res.status} ${body.slice(0, 300)}`)
      if (i >= 2) times.push(ms)
      rows = c.path === 'export' ? Number(res.headers.get('x-export-count')) : c.path === 'search' ? JSON.parse(body).data.length : JSON.parse(body).data.buckets.length
    }
    http[c.name] = { p50: percentile(times, 50), p95: percentile(times, 95), rows }
}
server.kill('SIGTERM')
await server

// The same SQL directly on the engine, in this process.
engine = await openEngine(config, dataPaths(home))
const now = new Date(toMs)
for (const c of CASES) {
  const built =
    c.path === 'stats'
      ? buildStatsSql(engine, StatsInput.parse({ ...base, ...c.params }), now).queries
      : c.path === 'export'
        ? buildSearchSql(engine, { ...SearchInput.parse(base), limit: 10_000 }, now)
        : buildSearchSql(engine, SearchInput.parse({ ...base, ...c.params }), now)
  const statements = Array.isArray(built) ? built : [built]
  const times: number[] = []
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now()
    for (const statement of statements) {
      const { stream } = await engine.client.exec({ query: `${statement.sql}\nFORMAT JSONEachRow`, query_params: statement.params.values })
      for await (const _ of stream) {
        // read the whole result, as the server does
      }
    }
    if (i >= 2) times.push(performance.now() - t0)
  }
  direct[c.name] = { p50: percentile(times, 50), p95: percentile(times, 95) }
}

// What the skip indexes buy: the same queries with use_skip_indexes = 0 (rows read and time).
for (const c of CASES.filter((x) => ['rare word (q=kraken)', 'phrase (q="connection reset")', 'trace_id lookup', 'common word (q=completed)'].includes(x.name))) {
  const built = buildSearchSql(engine, SearchInput.parse({ ...base, ...c.params }), now)
  const measure = async (useIndexes: 0 | 1) => {
    const run = async () => {
      const { stream } = await engine.client.exec({
        query: `${built.sql}\nSETTINGS use_skip_indexes = ${useIndexes}\nFORMAT JSONEachRow`,
        query_params: built.params.values,
      })
      for await (const _ of stream) {
        // drain
      }
    }
    const t1 = performance.now()
    const { rowsRead } = await engine.measureRowsRead!(run)
    return { ms: performance.now() - t1, rows: rowsRead }
  }
  await measure(1)
  await measure(0)
  const on = await measure(1)
  const off = await measure(0)
  indexEffect.push(`| ${c.name} | ${fmt(on.rows)} | ${on.ms.toFixed(1)} | ${fmt(off.rows)} | ${off.ms.toFixed(1)} |`)
}
await engine.close()
}

const explore = EXPLORE
  ? await runExplore({ home, bin: BIN, config, teamKey, project: target, ingestToken: targetIngestToken, runs: RUNS, totalEntries: N })
  : []
rmSync(home, { recursive: true, force: true })

if (!ONLY_EXPLORE) {
  console.log('')
  console.log(`| query (${fmt(N)} entries in the project, +${fmt(N / 5)} in others; ${RUNS} runs) | rows | HTTP p50 ms | HTTP p95 ms | engine p50 ms | engine p95 ms | p95 HTTP/engine | target |`)
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const c of CASES) {
    const h = http[c.name]!
    const d = direct[c.name]!
    const target = c.path === 'export' ? '≤ 1000 ms' : '≤ 150 ms and ≤ 2×'
    console.log(`| ${c.name} | ${fmt(h.rows)} | ${h.p50.toFixed(1)} | ${h.p95.toFixed(1)} | ${d.p50.toFixed(1)} | ${d.p95.toFixed(1)} | ${(h.p95 / d.p95).toFixed(2)} | ${target} |`)
}
console.log('\n| query | rows read, indexes on | ms | rows read, use_skip_indexes = 0 | ms |')
console.log('| --- | --- | --- | --- | --- |')
for (const line of indexEffect) console.log(line)
}
for (const line of explore) console.log(line)
console.log(`\nstorage: ${(size.disk / 1024 / 1024).toFixed(1)} MiB on disk for ${fmt(size.rows)} entries vs ${(raw / 1024 / 1024).toFixed(1)} MiB of NDJSON: ${(raw / size.disk).toFixed(1)}x smaller`)
