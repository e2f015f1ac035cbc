/**
 * npm run bench:ingest — ingest throughput on a generated realistic data set.
 *  (a) the raw engine taking the NDJSON directly (INSERT … FORMAT JSONEachRow via the client),
 *      in 1,000- and 100,000-line inserts, and (a'') reading the same NDJSON file itself
 *  (b) the running server over HTTP, 1,000-line batches, a few concurrent clients
 *  (c) single-entry requests with keep-alive
 *  (d) the standard protocols over the same data, 1,000 records per request, the same clients:
 *      OTLP protobuf (the same data, and as the JS SDK sends it), Loki push (snappy protobuf),
 *      Elasticsearch bulk; then (b) again, so each
 *      protocol's ratio is against the NDJSON batches measured around it in the same run
 * Prints entries/s for each and the ratio b/a. BENCH_ENTRIES (default 1,000,000) sizes it;
 *  (e) NDJSON batches with the default redaction rules on and off, alternating, in the same run
 * BENCH_COMMIT=spool runs (b)-(e) against ingest.commit: spool (default engine); every rate then
 * stops its clock only once the spool is empty, i.e. the engine has every entry.
 * BENCH_ONLY=b|c|protocols|redaction runs one part ("protocols": b, the protocols, b again;
 * "redaction": b, then e). BENCH_PROTOCOLS=off / BENCH_REDACTION=off skip (d) / (e).
 */
import { readdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { Readable } from 'node:stream'
import path from 'node:path'
import { execa } from 'execa'
import { parseConfig } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine } from '../src/engine/engine.js'
import { logTable, migrateEngine } from '../src/engine/schema.js'
import { ensureDataSet } from './data.js'
import { createPoster, runLanes, waitForServeUrl } from './http.js'
import { bulkBodyOf, lokiBody, otlpBody, otlpSameDataBody, storedAsNdjson } from './protocol-bodies.js'

const N = Number(process.env.BENCH_ENTRIES ?? 1_000_000)
const BATCH = 1000
const BATCH_CLIENTS = Number(process.env.BENCH_BATCH_CLIENTS ?? 4)
// Many keep-alive connections, as a fleet of services holds; the batcher groups their requests.
const SINGLE_CLIENTS = Number(process.env.BENCH_SINGLE_CLIENTS ?? 256)
const SINGLE_REQUESTS = Number(process.env.BENCH_SINGLE_REQUESTS ?? 100_000)
const BIN = path.resolve('bin/run.js')
const COMMIT = process.env.BENCH_COMMIT ?? 'engine'

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)
const fmt = (n: number) => n.toLocaleString('en-US')

const file = await ensureDataSet(N)
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
const rawBytes = statSync(file).size
console.log(`data set: ${fmt(lines.length)} entries, ${(rawBytes / 1024 / 1024).toFixed(1)} MiB NDJSON, ${Math.round(rawBytes / lines.length)} bytes/entry avg`)
const chunks = (size: number) => {
  const out: string[] = []
  for (let i = 0; i < lines.length; i += size) out.push(lines.slice(i, i + size).join('\n') + '\n')
  return out
}

// (a) raw engine, in this process, on its own data dir.
const rawDir = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-raw-'))
const config = parseConfig({}, 'bench', {})
const engine = await openEngine(config, dataPaths(rawDir))
await migrateEngine(engine)
// Session settings once: chDB runs per-query settings as extra statements.
for (const set of ['input_format_skip_unknown_fields = 1', "date_time_input_format = 'best_effort'"]) {
  await engine.client.command({ query: `SET ${set}` })
}
const rawInsert = async (chunkSize: number) => {
  await engine.client.command({ query: `TRUNCATE TABLE ${logTable(engine)}` })
  const started = performance.now()
  for (const body of chunks(chunkSize)) {
    const { stream } = await engine.client.exec({
      query: `INSERT INTO ${logTable(engine)} FORMAT JSONEachRow`,
      values: Readable.from([body], { objectMode: false }),
    })
    stream.destroy()
  }
  return rate(lines.length, performance.now() - started)
}
const ONLY_C = process.env.BENCH_ONLY === 'c'
const ONLY_PROTOCOLS = process.env.BENCH_ONLY === 'protocols'
const ONLY_REDACTION = process.env.BENCH_ONLY === 'redaction'
const ONLY_B = process.env.BENCH_ONLY === 'b' || ONLY_PROTOCOLS || ONLY_REDACTION
/**
 * (a'') the engine reading the same NDJSON file itself (file() in one INSERT … SELECT): no
 * client, no HTTP, its own parallel parsing. The columns the file lacks (project_id, id,
 * received_at) take their defaults, as in (a).
 */
