import { createHash, randomBytes } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { dataPaths } from '../../src/config/paths.js'
import { openEngine } from '../../src/engine/engine.js'
import { openMeta } from '../../src/meta/db.js'
import { tempDir } from '../helpers/app.js'
import { apiFor, cliFor, json, startServe, stopServe, waitFor } from '../helpers/cli.js'

/*
 * Issue 17: a claim moves a full anonymous stream (10,000 events, the default cap) into a
 * project; serve is SIGKILLed in the middle of it, at a known point (the test-only pause after
 * the first 3,000 rows, src/streams/claim.ts), and after the restart every event is in the
 * project exactly once and the stream's own rows are gone.
 */
const home = tempDir('stream-claim-crash')
const pauseFile = path.join(home, 'claim-paused')
const env = {
  KRAFTER_HOME: home,
  KRAFTER_LOG_LEVEL: 'warn',
  KRAFTER_ANONYMOUS_STREAMS_RATE_PER_MINUTE: '100000',
  KRAFTER_ANONYMOUS_STREAMS_BURST: '100000',
}
const pausing = { ...env, KRAFTER_TEST_CLAIM_PAUSE_AFTER_ROWS: '3000', KRAFTER_TEST_CLAIM_PAUSE_FILE: pauseFile }
const cli = cliFor(env)
const EVENTS = 10_000

let serve: Awaited<ReturnType<typeof startServe>> | undefined
let teamKey = ''
const api = apiFor(() => serve!.url, () => teamKey)
afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

