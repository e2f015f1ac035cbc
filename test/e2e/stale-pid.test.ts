import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { startServe, cliFor } from '../helpers/cli.js'

// The real built CLI in a throwaway data dir: serve.json and engine.lock left behind by a serve
// that is gone, naming a pid that now belongs to an unrelated live process.
const home = tempDir('stale-pid')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const runtimeFile = path.join(home, 'serve.json')
const lockFile = path.join(home, 'engine.lock')
const cli = cliFor(env)

let teamKey = ''
let sleeper: ChildProcess

beforeAll(async () => {
  const res = await cli('init', '--json', '--port', '0')
  expect(res.exitCode, res.stderr).toBe(0)
  teamKey = JSON.parse(res.stdout).team_api_key
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' })
  await once(sleeper, 'spawn')
})
afterAll(() => {
  sleeper?.kill('SIGKILL')
  rmSync(home, { recursive: true, force: true })
})

/** Starts serve, checks it answers, stops it with SIGTERM. */
const serveAnswersAndStops = async () => {
  const serve = await startServe(home, env)
  expect((await fetch(`${serve.url}/healthz`)).status).toBe(200)
  expect(JSON.parse(readFileSync(runtimeFile, 'utf8')).pid).toBe(serve.proc.pid)
  serve.proc.kill('SIGTERM')
  expect((await serve.proc).exitCode).toBe(0)
}

describe('stale serve.json and engine.lock', () => {
  it('do not block status or serve when they name a live unrelated pid (files of an older version: the bare pid)', async () => {
    const stale = { pid: sleeper.pid, url: 'http://127.0.0.1:9', started_at: new Date().toISOString(), version: '0.1.0', engine_mode: 'embedded', admin_token: 'krl_local_stale' }
    writeFileSync(runtimeFile, JSON.stringify(stale))
    writeFileSync(lockFile, String(sleeper.pid))
    // status neither calls the stale url nor refuses the engine: it opens it itself.
    const status = await cli('status', '--json')
    expect(status.exitCode, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ serve: { running: false }, engine: { ok: true }, via: 'direct' })
    writeFileSync(lockFile, String(sleeper.pid))
    await serveAnswersAndStops()
  })

  it('do not block serve when a killed serve left them and its pid went to an unrelated process', async () => {
    const killed = await startServe(home, env)
    killed.proc.kill('SIGKILL')
    expect((await killed.proc).signal).toBe('SIGKILL')
    // What the killed serve recorded, with its pid handed to another process since.
    const runtime = JSON.parse(readFileSync(runtimeFile, 'utf8'))
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'))
    expect(runtime.start_time).toMatch(/^\d+$/)
    expect(lock).toEqual({ pid: killed.proc.pid, start_time: runtime.start_time })
    writeFileSync(runtimeFile, JSON.stringify({ ...runtime, pid: sleeper.pid }))
    writeFileSync(lockFile, JSON.stringify({ ...lock, pid: sleeper.pid }))
    await serveAnswersAndStops()
  })

  it('still detect a live serve: a second one refuses; a bad backup path is a 400 and SIGTERM stops it', async () => {
    const serve = await startServe(home, env)
    const second = await cli('serve', '--port', '0')
    expect(second.exitCode).not.toBe(0)
    expect(second.stderr).toContain('already running')
    expect(second.stderr).toContain(`pid ${serve.proc.pid}`)

    // Once, this froze serve for good: it answered nothing more and ignored SIGTERM.
    const res = await fetch(`${serve.url}/api/v1/admin/backups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${teamKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ out: '/proc/x' }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { details: { field: string }[] } }).error.details[0]!.field).toBe('out')
    const viaCli = await cli('backup', 'create', '--out', '/proc/x', '--json')
    expect(viaCli.exitCode).toBe(2)
    expect(JSON.parse(viaCli.stdout).error).toMatchObject({ code: 'validation_error', details: [{ field: 'out' }] })
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200)

    serve.proc.kill('SIGTERM')
    expect((await serve.proc).exitCode).toBe(0)
  })
})