const engineFile = async () => {
  await engine.client.command({ query: `TRUNCATE TABLE ${logTable(engine)}` })
  const started = performance.now()
  const cpu0 = process.cpuUsage()
  await engine.client.command({
    query: `INSERT INTO ${logTable(engine)} (timestamp, level, service, stream, message, trace_id, span_id, metadata)
      SELECT * FROM file({file:String}, 'JSONEachRow', 'timestamp DateTime64(6, \\'UTC\\'), level String, service String, stream String, message String, trace_id String, span_id String, metadata JSON')`,
    query_params: { file },
  })
  const n = Number((await (await engine.client.query({ query: `SELECT count() AS n FROM ${logTable(engine)}`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n)
  if (n !== lines.length) throw new Error(`(a'') stored ${n} of ${lines.length} entries`)
  const cpu = process.cpuUsage(cpu0)
  rawFileCpuUs = (cpu.user + cpu.system) / lines.length
  return rate(lines.length, performance.now() - started)
}
/** CPU per entry of (a''), all the engine's threads: the least the engine spends on a row. */
let rawFileCpuUs = 0
const rawSmall = ONLY_C || ONLY_B ? 1 : await rawInsert(BATCH)
const rawLarge = ONLY_C || ONLY_B ? 1 : await rawInsert(100_000)
const rawFile = ONLY_C || ONLY_B ? 1 : await engineFile()
// Like for like: the engine taking the same 1,000-line batches the server gets over HTTP.
const raw = rawSmall
console.log(`(a) raw engine: ${fmt(rawSmall)} entries/s in ${BATCH}-line inserts, ${fmt(rawLarge)} entries/s in 100,000-line inserts, ${fmt(rawFile)} entries/s reading the file itself (${rawFileCpuUs.toFixed(1)} µs of CPU per entry)`)
await engine.close()
rmSync(rawDir, { recursive: true, force: true })

// (b) and (c): the real server as a child process.
const home = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-srv-'))
const env = {
  KRAFTER_HOME: home,
  KRAFTER_INGEST_RATE_PER_SECOND: '1000000000',
  KRAFTER_INGEST_BURST: '1000000000',
  KRAFTER_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  KRAFTER_LOG_PRETTY: 'false',
  // BENCH_COMMIT=spool: the ingest spool (ingest.commit); every rate then runs until the spool is empty.
  KRAFTER_INGEST_COMMIT: COMMIT,
}
await execa('node', [BIN, 'init', '--port', '0', '--json'], { env })
const project = JSON.parse((await execa('node', [BIN, 'project', 'create', 'bench', '--daily-limit-mb', '10000000', '--json'], { env })).stdout)
const server = execa('node', [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), BIN, 'serve'], { env, stdout: 'ignore', stderr: 'inherit', reject: false })
const url = await waitForServeUrl(home)
const headers = { authorization: `Bearer ${project.ingest_token}` }
const health = async () =>
  (await (await fetch(`${url}/healthz`)).json()) as {
    ingest: { requests: number; inserts: number; rows: number; insert_ms: number; rejected_records: number; spool: { rows: number } | null }
  }
/** With the spool, entries are stored once the engine has them: the clock stops when it is empty. */
const settled = async (): Promise<void> => {
  while (((await health()).ingest.spool?.rows ?? 0) > 0) await new Promise((r) => setTimeout(r, 10))
}

/** CPU seconds used so far by a process, or one of its threads (utime + stime from /proc). */
const cpuOf = (pid: number, tid?: number): number => {
  const fields = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const batchPost = createPoster(url, { ...headers, 'content-type': 'application/x-ndjson' }, BATCH_CLIENTS)
const batches = ONLY_C ? [] : chunks(BATCH)
let failures = 0
/** One pass of NDJSON batches (the 1,000-line bodies, BATCH_CLIENTS lanes): entries/s; failed requests go to `failures`. */
const ndjsonPass = async (bodies: string[]): Promise<number> => {
  let next = 0
  const started = performance.now()
  await runLanes(BATCH_CLIENTS, () => bodies[next++], async (body) => {
    const res = await batchPost('/api/v1/logs/ingest/batch', body)
    if (res.status !== 202) failures++
  })
  await settled()
  return rate(lines.length, performance.now() - started)
}
const startedB = performance.now()
const threadsOf = (pid: number): Map<string, number> => {
  const out = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      out.set(name, (out.get(name) ?? 0) + cpuOf(pid, Number(tid)))
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}
const threadsB0 = threadsOf(server.pid!)
const cpuB0 = { all: cpuOf(server.pid!), main: cpuOf(server.pid!, server.pid!) }
const server_b = await ndjsonPass(batches)
const afterB = await health()
const elapsedB = (performance.now() - startedB) / 1000
const cpuB1 = { all: cpuOf(server.pid!), main: cpuOf(server.pid!, server.pid!) }
const threadsB = [...threadsOf(server.pid!)].map(([name, s]) => [name, s - (threadsB0.get(name) ?? 0)] as const).filter(([, s]) => s > 0.2).sort((a, b) => b[1] - a[1])
if (!ONLY_C) console.log(`(b) server threads' CPU during the pass, % of one core: ${threadsB.map(([n, s]) => `${n} ${((s / elapsedB) * 100).toFixed(0)}`).join(', ')}`)
/**
 * Where the server's CPU goes per entry of (b): its main thread (HTTP, decoding, the entry
 * rules, redaction, encoding, the spool's appends), its other threads (the engine's inserts and
 * merges, GC and libuv helpers) during the pass, and the engine's merges of the pass's parts
 * after it, until serve is idle (a second under 5 % of a core, at most 120 s).
 */
let trailing = 0
if (!ONLY_C) {
  for (let i = 0; i < 120; i++) {
    const before = cpuOf(server.pid!)
    await new Promise((r) => setTimeout(r, 1000))
    const used = cpuOf(server.pid!) - before
    trailing += used
    if (used < 0.05) break
  }
}
const perEntryUs = (seconds: number) => (seconds / lines.length) * 1e6
const cpuSplitB = {
  main: perEntryUs(cpuB1.main - cpuB0.main),
  others: perEntryUs(cpuB1.all - cpuB0.all - (cpuB1.main - cpuB0.main)),
  after: perEntryUs(trailing),
}
if (!ONLY_C) console.log(`(b) server (ingest.commit ${COMMIT}), HTTP ${BATCH}-line batches x ${BATCH_CLIENTS} clients: ${fmt(server_b)} entries/s (${afterB.ingest.inserts} engine inserts for ${afterB.ingest.requests} requests, engine busy ${((afterB.ingest.insert_ms / 1000 / elapsedB) * 100).toFixed(0)} % of the time, ${failures} failed, ${afterB.ingest.rejected_records} records refused)`)
if (!ONLY_C) {
  const total = cpuSplitB.main + cpuSplitB.others + cpuSplitB.after
  console.log(
    `(b) server CPU per entry: main thread ${cpuSplitB.main.toFixed(1)} µs, other threads (engine inserts and merges, GC) ${cpuSplitB.others.toFixed(1)} µs during the pass + ${cpuSplitB.after.toFixed(1)} µs of merges after it = ${total.toFixed(1)} µs; 50,000 entries/s at that cost: ${((total * 50_000) / 1e6).toFixed(2)} cores, the main thread ${((cpuSplitB.main * 50_000) / 1e6).toFixed(2)}`,
  )
}

/**
 * (e) the default redaction rules on and off (issue 14): the same NDJSON batches, alternating
 * on, off, … (BENCH_REDACTION_PAIRS pairs, default 3) so drift of the shared machine falls on both; rules switched through the API
 * (PUT /redaction/rules/:id) with serve's local admin token, as an operator would.
 */
const redactionRuns: { on: number[]; off: number[] } = { on: [], off: [] }
if (!ONLY_C && process.env.BENCH_REDACTION !== 'off' && (process.env.BENCH_ONLY === undefined || ONLY_REDACTION)) {
  const admin = { authorization: `Bearer ${(JSON.parse(readFileSync(path.join(home, 'serve.json'), 'utf8')) as { admin_token: string }).admin_token}`, 'content-type': 'application/json' }
  const rulesRes = await fetch(`${url}/api/v1/redaction/rules?project_id=${project.id}`, { headers: admin })
  const defaults = ((await rulesRes.json()) as { data: { id: string; builtin: boolean; enabled: boolean }[] }).data.filter((r) => r.builtin && r.enabled)
  const setRules = async (enabled: boolean) => {
    for (const rule of defaults) {
      const res = await fetch(`${url}/api/v1/redaction/rules/${rule.id}`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled }) })
      if (res.status !== 200) throw new Error(`PUT ${rule.id}: ${res.status} ${await res.text()}`)
    }
  }
  const pairs = Number(process.env.BENCH_REDACTION_PAIRS ?? 3)
  for (const enabled of Array.from({ length: pairs * 2 }, (_, i) => i % 2 === 0)) {
    await setRules(enabled)
    const r = await ndjsonPass(batches)
    ;(enabled ? redactionRuns.on : redactionRuns.off).push(r)
    console.log(`(e) NDJSON batches, default redaction rules ${enabled ? 'on' : 'off'} (${defaults.length} rules): ${fmt(r)} entries/s`)
  }
  await setRules(true)
}

/**
 * (d) each protocol posts the same entries in 1,000-record requests with the same clients as
 * (b); the bodies are built before the clock starts (a shipper has them already encoded).
 */
const protocolRuns: { name: string; rate: number; failed: number; sameRows?: number }[] = []
let server_b2 = server_b
if (!ONLY_C && process.env.BENCH_PROTOCOLS !== 'off' && (ONLY_PROTOCOLS || process.env.BENCH_ONLY === undefined)) {
  const entries = batches.map((chunk) => chunk.split('\n').filter(Boolean).map((line) => JSON.parse(line)))
  const phase = async (name: string, path: string, headers: Record<string, string>, ok: number, bodies: (string | Buffer)[], sameRows?: string[]) => {
    const post = createPoster(url, headers, BATCH_CLIENTS)
    let next = 0
    let failed = 0
    const started = performance.now()
    await runLanes(BATCH_CLIENTS, () => bodies[next++], async (body) => {
      const res = await post(path, body)
      if (res.status !== ok || (name === 'elasticsearch' && res.body.startsWith('{"took"') && res.body.includes('"errors":true'))) failed++
    })
    await settled()
    const result: (typeof protocolRuns)[number] = { name, rate: rate(lines.length, performance.now() - started), failed }
    if (sameRows) {
      // The same stored rows as NDJSON batches, right after: the protocol's own cost.
      result.sameRows = await ndjsonPass(sameRows)
    }
    console.log(`(d) ${name}: ${fmt(result.rate)} entries/s (${failed} failed requests)${result.sameRows ? `; the same stored rows as NDJSON: ${fmt(result.sameRows)} entries/s` : ''}`)
    protocolRuns.push(result)
    failures += failed
  }
  const token = project.ingest_token as string
  const otlp = entries.map(otlpBody)
  const otlpSame = entries.map(otlpSameDataBody)
  const loki = entries.map(lokiBody)
  const bulk = entries.map(bulkBodyOf)
  const otlpHeaders = { authorization: `Bearer ${token}`, 'content-type': 'application/x-protobuf' }
  // The same data: the resource carries only service.name and there is no scope, so the rows
  // stored are exactly (b)'s. Then as the OTel SDK sends it: 5 resource and 2 scope attributes
  // more on every stored entry (metadata.resource, metadata.scope, as API.md maps them).
  await phase('OTLP protobuf, the same data', '/v1/logs', otlpHeaders, 200, otlpSame)
  await phase('OTLP protobuf as the JS SDK sends it', '/v1/logs', otlpHeaders, 200, otlp, otlp.map(storedAsNdjson.otlp))
  await phase('Loki push (snappy protobuf)', '/loki/api/v1/push', { authorization: `Basic ${Buffer.from(`bench:${token}`).toString('base64')}`, 'content-type': 'application/x-protobuf' }, 204, loki, loki.map(storedAsNdjson.loki))
  await phase('elasticsearch', '/es/_bulk', { authorization: `ApiKey ${token}`, 'content-type': 'application/x-ndjson' }, 200, bulk, bulk.map(storedAsNdjson.elasticsearch))
  server_b2 = await ndjsonPass(batches)
  console.log(`(b2) server, NDJSON batches again: ${fmt(server_b2)} entries/s`)
}

/**
 * (c) with wrk when the machine has it (apt-get install wrk): a C load generator leaves the
 * server the CPU that a Node client would take on this 2-core machine. BENCH_CLIENT=node forces
 * the Node client.
 */
const runWrk = async (seconds: number, target = url): Promise<{ rps: number; non2xx: number; requests: number } | undefined> => {
  if (process.env.BENCH_CLIENT === 'node') return undefined
  const probe = await execa('wrk', ['--version'], { reject: false })
  if (probe.failed && probe.exitCode !== 1) return undefined
  const bodies = lines.slice(0, 2000).map((l) => `[==[${l}]==]`).join(',\n')
  const script = path.join(home, 'single.lua')
  writeFileSync(
    script,
    `local bodies = {${bodies}}\nlocal i = 0\n` +
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${project.ingest_token}"\n` +
      `request = function() i = i % #bodies + 1; return wrk.format(nil, "/api/v1/logs/ingest", nil, bodies[i]) end\n`,
  )
  const out = (await execa('wrk', ['-t1', `-c${SINGLE_CLIENTS}`, `-d${seconds}s`, '--latency', '-s', script, target])).stdout
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  console.log(out.split('\n').filter((l) => /Latency|50%|99%|Requests\/sec|requests in/.test(l)).map((l) => `    wrk: ${l.trim()}`).join('\n'))
  return { rps: Math.round(rps), non2xx, requests }
}

// Let the merges of phase (b)'s parts finish, so (c) is measured on its own load. After 15 s,
// (c) measured 4.4k-5.8k requests/s in full runs against 5.6k-7.3k run alone; after 60 s, 6.1k.
if (!ONLY_C && !ONLY_B) await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 60_000)))

