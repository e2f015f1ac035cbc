import { createHash, randomBytes } from 'node:crypto'
import { accessSync, constants, createWriteStream, readFileSync, statSync } from 'node:fs'
import { chmod, mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { UserError, errorMessage } from '../errors.js'

/**
 * How to start a ClickHouse server from a binary on disk. The official builds are one
 * multi-call `clickhouse` binary started as `clickhouse server`; distribution packages (Debian's
 * 18.16 among them) install `clickhouse-server`, which is the server itself and takes no
 * sub-command. Current packages ship `clickhouse-server` as a symlink to the multi-call binary,
 * which picks the server from the name it was started under, so the name decides either way.
 */
export interface ClickhouseBinary {
  path: string
  /** Arguments before the server's own (`['server']` for the multi-call binary). */
  argsPrefix: string[]
  source: 'flag' | 'config' | 'path' | 'download'
}

const BINARY_NAMES = ['clickhouse', 'clickhouse-server'] as const

/**
 * Searched after PATH: Debian puts clickhouse-server in /usr/sbin, which is not on the PATH of
 * ordinary users, and Homebrew's prefix is often missing from the PATH of services.
 */
export const SYSTEM_BINARY_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/opt/homebrew/bin']

export const argsPrefixFor = (binaryPath: string): string[] =>
  path.basename(binaryPath).includes('server') ? [] : ['server']

const isExecutableFile = (file: string): boolean => {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const NOT_FOUND_SUGGESTIONS = [
  'Pass the binary: `krafter-logs init --engine managed --clickhouse-binary /path/to/clickhouse`.',
  'Or let init fetch the official static build into the data dir: `krafter-logs init --engine managed --clickhouse-download`.',
  'Or install a package that provides it (e.g. `apt-get install clickhouse-server`), or use `--engine embedded`.',
]

/**
 * Finds the ClickHouse server binary: the --clickhouse-binary flag, then engine.clickhouse_binary
 * from the config, then `clickhouse` / `clickhouse-server` on PATH and in the usual system dirs.
 * A path that was given explicitly but is unusable is an error, never a silent fallback to
 * whatever PATH has.
 */
export const locateClickhouseBinary = (
  options: { flag?: string; configured?: string; env?: NodeJS.ProcessEnv; extraDirs?: string[] } = {},
): ClickhouseBinary => {
  const explicit: Array<[string | undefined, 'flag' | 'config', string]> = [
    [options.flag, 'flag', '--clickhouse-binary'],
    [options.configured, 'config', 'engine.clickhouse_binary'],
  ]
  for (const [given, source, label] of explicit) {
    if (given === undefined || given === '') continue
    const resolved = path.resolve(given)
    if (!isExecutableFile(resolved)) {
      throw new UserError(`${label} ${given}: no executable file there.`, {
        suggestions: [`Point ${label} at the \`clickhouse\` (or \`clickhouse-server\`) binary.`, ...NOT_FOUND_SUGGESTIONS.slice(1)],
      })
    }
    return { path: resolved, argsPrefix: argsPrefixFor(resolved), source }
  }

  const env = options.env ?? process.env
  const pathDirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '')
  const dirs = [...new Set([...pathDirs, ...(options.extraDirs ?? SYSTEM_BINARY_DIRS)])]
  for (const name of BINARY_NAMES) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name)
      if (isExecutableFile(candidate)) return { path: candidate, argsPrefix: argsPrefixFor(candidate), source: 'path' }
    }
  }
  throw new UserError('No ClickHouse server binary found (looked for `clickhouse` and `clickhouse-server` on PATH and in the system dirs).', {
    suggestions: NOT_FOUND_SUGGESTIONS,
  })
}

/**
 * Official static builds live at `https://builds.clickhouse.com/master/<dir>/clickhouse`, the
 * layout the installer at https://clickhouse.com/ uses; `<dir>` is chosen per platform below.
 */
export const OFFICIAL_BUILDS_URL = 'https://builds.clickhouse.com/master'

/** Overrides the base URL, e.g. for a mirror holding pinned releases with their checksums. */
export const DOWNLOAD_URL_ENV = 'KRAFTER_ENGINE_CLICKHOUSE_DOWNLOAD_URL'

