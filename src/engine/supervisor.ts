import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { execa } from 'execa'
import { dataPaths } from '../config/paths.js'
import { AppError, UserError, errorMessage } from '../errors.js'
import { commandLineOf, pidAlive } from '../pid.js'
import { TEMPLATES_DIR } from '../version.js'
import type { ClickhouseBinary } from './clickhouse-binary.js'

/*
 * The managed engine's process module: the one place that starts, watches and stops the
 * `clickhouse server` child (and the only engine module that imports execa). Everything the
 * child owns lives under the data dir, so two data dirs never share a server.
 */

/** Where the managed server keeps its files, under the data dir. */
export interface ClickhousePaths {
  /** <data dir>/clickhouse */
  root: string
  /** Where `init --clickhouse-download` puts the binary. */
  bin: string
  /** Rendered config.xml and users.xml (0700: users.xml holds the password hash). */
  configDir: string
  config: string
  users: string
  /** The server's `path`: tables, metadata, tmp, user_files, format_schemas. */
  data: string
  /** The krafter user's password, 0600. */
  secrets: string
  /** Pid of the child, to find it again after serve itself was killed. */
  pidFile: string
  /** <data dir>/logs/clickhouse: the server's own logs and the child's stdout/stderr. */
  logs: string
  serverLog: string
  errorLog: string
  stdoutLog: string
  stderrLog: string
}

export const clickhousePaths = (dataDir: string): ClickhousePaths => {
  const root = path.join(dataDir, 'clickhouse')
  const configDir = path.join(root, 'config')
  const logs = path.join(dataPaths(dataDir).logs, 'clickhouse')
  return {
    root,
    bin: path.join(root, 'bin'),
    configDir,
    config: path.join(configDir, 'config.xml'),
    users: path.join(configDir, 'users.xml'),
    data: path.join(root, 'data'),
    secrets: path.join(root, 'secrets.json'),
    pidFile: path.join(root, 'server.pid'),
    logs,
    serverLog: path.join(logs, 'clickhouse-server.log'),
    errorLog: path.join(logs, 'clickhouse-server.err.log'),
    stdoutLog: path.join(logs, 'stdout.log'),
    stderrLog: path.join(logs, 'stderr.log'),
  }
}

/** The user serve connects as; `default` is locked (see templates/clickhouse/users.xml). */
export const CLICKHOUSE_USER = 'krafter'

/** Away from ClickHouse's own 8123/9000, so a system server on the same machine does not clash. */
export const DEFAULT_HTTP_PORT = 18123
export const DEFAULT_TCP_PORT = 19000

export interface ClickhouseSecrets {
  user: string
  password: string
}

const parseSecrets = (text: string): ClickhouseSecrets | undefined => {
  try {
    const value = JSON.parse(text) as Partial<ClickhouseSecrets>
    if (typeof value.user === 'string' && value.user !== '' && typeof value.password === 'string' && value.password !== '') {
      return { user: value.user, password: value.password }
    }
  } catch {
    // reported by the callers
  }
  return undefined
}

export const readClickhouseSecrets = (paths: ClickhousePaths): ClickhouseSecrets => {
  let text: string
  try {
    text = readFileSync(paths.secrets, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`No managed engine credentials at ${paths.secrets}.`, {
        suggestions: ['Run `krafter-logs serve` once (it creates them), or `krafter-logs init --engine managed` on a new data dir.'],
      })
    }
    throw err
  }
  const secrets = parseSecrets(text)
  if (secrets === undefined) {
    throw new UserError(`${paths.secrets} is damaged (expected {"user", "password"}).`, {
      suggestions: ['Delete it and restart `krafter-logs serve`: a new password is generated and written into the server config.'],
    })
  }
  return secrets
}

/**
 * The krafter user's password: read from the secrets file, or generated once. It stays the same
 * across restarts so clients built from it keep working while the child is restarted.
 */
