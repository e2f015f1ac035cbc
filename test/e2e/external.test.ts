import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isSupportedVersion, MIN_ENGINE_VERSION } from '../../src/engine/engine.js'
import { cliFor } from '../helpers/cli.js'
import { debianClickhouseServer, freePorts } from '../helpers/clickhouse-server.js'

/*
 * `init --engine external` against a real ClickHouse server: Debian's clickhouse-server
 * package (18.16, which .ci/run installs), started here on free loopback ports with a minimal
 * config. It is too old for the log schema, which is what init must say, naming both versions.
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-external-'))
const home = path.join(root, 'home')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'info' }
const cli = cliFor(env, { timeout: 30_000 })

let server: ChildProcess | undefined
let url = ''
let version = ''

const startServer = async (): Promise<void> => {
  const [httpPort, tcpPort, interserverPort] = await freePorts(3)
  const dir = path.join(root, 'clickhouse')
  mkdirSync(dir, { recursive: true })
  // The smallest config 18.16 starts with (it has no default mark_cache_size); loopback only.
  writeFileSync(
    path.join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <interserver_http_port>${interserverPort}</interserver_http_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/data/tmp/</tmp_path>
  <user_files_path>${dir}/data/user_files/</user_files_path>
  <format_schema_path>${dir}/data/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>536870912</mark_cache_size>
</yandex>
`,
  )
  writeFileSync(
    path.join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
  </users>
</yandex>
`,
  )
  const stderr: string[] = []
  const child = spawn(debianClickhouseServer(), [`--config-file=${path.join(dir, 'config.xml')}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()))
  server = child
  url = `http://127.0.0.1:${httpPort}`
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`clickhouse-server exited at start (${child.exitCode ?? child.signalCode}): ${stderr.join('').slice(-2000)}`)
    }
    try {
      if ((await fetch(`${url}/ping`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer ${url}/ping within 15 s`)
    await delay(50)
  }
  version = (await (await fetch(`${url}/?query=${encodeURIComponent('SELECT version()')}`)).text()).trim()
}

// A missing binary or a failed start must fail the tests, not skip them.
let setupError: unknown
beforeAll(async () => {
  try {
    await startServer()
  } catch (err) {
    setupError = err
  }
})

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve))
    server.kill('SIGTERM')
    await Promise.race([exited, delay(10_000).then(() => server!.kill('SIGKILL'))])
  }
  rmSync(root, { recursive: true, force: true })
})

const configPath = path.join(home, 'krafter.yaml')

describe('init --engine external', () => {
  it('refuses a server older than the schema needs, naming both versions, and leaves nothing behind', async () => {
    if (setupError !== undefined) throw setupError
    if (isSupportedVersion(version)) {
      // Only on a machine whose clickhouse-server is new enough: then init must simply work.
      const modern = path.join(root, 'modern')
      const ok = await cli('init', '--engine', 'external', '--clickhouse-url', url, '--port', '0', '--data-dir', modern)
      expect(ok.exitCode, ok.stderr).toBe(0)
      expect(readFileSync(path.join(modern, 'krafter.yaml'), 'utf8')).toContain(`url: ${url}`)
      return
    }
    const res = await cli('init', '--engine', 'external', '--clickhouse-url', url, '--port', '0')
    expect(version).toMatch(/^18\.16\./)
    expect(res.exitCode).toBe(1)
    // oclif wraps the message on a terminal width; read it as one line.
    const message = res.stderr.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ')
    expect(message).toContain(`ClickHouse ${version} at ${url} is too old for the Krafter Logs schema`)
    expect(message).toContain(`version ${MIN_ENGINE_VERSION} or newer is required`)
    expect(MIN_ENGINE_VERSION).toBe('26.2')
    expect(res.stderr).not.toMatch(/^\s+at /m)
    expect(existsSync(configPath)).toBe(false)
    expect(existsSync(home)).toBe(false)
  })

  it('names the URL when nothing answers there, and a login the server refuses', async () => {
    if (setupError !== undefined) throw setupError
    const [closedPort] = await freePorts(1)
    const refused = await cli('init', '--engine', 'external', '--clickhouse-url', `http://127.0.0.1:${closedPort}`, '--json')
    expect(refused.exitCode).toBe(1)
    const error = JSON.parse(refused.stdout).error
    expect(error.message).toContain(`Could not connect to ClickHouse at http://127.0.0.1:${closedPort}`)
    expect(error.suggestions.join(' ')).toContain('/ping')

    const login = await cli('init', '--engine', 'external', '--clickhouse-url', url, '--user', 'nobody', '--password', 'wrong', '--json')
    expect(login.exitCode).toBe(1)
    expect(JSON.parse(login.stdout).error.message).toContain('refused the login of user "nobody"')
    expect(login.stdout).not.toContain('wrong')
    expect(existsSync(configPath)).toBe(false)
  })

  it('rejects --engine external without --clickhouse-url as invalid input (exit 2)', async () => {
    // The other flag checks are unit tests (test/unit/init-options.test.ts); this is the exit code.
    const noUrl = await cli('init', '--engine', 'external', '--json')
    expect(noUrl.exitCode).toBe(2)
    expect(JSON.parse(noUrl.stdout).error.message).toBe('--engine external needs --clickhouse-url: the HTTP URL of the ClickHouse server.')
    expect(existsSync(home)).toBe(false)
  })

  it('lets a later init use the same data dir', async () => {
    const res = await cli('init', '--port', '0', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ data_dir: home, engine: { mode: 'embedded' } })
  })
})
