import { rmSync } from 'node:fs'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, cliFor, startServe, stopServe } from '../helpers/cli.js'

// serve's scheduler as an operator sees it: `status` (table and --json) and GET /metrics.
const home = tempDir('jobs-e2e')
const startedAt = Date.now()
// Six hours ahead, to the minute: the next daily run is today's (or tomorrow's) at that time.
const nightly = new Date(Math.floor((startedAt + 6 * 3_600_000) / 60_000) * 60_000)
const runAt = nightly.toISOString().slice(11, 16)
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn', KRAFTER_ALERTS_EVALUATE_EVERY_SECONDS: '5', KRAFTER_RETENTION_RUN_AT: runAt }
const cli = cliFor(env)
let serve: { proc: ResultPromise; url: string } | undefined

const statusJson = async () => {
  const res = await cli('status', '--json')
  expect(res.exitCode, res.stderr).toBe(0)
  return JSON.parse(res.stdout) as { jobs: Record<string, any>[] | null }
}

/** Scrapes /metrics until a series appears: the first alert pass is the event waited for. */
const metricsWith = async (series: string): Promise<string> => {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const text = await (await fetch(`${serve!.url}/metrics`)).text()
    if (text.includes(series)) return text
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${series} never appeared in /metrics`)
}

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  serve = await startServe(home, env)
})

afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

describe('background jobs of a running serve', () => {
  it('status lists the jobs with their schedule and next run', async () => {
    const { jobs } = await statusJson()
    expect(jobs?.map((j) => j.name)).toEqual(['alert_evaluation', 'retention', 'anonymous_streams'])
    const [alerts, retention, streams] = jobs!
    expect(streams).toMatchObject({ schedule: { every_seconds: 600 }, failures: 0 })
    expect(alerts).toMatchObject({ schedule: { every_seconds: 5 }, failures: 0 })
    expect(Date.parse(alerts!.next_run_at)).toBeGreaterThan(startedAt)
    expect(retention).toMatchObject({ schedule: { daily_at_utc: runAt }, next_run_at: nightly.toISOString(), runs: 0, last_result: null, last_error: null })
  })

  it('after the first alert pass, /metrics and status show the run', async () => {
    // With no rules the pass settles at once: the shape that wedged the evaluator in issue 11.
    const text = await metricsWith('krafter_job_runs_total{job="alert_evaluation",result="ok"}')
    expect(text).toMatch(/^krafter_job_last_duration_seconds\{job="alert_evaluation"\} \d/m)
    const success = Number(/^krafter_job_last_success_timestamp_seconds\{job="alert_evaluation"\} (\S+)$/m.exec(text)?.[1])
    expect(success * 1000).toBeGreaterThan(startedAt)
    expect(text).not.toContain('result="failed"')
    const alerts = (await statusJson()).jobs!.find((j) => j.name === 'alert_evaluation')!
    expect(alerts).toMatchObject({ last_result: 'ok', last_error: null, failures: 0 })
    expect(alerts.runs).toBeGreaterThanOrEqual(1)
    expect(alerts.last_duration_ms).toBeGreaterThanOrEqual(0)
    expect(Date.parse(alerts.next_run_at)).toBeGreaterThan(Date.parse(alerts.last_started_at))
    // The anonymous streams job also ran once at start (it finishes claims a crash interrupted).
    const streams = (await statusJson()).jobs!.find((j) => j.name === 'anonymous_streams')!
    expect(streams).toMatchObject({ runs: 1, last_result: 'ok', failures: 0 })
    const table = await cli('status')
    expect(table.exitCode, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/^job alert_evaluation +.*last ok at .*, 0 failed$/m)
    expect(table.stdout).toContain(`next ${nightly.toISOString()}, last never ran, 0 runs, 0 failed`)
  })
})

describe('without serve', () => {
  const idle = tempDir('jobs-e2e-idle')
  afterAll(() => rmSync(idle, { recursive: true, force: true }))

  it('status shows no jobs', async () => {
    const run = (...args: string[]) => execa('node', [BIN, ...args], { env: { ...env, KRAFTER_HOME: idle }, reject: false, timeout: 60_000 })
    expect((await run('init', '--json', '--port', '0')).exitCode).toBe(0)
    const res = await run('status', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ serve: { running: false }, jobs: [] })
  })
})