const singlePost = createPoster(url, { ...headers, 'content-type': 'application/json' }, SINGLE_CLIENTS)
let c = 0
const serverCpu0 = cpuOf(server.pid!)
const clientCpu0 = process.cpuUsage()
const startedC = performance.now()
const viaWrk = ONLY_B ? { rps: 0, non2xx: 0, requests: 0 } : await runWrk(Number(process.env.BENCH_SINGLE_SECONDS ?? 20))
if (viaWrk) {
  failures += viaWrk.non2xx
} else {
  await runLanes(SINGLE_CLIENTS, () => (c < SINGLE_REQUESTS ? lines[c++ % lines.length] : undefined), async (body) => {
    const res = await singlePost('/api/v1/logs/ingest', body)
    if (res.status !== 202) failures++
  })
}
// With the spool, the requests wrk saw answered count once the engine has them: its clock too.
await settled()
const elapsedC = (performance.now() - startedC) / 1000
const single = viaWrk ? (COMMIT === 'spool' ? Math.round(viaWrk.requests / elapsedC) : viaWrk.rps) : rate(SINGLE_REQUESTS, elapsedC * 1000)
const serverCpu = (cpuOf(server.pid!) - serverCpu0) / elapsedC
const clientUsage = process.cpuUsage(clientCpu0)
const clientCpu = (clientUsage.user + clientUsage.system) / 1e6 / elapsedC
const afterC = await health()
const requestsC = afterC.ingest.requests - afterB.ingest.requests
const insertsC = afterC.ingest.inserts - afterB.ingest.inserts
const insertMsC = afterC.ingest.insert_ms - afterB.ingest.insert_ms
console.log(`(c) server (ingest.commit ${COMMIT}), single-entry requests x ${SINGLE_CLIENTS} connections (keep-alive, ${viaWrk ? 'wrk' : 'Node client'}): ${fmt(single)} requests/s; ${fmt(requestsC)} requests → ${fmt(insertsC)} engine inserts (${(requestsC / Math.max(1, insertsC)).toFixed(1)} requests per insert, ${(insertMsC / Math.max(1, insertsC)).toFixed(1)} ms per insert); CPU: server ${(serverCpu * 100).toFixed(0)} %, ${viaWrk ? 'load generator: wrk' : `load generator ${(clientCpu * 100).toFixed(0)} %`} of one core`)

