import type { Logger } from 'pino'
import type { Engine } from '../engine/engine.js'
import { logTable } from '../engine/schema.js'
import { engineErrorKind, engineUnavailable } from '../engine/errors.js'
import { AppError } from '../errors.js'
import type { Metrics } from '../metrics/metrics.js'
import { Readable } from 'node:stream'

/** What became of one request's rows: stored, except those at `refused` (indices into its rows). */
export interface InsertOutcome {
  refused: number[]
  /**
   * Set when the rows are durable before they are readable (the spool): settles once the engine
   * has them (the live tail's watermark waits for it). Absent: readable on return.
   */
  visible?: Promise<void>
}

/** What the ingest pipeline writes rows through: the batcher (engine commit) or the spool. */
export interface RowWriter {
  insert(rows: string[]): Promise<InsertOutcome>
  drain(): Promise<void>
  /** Resolves once every row answered so far is readable (the spool: in the engine). */
  visible(): Promise<void>
  /** After drain, at shutdown: what is not in the engine yet stays where the next start finds it. */
  close(): Promise<void>
  failingSince(recentMs?: number): { since: Date; error: string } | null
  readonly stats: BatcherStats
  /** The spool's backlog; null when rows go straight to the engine. */
  spoolStats(): SpoolStats | null
}

export interface SpoolStats {
  /** Rows durable in the spool that the engine has not taken yet, and their size. */
  rows: number
  bytes: number
  segments: number
  /** Rows the engine refused as data after they were accepted, kept in the spool's refused.ndjson. */
  refused_rows: number
}

interface Waiter {
  /** JSONEachRow lines, newline-terminated. */
  rows: string[]
  resolve: (outcome: InsertOutcome) => void
  /** An AppError (the client hears it), or a bug in our insert or schema (a 500). */
  reject: (err: unknown) => void
}

const STORED: InsertOutcome = Object.freeze({ refused: [] }) as InsertOutcome

const unavailable = (cause: unknown): AppError =>
  new AppError('engine_unavailable', 'The log engine did not take the entries; nothing was stored. Retry.', {
    cause,
    headers: { 'retry-after': '1' },
  })

export interface BatcherStats {
  /** Insert requests received (one per ingest HTTP request). */
  requests: number
  /** Engine INSERT statements issued. */
  inserts: number
  rows: number
  failed_inserts: number
  /** Wall time spent in engine inserts, ms. */
  insert_ms: number
}

/** A deduplication token is ours (a spool segment's UUID and a row range): checked, then inlined. */
const TOKEN = /^[0-9a-f-]{36}(:\d+-\d+|:file)?$/

/** The log table's columns a row names (every one but the MATERIALIZED and ALIAS ones), in order. */
const insertColumns = async (engine: Engine): Promise<{ name: string; type: string }[]> => {
  const table = logTable(engine)
  const rows = await (await engine.client.query({ query: `DESCRIBE TABLE ${table}`, format: 'JSONEachRow' })).json<{ name: string; type: string; default_type: string }>()
  const columns = rows.filter((c) => c.default_type !== 'MATERIALIZED' && c.default_type !== 'ALIAS' && /^[a-z_]+$/.test(c.name))
  if (columns.length === 0) throw new Error(`${table} has no columns to insert`)
  return columns
}

/**
 * The engine side of storing rows, shared by the batcher and the spool: one INSERT of
 * JSONEachRow lines, its timing and counters, and, when the engine refuses some rows as data,
 * halving the insert until the refused rows are found so every other row is stored.
 */
export class EngineWriter {
  readonly stats: BatcherStats = { requests: 0, inserts: 0, rows: 0, failed_inserts: 0, insert_ms: 0 }
  /** Inserts the engine failed (unable, not for data) since the last one it took. */
  private failing: { since: Date; last: Date; error: string } | null = null
  private columns: { name: string; type: string }[] | undefined