export const ensureClickhouseSecrets = (paths: ClickhousePaths): ClickhouseSecrets => {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 })
  const secrets: ClickhouseSecrets = { user: CLICKHOUSE_USER, password: randomBytes(32).toString('base64url') }
  try {
    writeFileSync(paths.secrets, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    return secrets
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  // A copied or restored data dir may have lost the mode; the file is a credential.
  chmodSync(paths.secrets, 0o600)
  return readClickhouseSecrets(paths)
}

export interface ClickhouseConnectionParams {
  url: string
  username: string
  password: string
}

/** What `createClient` of @clickhouse/client needs to reach the managed server. */
export const clickhouseConnectionParams = (options: { httpPort: number; secrets: ClickhouseSecrets }): ClickhouseConnectionParams => ({
  url: `http://127.0.0.1:${options.httpPort}`,
  username: options.secrets.user,
  password: options.secrets.password,
})

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

const xmlText = (value: string): string =>
  value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

export const renderTemplate = (template: string, values: Record<string, string>): string =>
  template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_match, key: string) => {
    const value = values[key]
    if (value === undefined) throw new Error(`ClickHouse template placeholder {{${key}}} has no value`)
    return xmlText(value)
  })

const writePrivateFile = (file: string, text: string): void => {
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, text, { mode: 0o600 })
  renameSync(temp, file)
}

/**
 * Renders templates/clickhouse/{config,users}.xml into the data dir. Rewritten before every
 * start so a changed port or an upgraded template takes effect without a migration.
 */
export const writeClickhouseConfig = (options: {
  paths: ClickhousePaths
  httpPort: number
  tcpPort: number
  secrets: ClickhouseSecrets
}): void => {
  const { paths } = options
  for (const dir of [paths.configDir, paths.data]) mkdirSync(dir, { recursive: true, mode: 0o700 })
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 })
  const template = (name: string): string => readFileSync(path.join(TEMPLATES_DIR, 'clickhouse', name), 'utf8')
  writePrivateFile(
    paths.config,
    renderTemplate(template('config.xml'), {
      LOG_DIR: paths.logs,
      HTTP_PORT: String(options.httpPort),
      TCP_PORT: String(options.tcpPort),
      DATA_DIR: paths.data,
      USERS_CONFIG: paths.users,
    }),
  )
  writePrivateFile(
    paths.users,
    renderTemplate(template('users.xml'), {
      PASSWORD_SHA256: sha256Hex(options.secrets.password),
      DEFAULT_PASSWORD_SHA256: sha256Hex(randomBytes(32).toString('hex')),
    }),
  )
}

export const clickhouseCommandLine = (binary: ClickhouseBinary, paths: ClickhousePaths): { file: string; args: string[] } => ({
  file: binary.path,
  args: [...binary.argsPrefix, `--config-file=${paths.config}`],
})

/**
 * The version a binary reports for `--version`, or undefined when it does not say (Debian's
 * 18.16 clickhouse-server rejects the option). The server's `SELECT version()` is what the
 * version gate trusts; this is only for telling the operator early.
 */
export const probeClickhouseVersion = async (binary: ClickhouseBinary): Promise<string | undefined> => {
  const result = await execa(binary.path, [...binary.argsPrefix, '--version'], { reject: false, timeout: 15_000, stdin: 'ignore' })
  if (result.failed) return undefined
  return /version\s+(\d+(?:\.\d+)+)/i.exec(`${result.stdout}\n${result.stderr}`)?.[1]
}

/**
 * One GET on a connection of its own. Not fetch: its pool keeps idle keep-alive sockets, and
 * ClickHouse waits for open connections on SIGTERM, so pings alone slowed every stop by seconds.
 */