const newToken = () => randomBytes(24).toString('base64url')
const sendEvents = (token: string, body: string) =>
  fetch(`${serve!.url}/api/v1/streams/${token}/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })
const info = async (token: string) => (await fetch(`${serve!.url}/api/v1/streams/${token}/info`)).json() as Promise<any>
const streamTotal = async (projectId: string, stream: string): Promise<number> => {
  const res = await api('GET', `/logs/facets?project_id=${projectId}&stream=${stream}&fields=level`)
  expect(res.status).toBe(200)
  return res.body.data.total
}

describe('a claim interrupted by SIGKILL', () => {
  it('finishes after the restart with every event in the project exactly once and the stream empty', { timeout: 300_000 }, async () => {
    const init = await cli('init', '--port', '0', '--json')
    expect(init.exitCode, init.stderr).toBe(0)
    teamKey = json(init).team_api_key
    const project = json(await cli('project', 'create', 'trial', '--json'))
    serve = await startServe(home, pausing)

    // 10,000 events in 100 requests of 100, ten at a time, each with its own timestamp.
    const token = newToken()
    const base = Date.now() - 3_600_000
    const lines = Array.from({ length: EVENTS }, (_, i) => JSON.stringify({ message: `e-${i}`, timestamp: new Date(base + i).toISOString(), service: 'crash' }))
    for (let i = 0; i < EVENTS; i += 1000) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, j) => sendEvents(token, lines.slice(i + j * 100, i + (j + 1) * 100).join('\n'))))
      for (const a of answers) expect(a.status).toBe(202)
    }
    const before = await info(token)
    expect(before.data).toMatchObject({ status: 'active', event_count: EVENTS })
    // One more is over the cap.
    expect((await sendEvents(token, '{"message":"over"}')).status).toBe(429)

    const claim = fetch(`${serve.url}/api/v1/streams/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${teamKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token, project_id: project.id }),
    }).then(
      (res) => ({ status: res.status }),
      (err: Error) => ({ error: err.message }),
    )
    // The claim has copied its first 3,000 rows and waits: the kill lands mid-claim.
    await waitFor(() => (existsSync(pauseFile) ? true : undefined), 120_000)
    const stream = `anonymous-${createHash('sha256').update(token).digest('hex').slice(0, 12)}`
    expect(await streamTotal(project.id, stream)).toBe(3000)
    expect((await info(token)).data.status).toBe('claimed')
    expect((await sendEvents(token, '{"message":"during the claim"}')).status).toBe(410)

    serve.proc.kill('SIGKILL')
    expect((await serve.proc).signal).toBe('SIGKILL')
    expect(await claim).toHaveProperty('error')
    rmSync(pauseFile)

    // Restarted (without the pause): serve finishes the claim by itself at start.
    serve = await startServe(home, env)
    await expect
      .poll(async () => (await api('GET', '/admin/jobs')).body.data.find((j: { name: string }) => j.name === 'anonymous_streams')?.last_result, { timeout: 120_000 })
      .toBe('ok')
    expect(await streamTotal(project.id, stream)).toBe(EVENTS)

    // A retry by the same project, from the CLI through serve, answers the finished claim.
    const retry = await cli('stream', 'claim', token, '--project', 'trial', '--json')
    expect(retry.exitCode, retry.stderr).toBe(0)
    expect(json(retry)).toMatchObject({ project_id: project.id, stream, events: EVENTS, bytes: before.data.bytes, via: 'server' })
    expect(await streamTotal(project.id, stream)).toBe(EVENTS)

    // A second stream claimed from the CLI while serve is stopped (it opens the engine itself).
    const second = newToken()
    expect((await sendEvents(second, lines.slice(0, 50).join('\n'))).status).toBe(202)
    await stopServe(serve)
    const direct = await cli('stream', 'claim', second, '--project', project.id, '--json')
    expect(direct.exitCode, direct.stderr).toBe(0)
    expect(json(direct)).toMatchObject({ events: 50, via: 'direct' })

    // Exact counts, read from the engine itself with serve stopped.
    const meta = openMeta(dataPaths(home).meta)
    const sources = meta.prepare('SELECT id, status FROM anonymous_streams').all() as { id: string; status: string }[]
    const usage = meta.prepare('SELECT entries FROM usage_daily WHERE project_id = ?').all(project.id) as { entries: number }[]
    meta.close()
    expect(sources.map((s) => s.status)).toEqual(['claimed', 'claimed'])
    expect(usage.reduce((n, u) => n + u.entries, 0)).toBe(EVENTS + 50)
    const engine = await openEngine(loadConfig(dataPaths(home).config), dataPaths(home))
    try {
      const query = async (sql: string, params: Record<string, unknown>) => (await (await engine.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<Record<string, number | string>>())[0]!
      const moved = await query(
        `SELECT count() AS n, uniqExact(id) AS ids, uniqExact(message) AS messages,
                countIf(toUnixTimestamp64Milli(timestamp) - {base:Int64} = toInt64(substring(message, 3))) AS on_time
         FROM krafter.log_entries WHERE project_id = {p:UUID} AND stream = {s:String}`,
        { p: project.id, s: stream, base },
      )
      expect(Object.fromEntries(Object.entries(moved).map(([k, v]) => [k, Number(v)]))).toEqual({ n: EVENTS, ids: EVENTS, messages: EVENTS, on_time: EVENTS })
      const left = await query('SELECT count() AS n FROM krafter.log_entries WHERE project_id IN {ids:Array(UUID)}', { ids: sources.map((s) => s.id) })
      expect(Number(left.n)).toBe(0)
    } finally {
      await engine.close()
    }

    // Turned off: the endpoints answer 404, and so does the CLI.
    serve = await startServe(home, { ...env, KRAFTER_ANONYMOUS_STREAMS_ENABLED: 'false' })
    expect((await sendEvents(newToken(), '{"message":"off"}')).status).toBe(404)
    expect((await fetch(`${serve.url}/api/v1/streams/${token}/info`)).status).toBe(404)
    const off = await cliFor({ ...env, KRAFTER_ANONYMOUS_STREAMS_ENABLED: 'false' })('stream', 'claim', token, '--project', 'trial', '--json')
    expect(off.exitCode).toBe(1)
    expect(json(off).error.code).toBe('not_found')
  })
})