/**
 * The build directory for a platform, mirroring the official installer: x86-64 builds need
 * AVX2 (else the compat build), the aarch64 build needs ARMv8.2 (else v8.0 compat).
 */
export const clickhouseBuildDir = (platform: NodeJS.Platform, arch: string, cpuinfo = ''): string => {
  if (platform === 'linux') {
    if (arch === 'x64') return cpuinfo === '' || /\bavx2\b/.test(cpuinfo) ? 'amd64' : 'amd64compat'
    if (arch === 'arm64') {
      const features = /^Features\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? ''
      const v82 = ['asimd', 'sha1', 'aes', 'atomics', 'lrcpc'].every((f) => new RegExp(`\\b${f}\\b`).test(features))
      return cpuinfo === '' || v82 ? 'aarch64' : 'aarch64v80compat'
    }
    if (arch === 'ppc64') return 'powerpc64le'
    if (arch === 'riscv64') return 'riscv64'
    if (arch === 's390x') return 's390x'
  }
  if (platform === 'darwin') {
    if (arch === 'x64') return 'macos'
    if (arch === 'arm64') return 'macos-aarch64'
  }
  if (platform === 'freebsd' && arch === 'x64') return 'freebsd'
  throw new UserError(`There is no official ClickHouse build for ${platform}/${arch}.`, {
    suggestions: ['Build or install ClickHouse yourself and pass `--clickhouse-binary PATH`, or use `--engine embedded`.'],
  })
}

const readCpuinfo = (): string => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8')
  } catch {
    return ''
  }
}

/**
 * Reads a published SHA-512: either the bare hex digest or `sha512sum` output
 * (`<hex>  <file name>` per line). With several lines, the one naming `clickhouse` wins.
 */
export const parseSha512 = (text: string): string | undefined => {
  const entries = text
    .split(/\r?\n/)
    .map((line) => /^\s*([0-9a-fA-F]{128})(?:\s+\*?(\S.*))?\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ hex: m[1]!.toLowerCase(), name: m[2]?.trim() }))
  const named = entries.find((e) => e.name !== undefined && path.basename(e.name) === 'clickhouse')
  return (named ?? entries[0])?.hex
}

export interface DownloadClickhouseOptions {
  /** Where the binary ends up, as `<destDir>/clickhouse` (the data dir's clickhouse/bin). */
  destDir: string
  platform?: NodeJS.Platform
  arch?: string
  /** /proc/cpuinfo text for the build choice; read from the machine when absent. */
  cpuinfo?: string
  /** Instead of OFFICIAL_BUILDS_URL (or $KRAFTER_ENGINE_CLICKHOUSE_DOWNLOAD_URL). */
  baseUrl?: string
  /** A pinned SHA-512 (hex); when absent, the one published at `<url>.sha512` is required. */
  sha512?: string
  env?: NodeJS.ProcessEnv
  fetch?: typeof fetch
  onProgress?: (progress: { receivedBytes: number; totalBytes?: number }) => void
}

export interface DownloadedClickhouse extends ClickhouseBinary {
  url: string
  sha512: string
  bytes: number
}

const DOWNLOAD_SUGGESTIONS = [
  'Check the network (and HTTPS proxy settings) of this machine, or set KRAFTER_ENGINE_CLICKHOUSE_DOWNLOAD_URL to a mirror.',
  'Or install ClickHouse another way and pass `--clickhouse-binary PATH`.',
]

