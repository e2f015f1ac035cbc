import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { thisProcess } from '../../src/pid.js'
import { VERSION } from '../../src/version.js'
import { tempDir } from '../helpers/app.js'
import { apiRequest, BIN, cliFor, json as parseJson, startServe, stopServe } from '../helpers/cli.js'

// The same management action from the CLI (on the data dir, and through serve) and from the
// API records the same audit details; only the actor and the request id tell them apart.
const home = tempDir('audit-actors-e2e')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env)
/** The JSON of a command that must have succeeded. */
const json = (r: { exitCode?: number; stdout: string; stderr: string }) => {
  expect(r.exitCode, r.stderr || r.stdout).toBe(0)
  return parseJson(r)
}
let serve: { proc: ResultPromise; url: string } | undefined
let initKey: string
let projectId: string

const call = (method: string, url: string, body: unknown) => apiRequest(serve!.url, initKey, method, url, body)

interface Entry {
  actor: string
  action: string
  target_type: string
  target_id: string | null
  request_id: string | null
  details: Record<string, unknown> | null
}

beforeAll(async () => {
  initKey = json(await cli('init', '--json', '--port', '0')).team_api_key
  projectId = json(await cli('project', 'create', 'web', '--json')).id
})
afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

describe('audit details do not depend on who ran the action', () => {
  it('retention.run and project.update: CLI direct, CLI through serve and the API record identical details', async () => {
    expect(json(await cli('retention', 'run', '--project', 'web', '--dry-run', '--json')).via).toBe('direct')
    json(await cli('project', 'update', 'web', '--retention-days', '5', '--json'))

    serve = await startServe(home, env)
    expect(json(await cli('retention', 'run', '--project', 'web', '--dry-run', '--json')).via).toBe('server')
    const api = await call('POST', '/admin/retention/run', { project_id: projectId, dry_run: true })
    expect(api.status, await api.clone().text()).toBe(200)
    const apiRequestId = api.headers.get('x-request-id')
    const put = await call('PUT', `/logs/projects/${projectId}`, { retention_days: 5 })
    expect(put.status, await put.clone().text()).toBe(200)

    const runs = json(await cli('audit', 'list', '--action', 'retention.run', '--json')) as Entry[]
    // Newest first: the API, the CLI through serve, the CLI on the data dir.
    expect(runs.map((e) => [e.actor, e.request_id !== null])).toEqual([
      [initKey.slice(0, 12), true],
      ['cli', true],
      ['cli', false],
    ])
    expect(runs[0]!.request_id).toBe(apiRequestId)
    for (const entry of runs) {
      expect(entry.target_type).toBe('retention_run')
      expect(entry.details).toEqual({ dry_run: true, project_id: projectId, entries: 0 })
    }
    expect(new Set(runs.map((e) => e.target_id)).size).toBe(3)

    const updates = json(await cli('audit', 'list', '--action', 'project.update', '--json')) as Entry[]
    expect(updates.map((e) => e.actor)).toEqual([initKey.slice(0, 12), 'cli'])
    for (const entry of updates) {
      expect(entry.target_id).toBe(projectId)
      expect(entry.details).toEqual({ changes: { retention_days: 5 } })
    }
  })
})

describe('a serve of another version', () => {
  const other = tempDir('other-version-e2e')
  const otherEnv = { KRAFTER_HOME: other, KRAFTER_LOG_LEVEL: 'warn' }
  let fake: Server

  beforeAll(async () => {
    expect((await execa('node', [BIN, 'init', '--json', '--port', '0'], { env: otherEnv, reject: false })).exitCode).toBe(0)
    // Answers every call as a serve whose retention result has another shape.
    fake = createServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ data: { id: 'run-1', removed: 0 }, request_id: 'r' }))
    })
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
    const { port } = fake.address() as AddressInfo
    writeFileSync(
      path.join(other, 'serve.json'),
      JSON.stringify({
        // This test process stands in for the serve process: it is alive, and not the CLI's.
        ...thisProcess(),
        url: `http://127.0.0.1:${port}`,
        started_at: new Date().toISOString(),
        version: '0.0.1-old',
        engine_mode: 'embedded',
        admin_token: 'krl_local_test',
      }),
      { mode: 0o600 },
    )
  })
  afterAll(async () => {
    await new Promise((resolve) => fake.close(resolve))
    rmSync(other, { recursive: true, force: true })
  })

  it('fails with a clear error naming both versions when the answer does not parse', async () => {
    const run = await execa('node', [BIN, 'retention', 'run', '--json'], { env: otherEnv, reject: false, timeout: 60_000 })
    expect(run.exitCode).toBe(1)
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; suggestions: string[] } }
    expect(error.code).toBe('user_error')
    expect(error.message).toContain('version 0.0.1-old')
    expect(error.message).toContain(`this CLI (version ${VERSION})`)
    expect(error.message).toContain('POST /admin/retention/run')
    expect(error.suggestions.join(' ')).toContain('0.0.1-old')
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })
})