  constructor(
    readonly engine: Engine,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Whether inserts fail now: the last insert failed within `recentMs` and none succeeded since
   * (healthz reports degraded). Once no insert has been tried for that long it is no longer
   * known, and the engine's ping decides alone.
   */
  failingSince(recentMs = 60_000): { since: Date; error: string } | null {
    const f = this.failing
    if (!f || this.clock().getTime() - f.last.getTime() > recentMs) return null
    return { since: f.since, error: f.error }
  }

  /**
   * One INSERT of `body`. With a `token` the engine skips blocks it already took under the same
   * token (the log table's deduplication window, schema migration 6): a spool segment inserted
   * again after a crash between the insert and its removal is not stored twice.
   */
  async exec(body: string, rowCount: number, token?: string): Promise<void> {
    if (token !== undefined && !TOKEN.test(token)) throw new Error(`not a deduplication token: ${token}`)
    // Rows arrive already encoded as JSONEachRow lines: exec sends them as they are instead
    // of the client encoding every row object again.
    // Without a token nothing is deduplicated: two inserts of equal rows are two inserts.
    const settings = token === undefined ? ' SETTINGS insert_deduplicate = 0' : ` SETTINGS insert_deduplication_token = '${token}'`
    await this.timed(rowCount, async () => {
      const { stream } = await this.engine.client.exec({
        query: `INSERT INTO ${logTable(this.engine)}${settings} FORMAT JSONEachRow`,
        values: Readable.from([body], { objectMode: false }),
      })
      stream.destroy()
    })
  }

  /**
   * One INSERT of a JSONEachRow file the engine reads itself (the embedded engine, in this
   * process: its own parallel parsing, no rows through the client), under a deduplication token.
   * The columns are the table's own, read from the engine once.
   */
  async execFile(file: string, rowCount: number, token: string): Promise<void> {
    if (!TOKEN.test(token)) throw new Error(`not a deduplication token: ${token}`)
    const columns = (this.columns ??= await insertColumns(this.engine))
    const names = columns.map((c) => c.name).join(', ')
    const structure = columns.map((c) => `${c.name} ${c.type}`).join(', ')
    await this.timed(rowCount, () =>
      this.engine.client
        .command({
          query: `INSERT INTO ${logTable(this.engine)} (${names}) SELECT ${names} FROM file({file:String}, 'JSONEachRow', {structure:String})
            SETTINGS insert_deduplication_token = '${token}'`,
          query_params: { file, structure },
        })
        .then(() => undefined),
    )
  }

  /** Runs one INSERT, timing it; counts it once it has returned. */
  private async timed(rowCount: number, insert: () => Promise<void>): Promise<void> {
    const started = performance.now()
    try {
      await insert()
    } finally {
      const ms = performance.now() - started
      this.stats.insert_ms += Math.round(ms)
      this.metrics?.engineInsertSeconds.observe(ms / 1000)
    }
    this.stats.inserts++
    this.stats.rows += rowCount
    this.metrics?.engineInserts.inc({ result: 'ok' })
    this.failing = null
  }

  failed(err: unknown, rowCount: number, kind: string): void {
    this.stats.failed_inserts++
    this.metrics?.engineInserts.inc({ result: kind === 'data' ? 'refused_data' : 'failed' })
    if (kind !== 'data') {
      const now = this.clock()
      const error = err instanceof Error ? err.message.slice(0, 300) : String(err)
      this.failing = { since: this.failing?.since ?? now, last: now, error }
      this.logger?.error({ err, rows: rowCount }, 'engine insert failed')
    }
  }

  /**
   * Stores rows[from, to) in halves around the refused ones; returns their indices. Throws
   * only classified failures: 503s (AppError), or a bug as it is.
   */
  async isolate(rows: string[], from: number, to: number, stored = { any: false }, token?: string): Promise<InsertOutcome> {
    try {
      await this.exec(rows.slice(from, to).join(''), to - from, token === undefined ? undefined : `${token.split(':')[0]}:${from}-${to}`)
      stored.any = true
      return STORED
    } catch (err) {
      const kind = engineErrorKind(err)
      this.failed(err, to - from, kind)
      if (kind === 'bug') throw err
      if (kind !== 'data') {
        // Part of this request is stored already: a 503 would make the client send it again.
        if (stored.any) throw new AppError('engine_unavailable', 'The log engine failed while storing part of this request; retry.', { cause: err, headers: { 'retry-after': '1' } })
        throw unavailable(err)
      }
      if (to - from === 1) return { refused: [from] }
      const mid = from + Math.ceil((to - from) / 2)
      const left = await this.isolate(rows, from, mid, stored, token)
      const right = await this.isolate(rows, mid, to, stored, token)
      return { refused: [...left.refused, ...right.refused] }
    }
  }
}

/**
 * Group commit for log entries: concurrent requests queue their rows, one engine INSERT takes
 * all that are queued, and each request's promise settles only when the INSERT holding its
 * rows has returned. While an insert runs the next group collects, so under load the number
 * of inserts stays far below the number of requests without adding latency when idle.
 */
export class InsertBatcher implements RowWriter {
  private queue: Waiter[] = []
  private queuedRows = 0
  private inFlight: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  /** Requests expected soon: those queued when the last insert returned plus those it answered. */
  private expected = 0
  private refillUntil = 0
  private readonly writer: EngineWriter