const fetchOrFail = async (doFetch: typeof fetch, url: string, what: string): Promise<Response> => {
  let response: Response
  try {
    response = await doFetch(url, { redirect: 'follow' })
  } catch (err) {
    throw new UserError(`Could not download ${what} from ${url}: ${errorMessage(err)}`, { suggestions: DOWNLOAD_SUGGESTIONS, cause: err })
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined)
    throw new UserError(`Could not download ${what} from ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd(), {
      suggestions: DOWNLOAD_SUGGESTIONS,
    })
  }
  return response
}

/**
 * Downloads the official static ClickHouse build for this platform into `destDir`.
 *
 * Checksum scheme: the expected SHA-512 is either pinned by the caller (`sha512`) or read from
 * `<binary url>.sha512`, in `sha512sum` format or as the bare hex digest (the format of the
 * .sha512 files ClickHouse publishes with its release packages). Nothing assumes the source has
 * one: without a checksum the download is refused, and that is decided before fetching the
 * binary (several hundred MB). The binary is streamed to a temp file in destDir
 * while hashed, and only a matching file is made executable and renamed into place (atomic on
 * one file system); anything else deletes the temp file, so a partial or tampered download is
 * never left where the supervisor would start it.
 */
export const downloadClickhouseBinary = async (options: DownloadClickhouseOptions): Promise<DownloadedClickhouse> => {
  const env = options.env ?? process.env
  const platform = options.platform ?? process.platform
  const arch = options.arch ?? process.arch
  const doFetch = options.fetch ?? fetch
  const cpuinfo = options.cpuinfo ?? (platform === process.platform && platform === 'linux' ? readCpuinfo() : '')
  const baseUrl = (options.baseUrl ?? env[DOWNLOAD_URL_ENV] ?? OFFICIAL_BUILDS_URL).replace(/\/+$/, '')
  const url = `${baseUrl}/${clickhouseBuildDir(platform, arch, cpuinfo)}/clickhouse`

  let expected: string | undefined
  if (options.sha512 !== undefined) {
    expected = parseSha512(options.sha512)
    if (expected === undefined) throw new UserError('The pinned ClickHouse checksum is not a SHA-512 hex digest (128 hex characters).')
  } else {
    const checksumUrl = `${url}.sha512`
    const text = await (await fetchOrFail(doFetch, checksumUrl, 'the ClickHouse checksum')).text()
    expected = parseSha512(text)
    if (expected === undefined) {
      throw new UserError(`${checksumUrl} does not hold a SHA-512 digest; refusing to install an unverified binary.`, {
        suggestions: DOWNLOAD_SUGGESTIONS,
      })
    }
  }

  await mkdir(options.destDir, { recursive: true, mode: 0o700 })
  const finalPath = path.join(options.destDir, 'clickhouse')
  const tempPath = path.join(options.destDir, `.clickhouse.download-${process.pid}-${randomBytes(4).toString('hex')}`)
  const response = await fetchOrFail(doFetch, url, 'the ClickHouse binary')
  if (response.body === null) throw new UserError(`Could not download the ClickHouse binary from ${url}: empty response.`)
  const totalHeader = Number.parseInt(response.headers.get('content-length') ?? '', 10)
  const totalBytes = Number.isFinite(totalHeader) ? totalHeader : undefined

  const hash = createHash('sha512')
  let receivedBytes = 0
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      receivedBytes += chunk.length
      options.onProgress?.({ receivedBytes, totalBytes })
      done(null, chunk)
    },
  })
  try {
    try {
      await pipeline(
        Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>),
        hashing,
        createWriteStream(tempPath, { mode: 0o600 }),
      )
    } catch (err) {
      throw new UserError(`The download of ${url} failed after ${receivedBytes} bytes: ${errorMessage(err)}`, {
        suggestions: DOWNLOAD_SUGGESTIONS,
        cause: err,
      })
    }
    if (totalBytes !== undefined && receivedBytes !== totalBytes) {
      throw new UserError(`The download of ${url} was cut short (${receivedBytes} of ${totalBytes} bytes).`, { suggestions: DOWNLOAD_SUGGESTIONS })
    }
    const actual = hash.digest('hex')
    if (actual !== expected) {
      throw new UserError(
        `Checksum mismatch for ${url}: expected SHA-512 ${expected}, got ${actual}. The download was discarded.`,
        { suggestions: ['Retry later (the build may have been replaced while downloading); if it persists, the source or the network is not to be trusted.'] },
      )
    }
    await chmod(tempPath, 0o755)
    await rename(tempPath, finalPath)
  } catch (err) {
    await rm(tempPath, { force: true })
    throw err
  }
  return { path: finalPath, argsPrefix: ['server'], source: 'download', url, sha512: expected, bytes: receivedBytes }
}
