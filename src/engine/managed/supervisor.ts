import { readFileSync, rmSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { UserError, errorMessage } from '../../errors.js'
import { commandLineOf, pidAlive } from '../../pid.js'
import type { ClickhouseBinary } from '../clickhouse-binary.js'
import { clickhouseCommandLine, writeClickhouseConfig } from './config-xml.js'
import { pingClickhouse, queryClickhouse } from './http.js'
import { clickhousePaths, DEFAULT_HTTP_PORT, DEFAULT_TCP_PORT, writePrivateFile, type ClickhousePaths } from './layout.js'
import { fileSize, tailSince } from './log-tail.js'
import { describeExit, spawnServer, type ChildExit } from './process.js'
import {
  clickhouseConnectionParams,
  ensureClickhouseSecrets,
  readClickhouseSecrets,
  type ClickhouseConnectionParams,
  type ClickhouseSecrets,
} from './secrets.js'

/*
 * The managed engine's state machine: the one place that starts, watches, restarts and stops
 * the `clickhouse server` child. Its files (layout.ts), credentials (secrets.ts), config
 * (config-xml.ts), process (process.ts, the only execa user) and HTTP probes (http.ts) each
 * have a module of their own. Everything the child owns lives under the data dir, so two data
 * dirs never share a server.
 */

export type { ChildExit } from './process.js'

export type ClickhouseState = 'starting' | 'up' | 'down' | 'stopped'

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
    const server = spawnServer({
      file,
      args,
      cwd: this.paths.root,
      env: this.env,
      stdoutLog: this.paths.stdoutLog,
      stderrLog: this.paths.stderrLog,
    })
    const child: Child = {
      pid: server.pid,
      alive: true,
      logOffsets,
      kill: (signal) => {
        if (child.alive) server.kill(signal)
      },
      exited: server.exited,
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

  private query(sql: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    return queryClickhouse(this.url, this.connectionParams(), sql, timeoutMs)
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
