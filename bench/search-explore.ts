/**
 * The explore part of npm run bench:search (issue 15): facets, patterns and context through the
 * HTTP API of the real server (p50/p95 over BENCH_RUNS), the rows each reads on the engine, and
 * live tail latency: BENCH_TAIL_SUBSCRIBERS (50) SSE subscribers on the project while
 * BENCH_TAIL_RATE (5,000) entries/s go in through POST /logs/ingest/batch for BENCH_TAIL_SECONDS (20).
 */
import { readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { execa } from 'execa'
import type { Config } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine, type Engine } from '../src/engine/engine.js'
import { entryContext, ContextInput } from '../src/explore/context.js'
import { facetCounts, FacetsInput } from '../src/explore/facets.js'
import { messagePatterns, PatternsInput } from '../src/explore/patterns.js'
import { createPoster, waitForServeUrl } from './http.js'

const fmt = (n: number) => n.toLocaleString('en-US')
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

export interface ExploreOptions {
  home: string
  bin: string
  config: Config
  teamKey: string
  project: string
  ingestToken: string
  runs: number
  totalEntries: number
}

/** A path the generator (search-data.ts) writes on every entry. */
const FACET_FIELDS = 'level,service,metadata.http.status'

interface Case {
  name: string
  path: 'facets' | 'patterns' | 'context'
  params: (run: number) => Record<string, string>
  runs: number
  target: string
  limit?: number
}

/**
 * Subscribers run on a worker thread so parsing 50 × 5,000 events/s does not delay the ingest
 * clock on the main thread; both stamp with performance.timeOrigin + now(), one clock.
 * Plain JS (eval), so it needs no TypeScript loader.
 */
