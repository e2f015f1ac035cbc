import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, startServe, cliFor, json } from '../helpers/cli.js'

// The real built CLI as a child process, in a throwaway data dir (npm test builds first).
const home = tempDir('cli')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'info' }

const cli = cliFor(env)



let teamKey = ''

beforeAll(async () => {
  const res = await cli('init', '--json', '--port', '0')
  expect(res.exitCode, res.stderr).toBe(0)
  const out = json(res.stdout)
  teamKey = out.team_api_key
  expect(teamKey).toMatch(/^kr_live_[a-z0-9]{32}$/)
  expect(out).toMatchObject({ data_dir: home, config_path: path.join(home, 'krafter.yaml') })
  expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:/)
})

afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('krafter-logs CLI', () => {
  it('init wrote a private config and refuses to run again without touching data', async () => {
    expect(statSync(path.join(home, 'krafter.yaml')).mode & 0o777).toBe(0o600)
    expect(statSync(path.join(home, 'meta.sqlite')).mode & 0o777).toBe(0o600)
    const created = await cli('project', 'create', 'before-reinit', '--json')
    expect(created.exitCode, created.stderr).toBe(0)
    const again = await cli('init')
    expect(again.exitCode).not.toBe(0)
    expect(again.stderr).toContain('already initialised')
    expect(again.stderr).not.toMatch(/^\s+at /m)
    const againJson = await cli('init', '--json')
    expect(againJson.exitCode).not.toBe(0)
    expect(json(againJson.stdout).error.message).toContain('already initialised')
    const list = json((await cli('project', 'list', '--json')).stdout) as { name: string }[]
    expect(list.map((p) => p.name)).toContain('before-reinit')
  })

  it('validates project input with exit code 2 and a JSON error', async () => {
    const res = await cli('project', 'create', 'x', '--retention-days', '91', '--json')
    expect(res.exitCode).toBe(2)
    const err = json(res.stdout).error
    expect(err.code).toBe('validation_error')
    expect(err.details[0].field).toBe('retention_days')
    const missing = await cli('project', 'show', 'no-such-project')
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toContain('not found')
  })

  it('init → project create → serve → HTTP → CLI while serving → SIGTERM', async () => {
    const created = json((await cli('project', 'create', 'web', '--retention-days', '30', '--json')).stdout)
    expect(created.ingest_token).toMatch(/^krl_live_[a-z0-9]{32}$/)

    const { proc, url } = await startServe(home, env)
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(((await health.json()) as { status: string }).status).toBe('ok')

    const auth = { authorization: `Bearer ${teamKey}` }
    const listed = (await (await fetch(`${url}/api/v1/logs/projects?limit=100`, { headers: auth })).json()) as {
      data: { id: string; name: string; retention_days: number }[]
    }
    expect(listed.data.find((p) => p.name === 'web')).toMatchObject({ id: created.id, retention_days: 30 })

    // Metadata commands work while serve holds the data dir; the server sees their writes.
    const viaCli = await cli('project', 'create', 'api', '--json')
    expect(viaCli.exitCode, viaCli.stderr).toBe(0)
    const apiId = json(viaCli.stdout).id
    expect((await fetch(`${url}/api/v1/logs/projects/${apiId}`, { headers: auth })).status).toBe(200)
    const updated = await cli('project', 'update', 'api', '--retention-days', '3', '--json')
    expect(json(updated.stdout).retention_days).toBe(3)
    const apiToken = json(viaCli.stdout).ingest_token
    const send = (token: string) =>
      fetch(`${url}/api/v1/logs/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"message":"from the e2e test"}',
      })
    expect((await send(apiToken)).status).toBe(202)
    // Rotated from the CLI (through the running server): the old token is refused at once.
    const rotated = await cli('project', 'rotate-token', 'api', '--json')
    expect(json(rotated.stdout).via).toBe('server')
    const newToken = json(rotated.stdout).ingest_token
    expect(newToken).toMatch(/^krl_live_/)
    expect((await send(apiToken)).status).toBe(401)
    expect((await send(newToken)).status).toBe(202)
    const usage = json((await cli('project', 'usage', 'api', '--json')).stdout)
    expect(usage.today.entries).toBe(2)

    // Engine work goes through the running server.
    const deleted = await cli('project', 'delete', 'api', '--yes', '--json')
    expect(deleted.exitCode, deleted.stderr).toBe(0)
    expect(json(deleted.stdout)).toMatchObject({ id: apiId, deleted: true, via: 'server' })
    expect((await fetch(`${url}/api/v1/logs/projects/${apiId}`, { headers: auth })).status).toBe(404)

    // A second serve on the same data dir fails fast with a clear message.
    const second = await execa('node', [BIN, 'serve'], { env, reject: false, timeout: 30_000 })
    expect(second.exitCode).not.toBe(0)
    expect(second.stderr).toContain('already running')
    expect(second.stderr).not.toMatch(/^\s+at /m)

    // Even when serve.json is gone, the engine lock gives a clear refusal, not a chDB trace.
    renameSync(path.join(home, 'serve.json'), path.join(home, 'serve.json.bak'))
    const locked = await execa('node', [BIN, 'serve', '--port', '0'], { env, reject: false, timeout: 30_000 })
    renameSync(path.join(home, 'serve.json.bak'), path.join(home, 'serve.json'))
    expect(locked.exitCode).not.toBe(0)
    expect(locked.stderr).toContain('in use by another process')
    expect(locked.stderr).not.toMatch(/^\s+at /m)

    // An in-flight request started before SIGTERM still completes.
    const inflight = fetch(`${url}/api/v1/logs/projects?limit=100`, { headers: auth })
    const started = Date.now()
    proc.kill('SIGTERM')
    const [res, done] = await Promise.all([inflight, proc])
    expect(res.status).toBe(200)
    expect(done.exitCode).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(existsSync(path.join(home, 'serve.json'))).toBe(false)
    expect(String(done.stdout)).toContain('krafter-logs stopped')
    expect(String(done.stdout)).not.toContain(teamKey)

    // Without serve, engine work opens the engine directly.
    const direct = await cli('project', 'delete', 'web', '--yes', '--json')
    expect(json(direct.stdout)).toMatchObject({ id: created.id, via: 'direct' })
  })
})
