import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  clickhouseBuildDir,
  downloadClickhouseBinary,
  locateClickhouseBinary,
  parseSha512,
} from '../../src/engine/clickhouse-binary.js'
import { UserError } from '../../src/errors.js'

const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-ch-binary-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let dirCount = 0
const newDir = (): string => {
  const dir = path.join(root, `d${dirCount++}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

const fakeExecutable = (dir: string, name: string, mode = 0o755): string => {
  const file = path.join(dir, name)
  writeFileSync(file, '#!/bin/sh\necho fake\n')
  chmodSync(file, mode)
  return file
}

const userError = (fn: () => unknown): UserError => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(UserError)
    return err as UserError
  }
  throw new Error('expected a UserError')
}

const rejection = async (promise: Promise<unknown>): Promise<UserError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(UserError)
  return err as UserError
}

describe('locateClickhouseBinary', () => {
  it('takes the flag first, then the configured path', () => {
    const dir = newDir()
    const flagged = fakeExecutable(dir, 'clickhouse')
    const configured = fakeExecutable(dir, 'clickhouse-server')
    const pathDir = newDir()
    fakeExecutable(pathDir, 'clickhouse')
    const env = { PATH: pathDir }

    expect(locateClickhouseBinary({ flag: flagged, configured, env, extraDirs: [] })).toEqual({
      path: flagged,
      argsPrefix: ['server'],
      source: 'flag',
    })
    expect(locateClickhouseBinary({ configured, env, extraDirs: [] })).toEqual({ path: configured, argsPrefix: [], source: 'config' })
  })

  it('refuses an explicit path that is missing or not executable instead of falling back to PATH', () => {
    const dir = newDir()
    const notExecutable = fakeExecutable(dir, 'clickhouse', 0o644)
    const pathDir = newDir()
    fakeExecutable(pathDir, 'clickhouse')
    const env = { PATH: pathDir }

    expect(userError(() => locateClickhouseBinary({ flag: notExecutable, env })).message).toMatch(/--clickhouse-binary .*no executable file/)
    expect(userError(() => locateClickhouseBinary({ configured: path.join(dir, 'nope'), env })).message).toMatch(
      /engine\.clickhouse_binary .*no executable file/,
    )
    expect(userError(() => locateClickhouseBinary({ flag: dir, env })).message).toMatch(/no executable file/)
  })

  it('searches PATH for clickhouse before clickhouse-server, skipping non-executables', () => {
    const a = newDir()
    const b = newDir()
    fakeExecutable(a, 'clickhouse', 0o644)
    const server = fakeExecutable(a, 'clickhouse-server')
    const multi = fakeExecutable(b, 'clickhouse')

    expect(locateClickhouseBinary({ env: { PATH: [a, b].join(path.delimiter) }, extraDirs: [] })).toEqual({
      path: multi,
      argsPrefix: ['server'],
      source: 'path',
    })
    expect(locateClickhouseBinary({ env: { PATH: a }, extraDirs: [] })).toEqual({ path: server, argsPrefix: [], source: 'path' })
  })

  it('looks in the system dirs after PATH (Debian installs clickhouse-server in /usr/sbin)', () => {
    const sbin = newDir()
    const server = fakeExecutable(sbin, 'clickhouse-server')
    expect(locateClickhouseBinary({ env: { PATH: newDir() }, extraDirs: [sbin] }).path).toBe(server)
  })

  it('says what to do when there is no binary', () => {
    const err = userError(() => locateClickhouseBinary({ env: { PATH: newDir() }, extraDirs: [] }))
    expect(err.message).toMatch(/No ClickHouse server binary found/)
    const suggestions = err.suggestions.join('\n')
    expect(suggestions).toContain('--clickhouse-binary')
    expect(suggestions).toContain('--clickhouse-download')
    expect(suggestions).toContain('apt-get install clickhouse-server')
  })
})

describe('clickhouseBuildDir', () => {
  it('maps platforms to the official build dirs', () => {
    expect(clickhouseBuildDir('linux', 'x64', 'flags\t: fpu sse4_2 avx2 bmi2')).toBe('amd64')
    expect(clickhouseBuildDir('linux', 'x64', 'flags\t: fpu sse4_2')).toBe('amd64compat')
    expect(clickhouseBuildDir('linux', 'arm64', 'Features\t: fp asimd aes sha1 sha2 crc32 atomics lrcpc')).toBe('aarch64')
    expect(clickhouseBuildDir('linux', 'arm64', 'Features\t: fp asimd aes sha1')).toBe('aarch64v80compat')
    expect(clickhouseBuildDir('darwin', 'x64')).toBe('macos')
    expect(clickhouseBuildDir('darwin', 'arm64')).toBe('macos-aarch64')
    expect(clickhouseBuildDir('freebsd', 'x64')).toBe('freebsd')
    expect(userError(() => clickhouseBuildDir('win32', 'x64')).message).toMatch(/no official ClickHouse build for win32\/x64/)
  })
})

describe('parseSha512', () => {
  const hex = 'ab'.repeat(64)
  const other = 'cd'.repeat(64)
  it('reads a bare digest and sha512sum output', () => {
    expect(parseSha512(`${hex}\n`)).toBe(hex)
    expect(parseSha512(`${hex.toUpperCase()}  clickhouse\n`)).toBe(hex)
    expect(parseSha512(`${other}  clickhouse-keeper\n${hex} *amd64/clickhouse\n`)).toBe(hex)
    expect(parseSha512('not a checksum')).toBeUndefined()
    expect(parseSha512('abc123  clickhouse')).toBeUndefined()
  })
})

describe('downloadClickhouseBinary', () => {
  const binary = Buffer.from(`#!/bin/sh\necho "ClickHouse fake build"\n${'x'.repeat(200_000)}\n`)
  const goodSha = createHash('sha512').update(binary).digest('hex')
  const requests: string[] = []
  let server: Server
  let baseUrl: string

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '/'
      requests.push(url)
      const send = (status: number, body: Buffer | string): void => {
        res.writeHead(status, { 'content-length': Buffer.byteLength(body) })
        res.end(body)
      }
      switch (url) {
        case '/good/amd64/clickhouse':
        case '/bad/amd64/clickhouse':
        case '/nosum/amd64/clickhouse':
          return send(200, binary)
        case '/good/amd64/clickhouse.sha512':
          return send(200, `${goodSha}  clickhouse\n`)
        case '/bad/amd64/clickhouse.sha512':
          return send(200, `${'0'.repeat(128)}  clickhouse\n`)
        case '/cut/amd64/clickhouse.sha512':
          return send(200, `${goodSha}\n`)
        case '/cut/amd64/clickhouse':
          // Announces the whole binary, sends a part, then drops the connection.
          res.writeHead(200, { 'content-length': binary.length })
          res.write(binary.subarray(0, 1000), () => res.destroy())
          return
        default:
          return send(404, 'Not found')
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  const platform = { platform: 'linux' as const, arch: 'x64', cpuinfo: 'flags : avx2' }
  const leftovers = (dir: string): string[] => {
    try {
      return readdirSync(dir)
    } catch {
      return []
    }
  }

  it('downloads, verifies the published checksum and installs an executable binary', async () => {
    const destDir = path.join(newDir(), 'bin')
    const progress: number[] = []
    const result = await downloadClickhouseBinary({
      ...platform,
      destDir,
      baseUrl: `${baseUrl}/good/`,
      onProgress: (p) => progress.push(p.receivedBytes),
    })
    expect(result).toEqual({
      path: path.join(destDir, 'clickhouse'),
      argsPrefix: ['server'],
      source: 'download',
      url: `${baseUrl}/good/amd64/clickhouse`,
      sha512: goodSha,
      bytes: binary.length,
    })
    expect(readFileSync(result.path).equals(binary)).toBe(true)
    expect(statSync(result.path).mode & 0o777).toBe(0o755)
    expect(leftovers(destDir)).toEqual(['clickhouse'])
    expect(progress.at(-1)).toBe(binary.length)
  })

  it('takes the base URL from KRAFTER_ENGINE_CLICKHOUSE_DOWNLOAD_URL', async () => {
    const destDir = newDir()
    const result = await downloadClickhouseBinary({ ...platform, destDir, env: { KRAFTER_ENGINE_CLICKHOUSE_DOWNLOAD_URL: `${baseUrl}/good` } })
    expect(result.url).toBe(`${baseUrl}/good/amd64/clickhouse`)
  })

  it('accepts a pinned checksum without fetching one', async () => {
    const destDir = newDir()
    requests.length = 0
    const result = await downloadClickhouseBinary({ ...platform, destDir, baseUrl: `${baseUrl}/nosum`, sha512: goodSha })
    expect(result.sha512).toBe(goodSha)
    expect(requests).toEqual(['/nosum/amd64/clickhouse'])
  })

  it('refuses a binary whose checksum does not match and leaves nothing behind', async () => {
    const destDir = newDir()
    const err = await rejection(downloadClickhouseBinary({ ...platform, destDir, baseUrl: `${baseUrl}/bad` }))
    expect(err.message).toMatch(/Checksum mismatch for .*\/bad\/amd64\/clickhouse/)
    expect(err.message).toContain(goodSha)
    expect(leftovers(destDir)).toEqual([])
  })

  it('refuses a pinned checksum that does not match', async () => {
    const destDir = newDir()
    const err = await rejection(downloadClickhouseBinary({ ...platform, destDir, baseUrl: `${baseUrl}/nosum`, sha512: 'f'.repeat(128) }))
    expect(err.message).toMatch(/Checksum mismatch/)
    expect(leftovers(destDir)).toEqual([])
  })

  it('refuses to download a binary that has no published checksum', async () => {
    const destDir = newDir()
    requests.length = 0
    const err = await rejection(downloadClickhouseBinary({ ...platform, destDir, baseUrl: `${baseUrl}/nosum` }))
    expect(err.message).toMatch(/checksum .*clickhouse\.sha512: HTTP 404/)
    expect(requests).toEqual(['/nosum/amd64/clickhouse.sha512'])
    expect(leftovers(destDir)).toEqual([])
  })

  it('reports an HTTP 404 for the binary with its URL', async () => {
    const destDir = newDir()
    const err = await rejection(
      downloadClickhouseBinary({ ...platform, destDir, baseUrl: `${baseUrl}/missing`, sha512: goodSha }),
    )
    expect(err.message).toBe(`Could not download the ClickHouse binary from ${baseUrl}/missing/amd64/clickhouse: HTTP 404 Not Found`)
    expect(err.suggestions.join('\n')).toContain('--clickhouse-binary')
    expect(leftovers(destDir)).toEqual([])
  })

  it('discards a download cut short', async () => {
    const destDir = newDir()
    const err = await rejection(downloadClickhouseBinary({ ...platform, destDir, baseUrl: `${baseUrl}/cut` }))
    expect(err.message).toMatch(/\/cut\/amd64\/clickhouse/)
    expect(leftovers(destDir)).toEqual([])
  })

  it('reports an unreachable server', async () => {
    const destDir = newDir()
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const err = await rejection(downloadClickhouseBinary({ ...platform, destDir, baseUrl: `http://127.0.0.1:${port}` }))
    expect(err.message).toMatch(new RegExp(`Could not download the ClickHouse checksum from http://127\\.0\\.0\\.1:${port}/amd64/clickhouse\\.sha512`))
  })
})
