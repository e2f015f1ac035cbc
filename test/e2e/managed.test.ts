import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateClickhouseBinary } from '../../src/engine/clickhouse-binary.js'
import { cliFor } from '../helpers/cli.js'

/*
 * `init --engine managed` as the real CLI: with Debian's clickhouse-server (18.16, installed by
 * .ci/run) the supervisor starts it, the version gate refuses it naming both versions, and the
 * server is stopped again; with --clickhouse-download the binary comes from a local HTTP server
 * and its SHA-512 decides whether it is kept.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-managed-'))
const cli = (home: string, extraEnv: Record<string, string>, ...args: string[]) =>
  cliFor({ KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn', ...extraEnv }, { timeout: 90_000 })(...args)

// A stand-in "binary": a script that exits at once, so the start fails after a good download.
const FAKE = Buffer.from('#!/bin/sh\necho "fake clickhouse $*" >&2\nexit 3\n')
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex')
let published = sha512(FAKE)
let mirror: http.Server
let mirrorUrl = ''

beforeAll(async () => {
  mirror = http.createServer((req, res) => {
    if (req.url?.endsWith('/clickhouse')) return void res.writeHead(200, { 'content-length': FAKE.length }).end(FAKE)
    if (req.url?.endsWith('/clickhouse.sha512')) return void res.writeHead(200).end(`${published}  clickhouse\n`)
    res.writeHead(404).end()
  })
  mirror.listen(0, '127.0.0.1')
  await once(mirror, 'listening')
  mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/builds`
})
afterAll(async () => {
  await new Promise((resolve) => mirror.close(resolve))
  rmSync(root, { recursive: true, force: true })
})

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('init --engine managed', () => {
  it('starts the located clickhouse-server, refuses 18.16 naming the minimum version, and stops it again', async () => {
    const binary = locateClickhouseBinary({ env: { PATH: '' } })
    expect(binary.path, 'apt-get install clickhouse-server (CI installs it)').toMatch(/clickhouse/)
    const home = path.join(root, 'gate')
    const res = await cli(home, {}, 'init', '--engine', 'managed', '--clickhouse-binary', binary.path, '--port', '0', '--json')
    expect(res.exitCode, res.stdout + res.stderr).toBe(1)
    const { error } = JSON.parse(res.stdout)
    expect(error.message).toMatch(/ClickHouse 18\.16[\d.]* at the managed ClickHouse \(.*clickhouse-server\) is too old for the Krafter Logs schema: version 26\.2 or newer is required\./)
    expect(existsSync(path.join(home, 'krafter.yaml'))).toBe(false)
    // The server it started was stopped: its pid file names a dead process (or is gone).
    const pidFile = path.join(home, 'clickhouse', 'server.pid')
    if (existsSync(pidFile)) expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false)
    expect(existsSync(path.join(home, 'logs', 'clickhouse'))).toBe(true)
  })

  it('downloads the binary into the data dir only when its SHA-512 matches', async () => {
    const home = path.join(root, 'download')
    const env = { KRAFTER_ENGINE_CLICKHOUSE_DOWNLOAD_URL: mirrorUrl }
    const bin = path.join(home, 'clickhouse', 'bin', 'clickhouse')

    published = 'f'.repeat(128)
    const bad = await cli(home, env, 'init', '--engine', 'managed', '--clickhouse-download', '--port', '0', '--json')
    expect(bad.exitCode).toBe(1)
    expect(JSON.parse(bad.stdout).error.message).toMatch(/checksum|SHA-512/i)
    expect(existsSync(bin)).toBe(false)
    expect(existsSync(path.join(home, 'krafter.yaml'))).toBe(false)

    // A pinned checksum wins over the published one.
    const pinnedWrong = await cli(home, env, 'init', '--engine', 'managed', '--clickhouse-download', '--clickhouse-sha512', 'e'.repeat(128), '--port', '0', '--json')
    expect(pinnedWrong.exitCode).toBe(1)
    expect(existsSync(bin)).toBe(false)

    const good = await cli(home, env, 'init', '--engine', 'managed', '--clickhouse-download', '--clickhouse-sha512', sha512(FAKE), '--port', '0', '--json')
    // The download is kept and executable; the stand-in then fails to start, clearly.
    expect(good.exitCode).toBe(1)
    expect(readFileSync(bin).equals(FAKE)).toBe(true)
    expect(statSync(bin).mode & 0o777).toBe(0o755)
    expect(JSON.parse(good.stdout).error.message).toMatch(/ClickHouse/)
    expect(existsSync(path.join(home, 'krafter.yaml'))).toBe(false)
  })

  it('refuses managed flags without --engine managed, both at once, and a missing binary', async () => {
    const home = path.join(root, 'flags')
    const wrongMode = await cli(home, {}, 'init', '--clickhouse-binary', '/usr/bin/true', '--json')
    expect(wrongMode.exitCode).toBe(2)
    expect(JSON.parse(wrongMode.stdout).error.message).toContain('only apply to --engine managed')
    const both = await cli(home, {}, 'init', '--engine', 'managed', '--clickhouse-binary', '/usr/bin/true', '--clickhouse-download', '--json')
    expect(both.exitCode).toBe(2)
    const missing = await cli(home, {}, 'init', '--engine', 'managed', '--clickhouse-binary', path.join(root, 'nope'), '--json')
    expect(missing.exitCode).toBe(1)
    expect(JSON.parse(missing.stdout).error.message).toContain('no executable file there')
    expect(existsSync(path.join(home, 'krafter.yaml'))).toBe(false)
  })
})