  constructor(
    private readonly engine: Engine,
    private readonly options: {
      flushWindowMs: number
      maxBatchRows: number
      refillWaitMs?: number
      /** Runs right before every insert (the usage meter makes its reservations durable). */
      beforeWrite?: () => void
    },
    private readonly logger?: Logger,
    metrics?: Metrics,
    clock: () => Date = () => new Date(),
  ) {
    this.writer = new EngineWriter(engine, logger, metrics, clock)
  }

  get stats(): BatcherStats {
    return this.writer.stats
  }

  failingSince(recentMs = 60_000): { since: Date; error: string } | null {
    return this.writer.failingSince(recentMs)
  }

  spoolStats(): null {
    return null
  }

  async close(): Promise<void> {}

  /** A request is answered only once its rows are in the engine. */
  async visible(): Promise<void> {}

  insert(rows: string[]): Promise<InsertOutcome> {
    this.writer.stats.requests++
    // A supervised engine known to be down: refuse now (503) rather than queue for it.
    if (this.engine.available && !this.engine.available()) {
      return Promise.reject(engineUnavailable(undefined, 'The log engine is restarting; nothing was stored. Retry shortly.'))
    }
    return new Promise<InsertOutcome>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject })
      this.queuedRows += rows.length
      this.schedule()
    })
  }

  /** Resolves once everything queued so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight || this.queue.length > 0) {
      this.flush()
      await this.inFlight
    }
  }

  /**
   * An insert costs the engine nearly the same for 1 row as for 500 (measured: 24 ms for 128
   * rows, 29 ms for 512), so under load the clients an insert just answered are worth waiting
   * for: their next requests arrive within a few ms, and one insert then takes them all
   * instead of two half-sized ones alternating. The wait ends as soon as they are there, and
   * never lasts longer than refillWaitMs; a lone client (expected = 1) never waits for it.
   */
  private schedule(): void {
    if (this.inFlight) return
    const now = performance.now()
    if (this.queuedRows >= this.options.maxBatchRows || (this.expected > 1 && this.queue.length >= this.expected)) {
      this.flush()
    } else if (this.expected > 1 && now < this.refillUntil) {
      this.timer ??= setTimeout(() => {
        this.timer = null
        this.flush()
      }, Math.ceil(this.refillUntil - now))
    } else if (this.options.flushWindowMs === 0) {
      this.flush()
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = null
        this.flush()
      }, this.options.flushWindowMs)
    }
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    const group: Waiter[] = []
    let rows = 0
    while (this.queue.length > 0 && (group.length === 0 || rows + this.queue[0]!.rows.length <= this.options.maxBatchRows)) {
      const waiter = this.queue.shift()!
      group.push(waiter)
      rows += waiter.rows.length
    }
    this.queuedRows -= rows
    this.expected = 0
    this.inFlight = this.write(group, rows).finally(() => {
      this.inFlight = null
      this.expected = this.queue.length + group.length
      this.refillUntil = performance.now() + (this.options.refillWaitMs ?? 0)
      if (this.queue.length > 0) this.schedule()
    })
  }

  private async write(group: Waiter[], rowCount: number): Promise<void> {
    try {
      this.options.beforeWrite?.()
    } catch (err) {
      // The daily usage cannot be recorded (a full disk): store nothing rather than uncounted rows.
      this.logger?.error({ err }, 'could not record usage before an insert; refusing it')
      const failure = new AppError('engine_unavailable', 'Usage could not be recorded (is the data directory\'s disk full?); nothing was stored. Retry.', {
        cause: err,
        headers: { 'retry-after': '5' },
      })
      for (const w of group) w.reject(failure)
      return
    }
    let body = ''
    for (const w of group) for (const line of w.rows) body += line
    try {
      await this.writer.exec(body, rowCount)
      for (const w of group) w.resolve(STORED)
      return
    } catch (err) {
      const kind = engineErrorKind(err)
      this.writer.failed(err, rowCount, kind)
      if (kind !== 'data') {
        const failure = kind === 'bug' ? err : unavailable(err)
        for (const w of group) w.reject(failure)
        return
      }
      this.logger?.warn({ rows: rowCount, requests: group.length, err: { message: String((err as Error).message).slice(0, 300) } }, 'engine refused rows of a grouped insert; inserting each request on its own')
    }
    // One request's rows failed the insert shared with others. Each request goes on its own,
    // so the others are stored (never a 503 for someone else's data); the one at fault has its
    // rows split until the refused ones are found, and it hears which.
    for (const w of group) {
      try {
        w.resolve(await this.writer.isolate(w.rows, 0, w.rows.length))
      } catch (err) {
        // isolate() throws only classified failures: 503s, or a bug as it is.
        w.reject(err)
      }
    }
  }
}
