/**
 * npm run bench:console — how fast the web console feels, in Debian's chromium.
 * Generates BENCH_ENTRIES (default 1,000,000) entries for one project over the last 24 h inside
 * the engine, starts the real serve and measures, from the console's own performance marks
 * (src/console/src/pages/explore: krafter:search-submit, krafter:rows-painted,
 * krafter:histogram-drawn):
 *  - cold load: a fresh browser context (empty cache) opening the explorer, from navigation
 *    start to the histogram drawn and to the first rows painted (BENCH_RUNS loads, default 10);
 *  - search: pressing Enter on a query to its first rows painted (BENCH_RUNS × 6 queries), each
 *    once the previous answer is complete (histogram and facets too), as a person reads it.
 * Prints p50/p95/max of each. Targets (issue 16): search p95 ≤ 300 ms, cold load ≤ 1 s.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import type { Page } from 'playwright-core'
import { parseConfig } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine } from '../src/engine/engine.js'
import { openMeta } from '../src/meta/db.js'
import { insertProject } from '../src/meta/projects.js'
import { getDefaultTeam } from '../src/meta/teams.js'
import { planInit } from '../src/ops/init.js'
import { launchBrowser } from '../test/helpers/browser.js'
import { waitForServeUrl } from './http.js'
import { generateEntries } from './search-data.js'

const N = Number(process.env.BENCH_ENTRIES ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 10)
const RANGE = process.env.BENCH_RANGE ?? '24h'
const BIN = path.resolve('bin/run.js')
const QUERIES = ['level:error', 'timeout', 'service:checkout', '"connection reset"', 'metadata.http.status:>=500', 'cache miss']

const home = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-console-'))
const { steps, state } = planInit({ dataDir: home, port: 0 })
for (const step of steps) await step.run(state)
const teamKey = state.result.team_api_key!
const meta = openMeta(dataPaths(home).meta)
const { project } = insertProject(meta, getDefaultTeam(meta)!.id, { name: 'bench-console', retention_days: 7, daily_limit_mb: 10_000_000 }, new Date())
meta.close()

const engine = await openEngine(parseConfig({}, 'bench', {}), dataPaths(home))
let started = performance.now()
console.log(`generating ${N.toLocaleString('en-US')} entries over the last 24 h…`)
await generateEntries(engine, project.id, N, 1, Date.now() - 86_400_000)
await engine.client.command({ query: 'ALTER TABLE krafter.log_entries MATERIALIZE PROJECTION p_volume', clickhouse_settings: { mutations_sync: '1' } })
await engine.client.command({ query: 'OPTIMIZE TABLE krafter.log_entries FINAL' })
console.log(`  generated in ${((performance.now() - started) / 1000).toFixed(0)} s`)
await engine.close()

const server = execa('node', [BIN, 'serve'], { env: { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }, reject: false, stdout: 'ignore', stderr: 'inherit' })
const url = await waitForServeUrl(home)
const browser = await launchBrowser()

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!
const line = (what: string, xs: number[]) =>
  console.log(`  ${what.padEnd(44)} p50 ${pct(xs, 50).toFixed(0).padStart(5)} ms  p95 ${pct(xs, 95).toFixed(0).padStart(5)} ms  max ${Math.max(...xs).toFixed(0).padStart(5)} ms  (${xs.length} runs)`)

/** The start time (ms since navigation) of the latest mark of that name, once there is one after `after`. */
const markAfter = (page: Page, name: string, after = -1) =>
  page.waitForFunction(
    ([n, a]) => {
      const marks = performance.getEntriesByName(n as string, 'mark')
      const last = marks[marks.length - 1]
      return last && last.startTime > (a as number) ? last.startTime : false
    },
    [name, after] as const,
    { timeout: 30_000, polling: 'raf' },
  ).then((h) => h.jsonValue() as Promise<number>)

const explorerUrl = (q = '') => `${url}/?project=${project.id}&range=${RANGE}${q ? `&q=${encodeURIComponent(q)}` : ''}`

try {
  // Cold loads: each in a new context (no cache, no cookie), signed in through the API first.
  const histogram: number[] = []
  const firstRows: number[] = []
  for (let i = 0; i < RUNS + 1; i++) {
    const context = await browser.newContext()
    const res = await context.request.post(`${url}/api/v1/sessions`, { data: { api_key: teamKey } })
    if (res.status() !== 201) throw new Error(`sign-in: ${res.status()}`)
    const page = await context.newPage()
    await page.goto(explorerUrl())
    const [h, r] = await Promise.all([markAfter(page, 'krafter:histogram-drawn'), markAfter(page, 'krafter:rows-painted')])
    if (i > 0) {
      // The first load also warms serve and the engine's caches, as a user's first visit would not repeat.
      histogram.push(h)
      firstRows.push(r)
    }
    await context.close()
  }
  console.log(`\nconsole over ${N.toLocaleString('en-US')} entries (${RANGE} range), chromium ${browser.version()}:`)
  line('cold load: navigation → histogram drawn', histogram)
  line('cold load: navigation → first rows painted', firstRows)

  // Searches: type a query, press Enter, until its first rows are painted.
  const context = await browser.newContext()
  await context.request.post(`${url}/api/v1/sessions`, { data: { api_key: teamKey } })
  const page = await context.newPage()
  await page.goto(explorerUrl())
  await markAfter(page, 'krafter:rows-painted')
  const search: number[] = []
  const byQuery = new Map<string, number[]>(QUERIES.map((q) => [q, []]))
  for (let run = 0; run < RUNS; run++) {
    for (const q of QUERIES) {
      const before = await page.evaluate(() => performance.now())
      await page.fill('#query-input', q)
      await page.press('#query-input', 'Enter')
      const submit = await markAfter(page, 'krafter:search-submit', before)
      const painted = await markAfter(page, 'krafter:rows-painted', submit)
      search.push(painted - submit)
      byQuery.get(q)!.push(painted - submit)
      // As a person would: read the answer (histogram and facets drawn too) before the next query.
      await markAfter(page, 'krafter:histogram-drawn', submit)
      await page.waitForSelector('[data-testid=facets][aria-busy=false]')
    }
  }
  line(`search: Enter → first rows painted (${QUERIES.length} queries)`, search)
  for (const [q, xs] of byQuery) line(`    q=${q}`, xs)
  console.log('  targets: search p95 ≤ 300 ms, cold load ≤ 1,000 ms')
  await context.close()
} finally {
  await browser.close()
  server.kill('SIGTERM')
  await server
  rmSync(home, { recursive: true, force: true })
}