server.kill('SIGTERM')
await server

/**
 * (c0) what this machine serves at all: the same wrk requests against an empty handler that
 * reads the body and answers 202, in node:http and in Fastify (the server's framework), each
 * a child process like the server. The ceiling single-entry ingest works under here.
 */
const BARE = {
  'node:http': `import http from 'node:http'
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(202, { 'content-type': 'application/json' }); res.end('{"accepted":1,"rejected":0}') }) })
s.listen(0, '127.0.0.1', () => console.log(s.address().port))`,
  Fastify: `import Fastify from 'fastify'
const app = Fastify()
app.post('/api/v1/logs/ingest', async (req, reply) => { reply.code(202); return { accepted: 1, rejected: 0 } })
await app.listen({ port: 0, host: '127.0.0.1' })
console.log(app.server.address().port)`,
}
const bare: { name: string; rps: number }[] = []
if (!ONLY_B && process.env.BENCH_CLIENT !== 'node') {
  for (const [name, code] of Object.entries(BARE)) {
    const child = execa('node', ['--input-type=module', '-e', code], { cwd: process.cwd(), reject: false })
    const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())))
    const r = await runWrk(Number(process.env.BENCH_BARE_SECONDS ?? 10), `http://127.0.0.1:${port}`)
    child.kill('SIGTERM')
    await child
    if (r) {
      bare.push({ name, rps: r.rps })
      console.log(`(c0) empty ${name} handler, the same requests (wrk): ${fmt(r.rps)} requests/s`)
    }
  }
}
rmSync(home, { recursive: true, force: true })