const httpGet = (url: string, options: { headers?: Record<string, string>; timeoutMs: number }): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { ...options.headers, connection: 'close' }, timeout: options.timeoutMs }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      response.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${options.timeoutMs} ms`)))
    request.on('error', reject)
  })

/** True when a ClickHouse HTTP interface answers `/ping` with `Ok.`. */
export const pingClickhouse = async (url: string, timeoutMs = 1000): Promise<boolean> => {
  try {
    const { status, text } = await httpGet(`${url}/ping`, { timeoutMs })
    return status === 200 && text.trim() === 'Ok.'
  } catch {
    return false
  }
}

export type ClickhouseState = 'starting' | 'up' | 'down' | 'stopped'

export interface ChildExit {
  exitCode?: number
  signal?: string
  /** Why it could not be spawned at all (e.g. ENOENT). */
  error?: string
}

const describeExit = (exit: ChildExit): string =>
  exit.error ?? (exit.signal !== undefined ? `it was killed by ${exit.signal}` : `it exited with code ${exit.exitCode ?? '?'}`)

/** pino's methods fit this shape; the supervisor logs state changes and restarts through it. */
export interface SupervisorLogger {
  info(details: object, message: string): void
  warn(details: object, message: string): void
  error(details: object, message: string): void
}

const silentLogger: SupervisorLogger = { info() {}, warn() {}, error() {} }

export interface BackoffOptions {
  /** Wait before the first restart; doubled for each restart that follows a short life. */
  initialMs: number
  maxMs: number
  /** A child that stayed up this long counts as healthy: the next restart waits initialMs again. */
  resetAfterMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 }

export interface ClickhouseSupervisorOptions {
  dataDir: string
  binary: ClickhouseBinary
  httpPort?: number
  tcpPort?: number
  /** How long a start may take to answer /ping; a big data dir loads its parts first. */
  startTimeoutMs?: number
  /** SIGTERM → SIGKILL grace on stop; ClickHouse waits for running queries and flushes logs. */
  stopTimeoutMs?: number
  /** Ping interval while up (0 disables); a child that stops answering is killed and restarted. */
  healthIntervalMs?: number
  /** Consecutive failed pings before a live but unresponsive child is restarted. */
  healthFailures?: number
  backoff?: Partial<BackoffOptions>
  logger?: SupervisorLogger
  /** Extra environment for the child, on top of this process's. */
  env?: Record<string, string>
}

/** A start that failed: names the command, its arguments and what the logs said. */
export class ClickhouseStartError extends UserError {
  readonly command: string
  readonly args: string[]
  readonly exit?: ChildExit

  constructor(message: string, options: { command: string; args: string[]; exit?: ChildExit; suggestions: string[] }) {
    super(message, { suggestions: options.suggestions })
    this.name = 'ClickhouseStartError'
    this.command = options.command
    this.args = options.args
    this.exit = options.exit
  }
}

interface Child {
  pid?: number
  alive: boolean
  exited: Promise<ChildExit>
  kill(signal: NodeJS.Signals): void
  upAt?: number
  /** Sizes of the log files at spawn, to show what this start added to them. */
  logOffsets: Map<string, number>
}

type StartOutcome = 'up' | 'exited' | 'timeout' | 'foreign' | 'stopped'

const fileSize = (file: string): number => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

const tailSince = (file: string, offset: number, lines: number): string[] => {
  try {
    const size = fileSize(file)
    const from = Math.max(offset, size - 64 * 1024)
    const buffer = Buffer.alloc(Math.max(0, size - from))
    const fd = openSync(file, 'r')
    try {
      readSync(fd, buffer, 0, buffer.length, from)
    } finally {
      closeSync(fd)
    }
    return buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines)
  } catch {
    return []
  }
}

/**
 * Runs the managed `clickhouse server`: renders its config, starts it, waits for /ping, restarts
 * it with exponential backoff when it dies, and stops it with SIGTERM (then SIGKILL). The HTTP
 * layer reads `isUp()` / `onState()` to answer 503 engine_unavailable while it is not up.
 */
export class ClickhouseSupervisor {
  readonly paths: ClickhousePaths
  readonly httpPort: number
  readonly tcpPort: number
  readonly url: string
  private readonly binary: ClickhouseBinary
  private readonly startTimeoutMs: number
  private readonly stopTimeoutMs: number
  private readonly healthIntervalMs: number
  private readonly healthFailures: number
  private readonly backoff: BackoffOptions
  private readonly logger: SupervisorLogger
  private readonly env: Record<string, string>
  private current: ClickhouseState = 'stopped'
  private readonly listeners = new Set<(state: ClickhouseState) => void>()
  private child?: Child
  private loop?: Promise<void>
  private stopping = false
  private abort = new AbortController()
  private healthTimer?: NodeJS.Timeout
  private secrets?: ClickhouseSecrets
  private restartCount = 0
  private lastExitValue?: ChildExit

  constructor(options: ClickhouseSupervisorOptions) {
    this.paths = clickhousePaths(options.dataDir)
    this.binary = options.binary
    this.httpPort = options.httpPort ?? DEFAULT_HTTP_PORT
    this.tcpPort = options.tcpPort ?? DEFAULT_TCP_PORT
    this.url = `http://127.0.0.1:${this.httpPort}`
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000
    this.healthIntervalMs = options.healthIntervalMs ?? 5_000
    this.healthFailures = options.healthFailures ?? 3
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    this.logger = options.logger ?? silentLogger
    this.env = options.env ?? {}
  }

  get state(): ClickhouseState {
    return this.current
  }

  isUp(): boolean {
    return this.current === 'up'
  }

  /** For paths that must not even try the engine while it is down (ingest: 503, never 202). */
  assertUp(): void {
    if (!this.isUp()) throw new AppError('engine_unavailable', 'The log engine is unavailable; retry shortly')
  }

  get pid(): number | undefined {
    return this.child?.alive === true ? this.child.pid : undefined
  }

  /** Children started after the first one. */
  get restarts(): number {
    return this.restartCount
  }

  get lastExit(): ChildExit | undefined {
    return this.lastExitValue
  }

  /** Calls `listener` on every state change; returns the unsubscribe function. */
  onState(listener: (state: ClickhouseState) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves once the state is `state`; rejects after `timeoutMs`. */
  waitForState(state: ClickhouseState, timeoutMs: number): Promise<void> {
    if (this.current === state) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe()
        reject(new Error(`ClickHouse did not become ${state} within ${timeoutMs} ms (it is ${this.current})`))
      }, timeoutMs)
      const unsubscribe = this.onState((s) => {
        if (s !== state) return
        clearTimeout(timer)
        unsubscribe()
        resolve()
      })
    })
  }

  commandLine(): { file: string; args: string[] } {
    return clickhouseCommandLine(this.binary, this.paths)
  }

  connectionParams(): ClickhouseConnectionParams {
    this.secrets ??= readClickhouseSecrets(this.paths)
    return clickhouseConnectionParams({ httpPort: this.httpPort, secrets: this.secrets })
  }

  /** `SELECT version()` as the krafter user: what the version gate checks. */
  async serverVersion(): Promise<string> {
    const { status, text } = await this.query('SELECT version()', 5_000)
    if (status !== 200) throw new Error(`ClickHouse at ${this.url} refused SELECT version() (HTTP ${status}): ${text.slice(0, 300)}`)
    return text.trim()
  }

  /**
   * Renders the config and starts the server; resolves once it answers. A first start that
   * fails is reported (ClickhouseStartError), not retried: a bad binary, port or config needs
   * the operator. Restarts with backoff only follow a server that was up.
   */
  async start(): Promise<void> {
    if (this.current !== 'stopped' || this.loop !== undefined) throw new Error('ClickhouseSupervisor.start() called twice')
    this.stopping = false
    this.abort = new AbortController()
    this.secrets = ensureClickhouseSecrets(this.paths)
    writeClickhouseConfig({ paths: this.paths, httpPort: this.httpPort, tcpPort: this.tcpPort, secrets: this.secrets })
    await this.reapOrphan()
    const child = this.spawnChild()
    const outcome = await this.waitHealthy(child)
    if (outcome === 'stopped') {
      // stop() came during the start, possibly before this child existed.
      await this.terminate(child, this.stopTimeoutMs)
      this.setState('stopped')
      return
    }
    if (outcome !== 'up') {
      await this.terminate(child, 0)
      this.setState('stopped')
      throw this.startError(child, outcome)
    }
    this.markUp(child)
    this.loop = this.supervise(child)
  }

  /**
   * Stops the server (SIGTERM, then SIGKILL after stopTimeoutMs); nothing restarts it after.
   * Close the engine's client first: ClickHouse waits for open keep-alive connections to end.
   */
  async stop(): Promise<void> {
    this.stopping = true
    this.abort.abort()
    this.stopHealthWatch()
    const child = this.child
    if (child?.alive === true) await this.terminate(child, this.stopTimeoutMs)
    await this.loop
    this.loop = undefined
    this.setState('stopped')
  }

  private setState(state: ClickhouseState): void {
    if (state === this.current) return
    this.current = state
    for (const listener of [...this.listeners]) {
      try {
        listener(state)
      } catch (err) {
        this.logger.error({ err: errorMessage(err) }, 'ClickHouse state listener failed')
      }
    }
  }

  private spawnChild(): Child {
    const { file, args } = this.commandLine()
    const logOffsets = new Map([this.paths.errorLog, this.paths.stderrLog].map((f) => [f, fileSize(f)] as const))
    this.setState('starting')
    const subprocess = execa(file, args, {
      cwd: this.paths.root,
      // Without a watchdog parent the pid we hold is the server itself, so signals reach it.
      env: { ...this.env, CLICKHOUSE_WATCHDOG_ENABLE: '0' },
      stdin: 'ignore',
      stdout: { file: this.paths.stdoutLog, append: true },
      stderr: { file: this.paths.stderrLog, append: true },
      detached: false,
      // If serve dies, the server goes with it instead of holding the ports and the data dir.
      cleanup: true,
      reject: false,
      // stop() owns the SIGTERM → SIGKILL timing (stopTimeoutMs), not execa's 5 s default.
      forceKillAfterDelay: false,
    })
    const child: Child = {
      pid: subprocess.pid,
      alive: true,
      logOffsets,
      kill: (signal) => {
        if (child.alive) subprocess.kill(signal)
      },
      exited: subprocess.then(
        (result): ChildExit =>
          result.exitCode === undefined && result.signal === undefined
            ? { error: result.shortMessage }
            : { exitCode: result.exitCode, signal: result.signal },
        (err: unknown): ChildExit => ({ error: errorMessage(err) }),
      ),
    }
    void child.exited.then((exit) => {
      child.alive = false
      this.lastExitValue = exit
      this.removePidFile(child.pid)
    })
    this.child = child
    if (child.pid !== undefined) writePrivateFile(this.paths.pidFile, String(child.pid))
    this.logger.info({ pid: child.pid, command: file, args }, 'Starting ClickHouse')
    return child
  }

  /** Waits for /ping, then checks our credentials: a foreign server on the port answers pings too. */
  private async waitHealthy(child: Child): Promise<StartOutcome> {
    const deadline = Date.now() + this.startTimeoutMs
    for (;;) {
      if (this.stopping) return 'stopped'
      if (!child.alive) return 'exited'
      if (await pingClickhouse(this.url, 1_000)) {
        const auth = await this.query('SELECT 1', 5_000).catch(() => undefined)
        if (!child.alive) return 'exited'
        if (auth?.status === 200) return 'up'
        if (auth !== undefined && (auth.status === 401 || auth.status === 403 || /Code: (192|193|516)\b/.test(auth.text))) return 'foreign'
      }
      if (Date.now() >= deadline) return 'timeout'
      await Promise.race([this.sleep(100), child.exited])
    }
  }

  private markUp(child: Child): void {
    child.upAt = Date.now()
    this.setState('up')
    this.logger.info({ pid: child.pid, url: this.url }, 'ClickHouse is up')
    this.startHealthWatch(child)
  }

  private async supervise(first: Child): Promise<void> {
    let child = first
    let shortLives = 0
    for (;;) {
      const exit = await child.exited
      this.stopHealthWatch()
      if (this.stopping) break
      if (child.upAt !== undefined && Date.now() - child.upAt >= this.backoff.resetAfterMs) shortLives = 0
      const wait = Math.min(this.backoff.initialMs * 2 ** shortLives, this.backoff.maxMs)
      shortLives++
      this.setState('down')
      this.logger.error(
        { pid: child.pid, ...exit, restartInMs: wait, errorLog: this.paths.errorLog },
        `ClickHouse stopped unexpectedly (${describeExit(exit)}); restarting in ${wait} ms`,
      )
      await this.sleep(wait)
      if (this.stopping) break
      child = this.spawnChild()
      this.restartCount++
      const outcome = await this.waitHealthy(child)
      if (outcome === 'up') this.markUp(child)
      else if (outcome !== 'stopped') {
        this.logger.error({ pid: child.pid, outcome }, 'ClickHouse restart failed; trying again')
        child.kill('SIGKILL')
      }
    }
    this.setState('stopped')
  }

  private startHealthWatch(child: Child): void {
    this.stopHealthWatch()
    if (this.healthIntervalMs <= 0) return
    let failures = 0
    let inFlight = false
    this.healthTimer = setInterval(() => {
      if (inFlight || !child.alive || this.stopping) return
      inFlight = true
      void pingClickhouse(this.url, Math.min(2_000, this.healthIntervalMs))
        .then((ok) => {
          failures = ok ? 0 : failures + 1
          if (failures >= this.healthFailures && child.alive && !this.stopping) {
            this.logger.error({ pid: child.pid, failures }, 'ClickHouse stopped answering /ping; killing it to restart')
            this.setState('down')
            child.kill('SIGKILL')
          }
        })
        .finally(() => {
          inFlight = false
        })
    }, this.healthIntervalMs)
    this.healthTimer.unref()
  }

  private stopHealthWatch(): void {
    if (this.healthTimer !== undefined) clearInterval(this.healthTimer)
    this.healthTimer = undefined
  }

  private async terminate(child: Child, graceMs: number): Promise<void> {
    if (!child.alive) return
    if (graceMs > 0) {
      child.kill('SIGTERM')
      const timer = new AbortController()
      const stopped = await Promise.race([
        child.exited.then(() => true),
        delay(graceMs, false, { signal: timer.signal }).catch(() => false),
      ])
      timer.abort()
      if (stopped) return
      this.logger.warn({ pid: child.pid, graceMs }, 'ClickHouse did not stop after SIGTERM; sending SIGKILL')
    }
    child.kill('SIGKILL')
    await child.exited
  }

  /** Resolves after `ms`, or at once when stop() is called. */
  private async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined)
  }

  private async query(sql: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    const { username, password } = this.connectionParams()
    return httpGet(`${this.url}/?query=${encodeURIComponent(sql)}`, {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      timeoutMs,
    })
  }

  /**
   * A server left running by a serve that was killed outright (SIGKILL skips execa's cleanup)
   * still holds the ports and the data dir. It is stopped only when /proc shows it is ours.
   */
  private async reapOrphan(): Promise<void> {
    let pid: number
    try {
      pid = Number.parseInt(readFileSync(this.paths.pidFile, 'utf8'), 10)
    } catch {
      return
    }
    if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) {
      rmSync(this.paths.pidFile, { force: true })
      return
    }
    if (commandLineOf(pid)?.includes(`--config-file=${this.paths.config}`) !== true) return
    this.logger.warn({ pid }, 'Stopping a ClickHouse server left running by an earlier serve')
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + this.stopTimeoutMs
    while (pidAlive(pid) && Date.now() < deadline) await delay(100)
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL')
    while (pidAlive(pid)) await delay(50)
    rmSync(this.paths.pidFile, { force: true })
  }

  private removePidFile(pid: number | undefined): void {
    try {
      if (pid !== undefined && readFileSync(this.paths.pidFile, 'utf8') === String(pid)) rmSync(this.paths.pidFile, { force: true })
    } catch {
      // already gone
    }
  }

  private startError(child: Child, outcome: Exclude<StartOutcome, 'up' | 'stopped'>): ClickhouseStartError {
    const { file, args } = this.commandLine()
    const exit = outcome === 'exited' ? this.lastExitValue : undefined
    const reason =
      outcome === 'exited'
        ? describeExit(exit ?? {})
        : outcome === 'timeout'
          ? `it did not answer ${this.url}/ping within ${Math.round(this.startTimeoutMs / 1000)} s`
          : `port ${this.httpPort} is answered by another ClickHouse server, which does not know this data dir's credentials`
    const tail = [this.paths.errorLog, this.paths.stderrLog].flatMap((f) => tailSince(f, child.logOffsets.get(f) ?? 0, 10))
    const suggestions = [`Read ${this.paths.errorLog} and ${this.paths.stderrLog}.`]
    if (outcome === 'foreign' || tail.some((l) => /address already in use/i.test(l))) {
      suggestions.push(`Stop whatever listens on 127.0.0.1:${this.httpPort} / ${this.tcpPort}, or give the managed engine other ports.`)
    }
    return new ClickhouseStartError(
      `ClickHouse did not start: ${reason}.\nCommand: ${[file, ...args].join(' ')}${tail.length > 0 ? `\n${tail.join('\n')}` : ''}`,
      { command: file, args, exit, suggestions },
    )
  }
}