const SUBSCRIBER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const http = require('node:http')
const { url, path, token, subscribers, capacity } = workerData
const now = () => performance.timeOrigin + performance.now()
const got = Array.from({ length: subscribers }, () => new Float64Array(capacity).fill(NaN))
const dups = new Uint32Array(subscribers)
const strays = new Uint32Array(subscribers)
const other = {}
const reqs = []
let open = 0
const TAG = /tail-bench b=(\\d+) i=(\\d+)/
for (let s = 0; s < subscribers; s++) {
  const req = http.get(url + path, { headers: { authorization: 'Bearer ' + token, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) { parentPort.postMessage({ type: 'error', message: 'tail HTTP ' + res.statusCode }); return }
    res.setEncoding('utf8')
    let buf = ''
    let first = true
    res.on('data', (chunk) => {
      const t = now()
      if (first) { first = false; open++; if (open === subscribers) parentPort.postMessage({ type: 'open' }) }
      buf += chunk
      let end
      while ((end = buf.indexOf('\\n\\n')) !== -1) {
        const block = buf.slice(0, end)
        buf = buf.slice(end + 2)
        let name = 'message'
        let data = ''
        for (const line of block.split('\\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim()
          else if (line.startsWith('data:')) data += line.slice(5).trimStart()
        }
        if (name !== 'entry') { if (data !== '' || name !== 'message') other[name] = (other[name] || 0) + 1; continue }
        const m = TAG.exec(data)
        if (!m) { strays[s]++; continue }
        const e = Number(m[1]) * workerData.batch + Number(m[2])
        if (e >= capacity) { strays[s]++; continue }
        if (Number.isNaN(got[s][e])) got[s][e] = t
        else dups[s]++
      }
    })
  })
  req.on('error', (err) => parentPort.postMessage({ type: 'error', message: String(err) }))
  reqs.push(req)
}
parentPort.on('message', (msg) => {
  if (msg === 'count') {
    let n = 0
    for (const g of got) for (let e = 0; e < capacity; e++) if (!Number.isNaN(g[e])) n++
    parentPort.postMessage({ type: 'count', n })
  } else if (msg === 'stop') {
    for (const r of reqs) r.destroy()
    parentPort.postMessage({ type: 'result', got, dups, strays, other }, got.map((g) => g.buffer))
  }
})
`

export const runExplore = async (o: ExploreOptions): Promise<string[]> => {
  const headers = { authorization: `Bearer ${o.teamKey}` }
  const env = { KRAFTER_HOME: o.home, KRAFTER_LOG_LEVEL: 'warn' }
  const startServer = async () => {
    const server = execa('node', [o.bin, 'serve'], { env, reject: false, stdout: 'ignore', stderr: 'inherit' })
    const url = await waitForServeUrl(o.home)
    return { server, url }
  }
  const get = async (url: string, p: string, qs: Record<string, string>) => {
    const res = await fetch(`${url}/api/v1/logs/${p}?${new URLSearchParams(qs)}`, { headers })
    const body = await res.text()
    if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status} ${body.slice(0, 300)}`)
    return JSON.parse(body) as { data: unknown }
  }

  // 1. facets, patterns, context over HTTP.
  let { server, url } = await startServer()
  const nowMs = Date.now()
  const day = { project_id: o.project, from: String(nowMs - 86_400_000), to: String(nowMs) }
  const hour = { project_id: o.project, from: String(nowMs - 3_600_000), to: String(nowMs) }
  // Ids from searches spread over the day (one a 2.4 h step, each an hour's newest), so the
  // context runs look up different entries in different parts.
  const ids: string[] = []
  for (let k = 0; k < 10; k++) {
    const from = nowMs - 86_400_000 + k * 8_640_000 + 3_600_000
    const found = (await get(url, 'search', { project_id: o.project, from: String(from), to: String(from + 3_600_000), limit: '1' })).data as { id: string }[]
    if (found[0]) ids.push(found[0].id)
  }
  if (ids.length === 0) throw new Error('no entry found for the context lookups')
  // Seconds a run at 10M entries: fewer runs by default (BENCH_PATTERNS_24H_RUNS).
  const patterns24Runs = Number(process.env.BENCH_PATTERNS_24H_RUNS ?? Math.min(o.runs, 5))
  const cases: Case[] = [
    { name: `facets over 24 h (${FACET_FIELDS})`, path: 'facets', params: () => ({ ...day, fields: FACET_FIELDS }), runs: o.runs, target: '≤ 300 ms' },
    { name: 'patterns over 1 h', path: 'patterns', params: () => hour, runs: o.runs, target: '≤ 500 ms' },
    { name: 'patterns over 24 h', path: 'patterns', params: () => day, runs: patterns24Runs, target: '(none)' },
    { name: `context ±50 (${ids.length} ids across the day)`, path: 'context', params: (i) => ({ project_id: o.project, id: ids[i % ids.length]! }), runs: o.runs, target: '≤ 100 ms' },
  ]
  const http: Record<string, { p50: number; p95: number; rows: number; runs: number }> = {}
  for (const c of cases) {
    const times: number[] = []
    let rows = 0
    for (let i = 0; i < c.runs + 2; i++) {
      const t0 = performance.now()
      const { data } = await get(url, c.path, c.params(i))
      const ms = performance.now() - t0
      if (i >= 2) times.push(ms)
      rows =
        c.path === 'facets'
          ? (data as { total: number }).total
          : c.path === 'patterns'
            ? (data as unknown[]).length
            : (data as { before: unknown[]; after: unknown[] }).before.length + (data as { after: unknown[] }).after.length + 1
    }
    http[c.name] = { p50: percentile(times, 50), p95: percentile(times, 95), rows, runs: c.runs }
    console.log(`  ${c.name}: HTTP p50 ${http[c.name]!.p50.toFixed(1)} ms, p95 ${http[c.name]!.p95.toFixed(1)} ms`)
  }
  server.kill('SIGTERM')
  await server

  // 2. What each reads on the engine (and its time there), the same calls the routes make.
  const engine: Engine = await openEngine(o.config, dataPaths(o.home))
  const now = new Date(nowMs)
  const direct: Record<string, { rows: number; ms: number }> = {}
  for (const c of cases) {
    const call = (i: number): Promise<unknown> =>
      c.path === 'facets'
        ? facetCounts(engine, FacetsInput.parse(c.params(i)), now)
        : c.path === 'patterns'
          ? messagePatterns(engine, PatternsInput.parse(c.params(i)), now)
          : entryContext(engine, ContextInput.parse(c.params(i)), now)
    const slow = c.runs < o.runs
    if (!slow) await call(0)
    const rowsRead: number[] = []
    const ms: number[] = []
    // Timed apart from the rows-read counter (its own queries before and after).
    for (let i = 0; i < (slow ? 1 : Math.min(3, ids.length)); i++) {
      const t0 = performance.now()
      await call(i)
      ms.push(performance.now() - t0)
      rowsRead.push((await engine.measureRowsRead!(() => call(i))).rowsRead)
    }
    direct[c.name] = { rows: percentile(rowsRead, 50), ms: percentile(ms, 50) }
  }
  await engine.close()

  // 3. Live tail latency while ingesting.
  const SUBS = Number(process.env.BENCH_TAIL_SUBSCRIBERS ?? 50)
  const RATE = Number(process.env.BENCH_TAIL_RATE ?? 5000)
  const SECONDS = Number(process.env.BENCH_TAIL_SECONDS ?? 20)
  const BATCH = Number(process.env.BENCH_TAIL_BATCH ?? 100)
  const intervalMs = (BATCH / RATE) * 1000
  const batches = Math.round((SECONDS * 1000) / intervalMs)
  const capacity = batches * BATCH
  ;({ server, url } = await startServer())
  const worker = new Worker(SUBSCRIBER_WORKER, {
    eval: true,
    workerData: { url, path: `/api/v1/logs/tail?project_id=${o.project}`, token: o.teamKey, subscribers: SUBS, capacity, batch: BATCH },
  })
  const messages: { type: string; [k: string]: unknown }[] = []
  const waiters: (() => void)[] = []
  worker.on('message', (m) => {
    messages.push(m)
    for (const w of waiters.splice(0)) w()
  })
  const next = async (type: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = messages.findIndex((m) => m.type === type || m.type === 'error')
      if (i !== -1) {
        const m = messages.splice(i, 1)[0]!
        if (m.type === 'error') throw new Error(String(m.message))
        return m
      }
      if (Date.now() > deadline) throw new Error(`tail bench: no ${type} from the subscribers`)
      await new Promise<void>((r) => {
        waiters.push(r)
        setTimeout(r, 200)
      })
    }
  }
  await next('open')
  const clock = () => performance.timeOrigin + performance.now()
  const post = createPoster(url, { authorization: `Bearer ${o.ingestToken}`, 'content-type': 'application/x-ndjson' }, 16)
  const acked = new Float64Array(batches).fill(NaN)
  let failed = 0
  let rejected = 0
  const inflight: Promise<void>[] = []
  const cpuOf = (pid: number): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  }
  type Health = { ingest: { requests: number; inserts: number; rows: number; insert_ms: number } }
  const health = async () => ((await (await fetch(`${url}/healthz`)).json()) as Health).ingest
  const health0 = await health()
  const serverCpu0 = cpuOf(server.pid!)
  const benchCpu0 = process.cpuUsage()
  let lagMs = 0
  const t0 = performance.now()
  for (let b = 0; b < batches; b++) {
    const due = t0 + b * intervalMs
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    lagMs = Math.max(lagMs, performance.now() - due)
    const ts = new Date().toISOString()
    let body = ''
    for (let i = 0; i < BATCH; i++) {
      body += `${JSON.stringify({ timestamp: ts, level: 'info', service: 'tail-bench', message: `tail-bench b=${b} i=${i} request completed`, metadata: { bench: { b, i } } })}\n`
    }
    inflight.push(
      post('/api/v1/logs/ingest/batch', body).then(
        (res) => {
          acked[b] = clock()
          if (res.status !== 202) failed++
          else rejected += (JSON.parse(res.body) as { data: { rejected: number } }).data.rejected
        },
        () => {
          failed++
        },
      ),
    )
  }
  await Promise.all(inflight)
  const ingestSeconds = (performance.now() - t0) / 1000
  const serverCpu = (cpuOf(server.pid!) - serverCpu0) / ingestSeconds
  const benchUsage = process.cpuUsage(benchCpu0)
  const benchCpu = (benchUsage.user + benchUsage.system) / 1e6 / ingestSeconds
  const health1 = await health()
  const ackMs = acked.map((t, b) => t - (performance.timeOrigin + t0 + b * intervalMs))
  // Let the last entries arrive: until every subscriber has every entry, or 15 s more.
  const drainDeadline = Date.now() + 15_000
  for (;;) {
    worker.postMessage('count')
    const { n } = (await next('count')) as unknown as { n: number }
    if (n >= SUBS * capacity || Date.now() > drainDeadline) break
    await new Promise((r) => setTimeout(r, 250))
  }
  worker.postMessage('stop')
  const result = (await next('result')) as unknown as { got: Float64Array[]; dups: Uint32Array; strays: Uint32Array; other: Record<string, number> }
  await worker.terminate()
  server.kill('SIGTERM')
  await server

  const lat: number[] = []
  let missing = 0
  for (const g of result.got) {
    for (let e = 0; e < capacity; e++) {
      if (Number.isNaN(g[e]!)) missing++
      else lat.push(g[e]! - acked[Math.floor(e / BATCH)]!)
    }
  }
  const dups = result.dups.reduce((a, b) => a + b, 0)
  const strays = result.strays.reduce((a, b) => a + b, 0)
  const early = lat.filter((x) => x < 0).length

  const lines: string[] = []
  lines.push('')
  lines.push(`| explore (${fmt(o.totalEntries)} entries in the project) | runs | result size | rows read on the engine | engine ms | HTTP p50 ms | HTTP p95 ms | target (p95) |`)
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const c of cases) {
    const h = http[c.name]!
    const d = direct[c.name]!
    const size = c.path === 'facets' ? `total ${fmt(h.rows)}` : c.path === 'patterns' ? `${h.rows} patterns` : `${h.rows} entries`
    lines.push(`| ${c.name} | ${h.runs} | ${size} | ${fmt(d.rows)} | ${d.ms.toFixed(1)} | ${h.p50.toFixed(1)} | ${h.p95.toFixed(1)} | ${c.target} |`)
  }
  const expected = SUBS * capacity
  lines.push(
    `| live tail: ${SUBS} subscribers, ${fmt(capacity)} entries in ${BATCH}-entry batches every ${intervalMs} ms (target ${fmt(RATE)}/s, achieved ${fmt(Math.round(capacity / ingestSeconds))}/s) | ${fmt(lat.length)} (subscriber, entry) pairs | delivered ${fmt(lat.length)} of ${fmt(expected)}; missing ${fmt(missing)}, duplicates ${fmt(dups)} | | | ${lat.length ? percentile(lat, 50).toFixed(1) : '-'} | ${lat.length ? percentile(lat, 95).toFixed(1) : '-'} | ≤ 1000 ms, none missing |`,
  )
  lines.push('')
  lines.push(
    `tail: latency = event at the subscriber − 202 of the request that carried the entry; max ${lat.length ? percentile(lat, 100).toFixed(1) : '-'} ms, ${early} before the 202; ${failed} ingest requests failed, ${rejected} entries refused, ${strays} untagged or out-of-range entries, other events: ${JSON.stringify(result.other)}`,
  )
  lines.push(
    `tail: while ingesting, CPU of serve ${(serverCpu * 100).toFixed(0)} % and of this process (ingest client and subscriber thread) ${(benchCpu * 100).toFixed(0)} % of one core; sender at most ${lagMs.toFixed(0)} ms behind its schedule; a batch's 202 came p50 ${percentile([...ackMs], 50).toFixed(0)} / p95 ${percentile([...ackMs], 95).toFixed(0)} ms after its planned send; engine: ${fmt(health1.inserts - health0.inserts)} inserts for ${fmt(health1.requests - health0.requests)} requests, ${((health1.insert_ms - health0.insert_ms) / (health1.inserts - health0.inserts || 1)).toFixed(0)} ms per insert, inserting ${(((health1.insert_ms - health0.insert_ms) / 1000 / ingestSeconds) * 100).toFixed(0)} % of the time`,
  )
  return lines
}