console.log('')
console.log('| measure | result | target |')
console.log('| --- | --- | --- |')
// A partial run (BENCH_ONLY) prints only what it measured: no ratio against an unmeasured (a).
if (!ONLY_C && !ONLY_B) {
  console.log(`| (a) raw engine, JSONEachRow via the client, 1,000-line inserts | ${fmt(raw)} entries/s | baseline |`)
  console.log(`| (a') raw engine, 100,000-line inserts | ${fmt(rawLarge)} entries/s | |`)
  console.log(`| (a'') raw engine reading the NDJSON file itself | ${fmt(rawFile)} entries/s, ${rawFileCpuUs.toFixed(1)} µs of CPU per entry | (the engine's best case) |`)
}
if (!ONLY_C) console.log(`| (b) server, ingest.commit ${COMMIT}, HTTP 1,000-line NDJSON batches | ${fmt(server_b)} entries/s | ≥ 50,000 entries/s |`)
if (!ONLY_C && !ONLY_B) {
  console.log(`| b/a | ${((server_b / raw) * 100).toFixed(1)} % | ≥ 60 % |`)
  console.log(`| b/a' | ${((server_b / rawLarge) * 100).toFixed(1)} % | |`)
  console.log(`| b/a'' | ${((server_b / rawFile) * 100).toFixed(1)} % | |`)
}
if (protocolRuns.length > 0) {
  const ndjson = (server_b + server_b2) / 2
  console.log(`| (b, b2) NDJSON batches before and after the protocols | ${fmt(server_b)} / ${fmt(server_b2)} entries/s | baseline of (d) |`)
  for (const p of protocolRuns) {
    console.log(`| (d) ${p.name}, 1,000-record requests | ${fmt(p.rate)} entries/s, ${((p.rate / ndjson) * 100).toFixed(1)} % of NDJSON | ≥ 80 % |`)
    if (p.sameRows) console.log(`| (d) ${p.name} / NDJSON of the rows it stores (${fmt(p.sameRows)} entries/s) | ${((p.rate / p.sameRows) * 100).toFixed(1)} % | the protocol's own cost |`)
  }
}
if (redactionRuns.on.length > 0) {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  const on = mean(redactionRuns.on)
  const off = mean(redactionRuns.off)
  console.log(`| (e) NDJSON batches, default redaction rules on / off | ${fmt(on)} / ${fmt(off)} entries/s (runs: ${redactionRuns.on.map(fmt).join(', ')} / ${redactionRuns.off.map(fmt).join(', ')}) | |`)
  // Each on pass against the off pass right after it: drift of the shared machine cancels within a pair.
  const ratios = redactionRuns.on.map((r, i) => r / redactionRuns.off[i]!).sort((a, b) => a - b)
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
  console.log(`| (e) on / off | ${pct(on / off)} (pairs: median ${pct(ratios[Math.floor(ratios.length / 2)]!)}, ${pct(ratios[0]!)}–${pct(ratios.at(-1)!)}) | ≥ 85 % |`)
}
if (!ONLY_B) console.log(`| (c) server, ingest.commit ${COMMIT}, single-entry requests | ${fmt(single)} requests/s | ≥ 8,000 |`)
for (const b of bare) console.log(`| (c0) an empty ${b.name} handler, the same requests | ${fmt(b.rps)} requests/s; (c) is ${((single / b.rps) * 100).toFixed(1)} % of it | the machine's ceiling |`)
if (!ONLY_C) console.log(`| (b) server CPU per entry: main thread / other threads / merges after | ${cpuSplitB.main.toFixed(1)} / ${cpuSplitB.others.toFixed(1)} / ${cpuSplitB.after.toFixed(1)} µs | 50,000/s needs ≤ 40 µs in all on 2 cores |`)
console.log(`| failed requests | ${failures} | 0 |`)
console.log(`| records refused by the server | ${afterC.ingest.rejected_records} | 0 |`)
