import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { locateClickhouseBinary, type ClickhouseBinary } from '../../src/engine/clickhouse-binary.js'
import { assertSupportedVersion, isSupportedVersion, MIN_ENGINE_VERSION } from '../../src/engine/core.js'
import { pingClickhouse } from '../../src/engine/managed/http.js'
import { probeClickhouseVersion } from '../../src/engine/managed/process.js'
import { ClickhouseStartError, ClickhouseSupervisor, type ClickhouseState } from '../../src/engine/managed/supervisor.js'
import { AppError, UserError } from '../../src/errors.js'
import { pidAlive } from '../../src/pid.js'
import { debianClickhouseServer, freePorts } from '../helpers/clickhouse-server.js'
import { assertUp, waitForState } from '../helpers/supervisor.js'

/*
 * Runs a real ClickHouse server: Debian's clickhouse-server package (18.16), which .ci/run
 * installs. Too old for the log schema, which is what the version-gate test relies on; start,
 * health, restart and stop work the same on every release.
 */

const findServerBinary = (): ClickhouseBinary => locateClickhouseBinary({ flag: debianClickhouseServer() })


const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-ch-supervisor-'))
const dataDir = path.join(root, 'data')
const fastBackoff = { initialMs: 100, maxMs: 1_000, resetAfterMs: 60_000 }

let binary: ClickhouseBinary
let supervisor: ClickhouseSupervisor
const states: ClickhouseState[] = []
/** The states of the first start, for the test of it, whatever ran before that test. */
let startup: ClickhouseState[] = []
const clients: ClickHouseClient[] = []

/** The shared server, up: a test that stopped it must not decide whether the next one can run. */
const running = async (): Promise<void> => {
  if (supervisor.state !== 'up') await supervisor.start()
}

const client = (password?: string, username?: string): ClickHouseClient => {
  const params = supervisor.connectionParams()
  const c = createClient({
    ...params,
    username: username ?? params.username,
    password: password ?? params.password,
    // Failed logins are expected here; the client would print each one.
    log: { level: ClickHouseLogLevel.OFF },
  })
  clients.push(c)
  return c
}

const selectOne = async (c: ClickHouseClient): Promise<unknown> =>
  (await (await c.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json<{ one: number }>())[0]?.one

// A missing binary or a failed start fails every test (a beforeAll error only skips them).
let setupError: unknown
beforeEach(() => {
  if (setupError !== undefined) throw setupError
})

beforeAll(async () => {
  try {
    binary = findServerBinary()
    const [httpPort, tcpPort] = await freePorts(2)
    supervisor = new ClickhouseSupervisor({
      dataDir,
      binary,
      httpPort,
      tcpPort,
      startTimeoutMs: 60_000,
      stopTimeoutMs: 20_000,
      healthIntervalMs: 200,
      healthFailures: 3,
      backoff: fastBackoff,
    })
    supervisor.onState((s) => states.push(s))
    await supervisor.start()
    startup = [...states]
  } catch (err) {
    setupError = err
  }
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
  await supervisor?.stop()
  rmSync(root, { recursive: true, force: true })
})

describe('ClickhouseSupervisor against a real clickhouse-server', () => {
  it('starts the server on loopback with a generated config and password', async () => {
    await running()
    expect(supervisor.state).toBe('up')
    expect(supervisor.isUp()).toBe(true)
    expect(() => assertUp(supervisor)).not.toThrow()
    expect(startup).toEqual(['starting', 'up'])
    expect(await pingClickhouse(supervisor.url)).toBe(true)
    expect(supervisor.commandLine()).toEqual({
      file: binary.path,
      args: [`--config-file=${path.join(dataDir, 'clickhouse', 'config', 'config.xml')}`],
    })

    const config = readFileSync(supervisor.paths.config, 'utf8')
    expect(config).toContain('<listen_host>127.0.0.1</listen_host>')
    expect(config).not.toMatch(/\{\{/)
    expect(config).toContain(`<path>${supervisor.paths.data}/</path>`)
    expect(statSync(supervisor.paths.secrets).mode & 0o777).toBe(0o600)
    expect(statSync(supervisor.paths.users).mode & 0o777).toBe(0o600)
    const secrets = JSON.parse(readFileSync(supervisor.paths.secrets, 'utf8')) as { user: string; password: string }
    expect(secrets.user).toBe('krafter')
    expect(secrets.password.length).toBeGreaterThanOrEqual(40)
    expect(readFileSync(supervisor.paths.users, 'utf8')).not.toContain(secrets.password)
    expect(supervisor.connectionParams()).toEqual({ url: supervisor.url, username: 'krafter', password: secrets.password })
  })

  it('answers queries through @clickhouse/client with the generated password, and only with it', async () => {
    await running()
    expect(await selectOne(client())).toBe(1)
    await expect(selectOne(client('wrong password'))).rejects.toThrow(/password/i)
    await expect(selectOne(client('', 'default'))).rejects.toThrow(/password|default/i)
  })

  it('reports the server version, which the version gate refuses for the log schema', async () => {
    await running()
    const version = await supervisor.serverVersion()
    expect(version).toMatch(/^\d+\.\d+\.\d+/)
    // Debian's package does not answer --version; the server's SELECT version() is what counts.
    expect(await probeClickhouseVersion(binary)).toBeUndefined()
    if (isSupportedVersion(version)) {
      // Only on a machine with a newer clickhouse-server than Debian's package.
      expect(() => assertSupportedVersion(version, supervisor.url)).not.toThrow()
      return
    }
    expect(version).toMatch(/^18\.16\./)
    let refusal: unknown
    try {
      assertSupportedVersion(version, `managed engine (${supervisor.url})`)
    } catch (err) {
      refusal = err
    }
    expect(refusal).toBeInstanceOf(UserError)
    expect((refusal as UserError).message).toContain(`ClickHouse ${version}`)
    expect((refusal as UserError).message).toContain(`version ${MIN_ENGINE_VERSION} or newer is required`)
    expect(MIN_ENGINE_VERSION).toBe('26.2')
  })

  it('restarts the server after it is killed, with the same credentials', async () => {
    await running()
    const firstPid = supervisor.pid
    const restartsBefore = supervisor.restarts
    expect(firstPid).toBeDefined()
    states.length = 0
    const down = waitForState(supervisor, 'down', 10_000)
    process.kill(firstPid!, 'SIGKILL')
    await down
    expect(supervisor.isUp()).toBe(false)
    expect(() => assertUp(supervisor)).toThrow(AppError)
    await waitForState(supervisor, 'up', 60_000)

    expect(states).toEqual(['down', 'starting', 'up'])
    expect(supervisor.lastExit).toEqual({ exitCode: undefined, signal: 'SIGKILL' })
    expect(supervisor.restarts).toBe(restartsBefore + 1)
    expect(supervisor.pid).toBeDefined()
    expect(supervisor.pid).not.toBe(firstPid)
    expect(pidAlive(firstPid!)).toBe(false)
    expect(await selectOne(client())).toBe(1)
  })

  it('restarts a server that stops answering /ping', async () => {
    await running()
    const frozenPid = supervisor.pid!
    const restartsBefore = supervisor.restarts
    states.length = 0
    // A stopped process keeps its sockets open but answers nothing: the health watch must notice.
    process.kill(frozenPid, 'SIGSTOP')
    await waitForState(supervisor, 'down', 15_000)
    await waitForState(supervisor, 'up', 60_000)
    expect(states).toEqual(['down', 'starting', 'up'])
    expect(supervisor.restarts).toBe(restartsBefore + 1)
    expect(pidAlive(frozenPid)).toBe(false)
    expect(await selectOne(client())).toBe(1)
  })

  it('stops the server cleanly and never restarts it', async () => {
    await running()
    const pid = supervisor.pid!
    states.length = 0
    // As serve does: the API's client goes first, so the server has no connections to wait for.
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await supervisor.stop()
    expect(supervisor.state).toBe('stopped')
    expect(pidAlive(pid)).toBe(false)
    expect(supervisor.lastExit?.signal ?? supervisor.lastExit?.exitCode).toBeDefined()
    // stop() resolves only once the supervise loop, the only place a restart is scheduled from,
    // has ended: nothing is left to restart the server, so there is no backoff to wait out.
    expect(supervisor.state).toBe('stopped')
    expect(supervisor.pid).toBeUndefined()
    expect(states).toEqual(['stopped'])
    expect(existsSync(supervisor.paths.pidFile)).toBe(false)
    expect(await pingClickhouse(supervisor.url)).toBe(false)
  })

  it('takes over from a server left running by a serve that was killed outright', async () => {
    // The orphan needs the ports: the shared server goes first (as the killed serve's would).
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await supervisor.stop()
    // What a SIGKILLed serve leaves: its child, still holding the ports, and the pid file.
    const orphan = spawn(binary.path, supervisor.commandLine().args, { stdio: 'ignore', detached: true })
    orphan.unref()
    writeFileSync(supervisor.paths.pidFile, String(orphan.pid))
    const deadline = Date.now() + 30_000
    while (!(await pingClickhouse(supervisor.url)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(await pingClickhouse(supervisor.url)).toBe(true)

    await supervisor.start()
    try {
      expect(pidAlive(orphan.pid!)).toBe(false)
      expect(supervisor.state).toBe('up')
      expect(supervisor.pid).not.toBe(orphan.pid)
      expect(readFileSync(supervisor.paths.pidFile, 'utf8')).toBe(String(supervisor.pid))
      expect(await selectOne(client())).toBe(1)
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()))
      await supervisor.stop()
    }
  })

  it('keeps the server logs under the data dir', () => {
    const logs = path.join(dataDir, 'logs', 'clickhouse')
    expect(supervisor.paths.logs).toBe(logs)
    for (const file of ['clickhouse-server.log', 'clickhouse-server.err.log', 'stdout.log', 'stderr.log']) {
      expect(existsSync(path.join(logs, file)), file).toBe(true)
    }
    expect(readFileSync(path.join(logs, 'clickhouse-server.log'), 'utf8')).toMatch(/Ready for connections/)
  })

  it('reports a server that cannot start with its command line and log, without retrying', async () => {
    // Holding the HTTP port makes the server fail to bind and exit.
    const blocker = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const [tcpPort] = await freePorts(1)
    const failing = new ClickhouseSupervisor({
      dataDir: path.join(root, 'failing'),
      binary,
      httpPort: (blocker.address() as AddressInfo).port,
      tcpPort,
      startTimeoutMs: 30_000,
      backoff: fastBackoff,
    })
    try {
      const err = await failing.start().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ClickhouseStartError)
      const startError = err as ClickhouseStartError
      expect(startError).toBeInstanceOf(UserError)
      expect(startError.command).toBe(binary.path)
      expect(startError.args).toEqual([`--config-file=${failing.paths.config}`])
      expect(startError.message).toMatch(/ClickHouse did not start: it exited with code \d+/)
      expect(startError.message).toMatch(/Address already in use/i)
      expect(startError.suggestions.join('\n')).toContain(failing.paths.errorLog)
      expect(failing.state).toBe('stopped')
      expect(failing.pid).toBeUndefined()
      expect(failing.restarts).toBe(0)
    } finally {
      await failing.stop()
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
