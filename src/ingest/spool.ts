import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync } from 'node:fs'
import { appendFile, open, readFile, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { Engine } from '../engine/engine.js'
import { engineErrorKind } from '../engine/errors.js'
import { AppError } from '../errors.js'
import type { Metrics } from '../metrics/metrics.js'
import { EngineWriter, type BatcherStats, type InsertOutcome, type RowWriter, type SpoolStats } from './batcher.js'

/**
 * The ingest spool (`ingest.commit: spool`): a request is answered once its rows are appended
 * to a local segment file and fsynced, and the engine takes them afterwards in large inserts:
 * one segment per insert, sealed when the engine is free and the segment is sealAfterMs old,
 * so an insert holds every row acknowledged meanwhile (up to max_batch_rows) instead of the
 * few requests that could wait for it. Only counts are kept in memory: the rows are in the
 * file. A segment is removed only once the engine has it; segments left by a crash or an
 * engine that was down are inserted on the next start, under their UUID as deduplication
 * token so a segment inserted twice is stored once.
 *
 * Entries are readable (search, tail) once their segment is inserted: up to sealAfterMs and
 * an insert later than their 202 (drain() and visible() seal at once). The spool is bounded
 * (`ingest.spool_max_mb`): when the engine falls that far behind, requests get a 503 and
 * nothing more is accepted until it catches up.
 */

const SEGMENT = /^(\d{12})-([0-9a-f-]{36})\.ndjson$/
const REFUSED_FILE = 'refused.ndjson'

interface Segment {
  seq: number
  id: string
  file: string
  /** Rows appended (and fsynced); the rows themselves are only in the file. */
  rows: number
  bytes: number
  /** The write in progress into it: the segment is inserted only after it. */
  writing: Promise<void>
  /** Open for appends until sealed. */
  handle: FileHandle | null
  /** When it was opened (performance.now()): sealed once this old, or full, or waited for. */
  openedAt: number
  /** Settles once the engine has the segment's rows. */
  visible: Promise<void>
  markVisible: () => void
}

interface Waiter {
  rows: string[]
  resolve: (outcome: InsertOutcome) => void
  reject: (err: unknown) => void
}

export interface SpoolOptions {
  dir: string
  maxBytes: number
  /** Rows at which a segment is sealed even if the engine is busy: the largest spool insert. */
  maxSegmentRows: number
  /**
   * How long the open segment takes appends before the free engine gets it (default 1,000 ms):
   * larger, fewer inserts and merges under load. drain() and visible() do not wait for it.
   */
  sealAfterMs?: number
  /** Runs right before every append (the usage meter makes its reservations durable). */
  beforeWrite?: () => void
  /** First retry after a failed insert; doubles up to 30 s. */
  retryMs?: number
}

/** A segment's rows as the engine gets them through the client: each line with its newline. */
const readRows = async (file: string): Promise<string[]> => {
  const text = await readFile(file, 'utf8')
  const rows = text.split('\n')
  rows.pop()
  return rows.map((r) => `${r}\n`)
}

const countLines = (file: string): number => {
  if (!existsSync(file)) return 0
  const text = readFileSync(file, 'utf8')
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
  return n
}

const deferred = (): { promise: Promise<void>; resolve: () => void } => {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

export class IngestSpool implements RowWriter {
  private readonly writer: EngineWriter
  private current: Segment | null = null
  private readonly sealed: Segment[] = []
  private queue: Waiter[] = []
  private writing = false
  /** Settles when the append in progress (if any) has finished. */
  private written: Promise<void> = Promise.resolve()
  private inserting: Promise<void> | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private sealTimer: NodeJS.Timeout | null = null
  private retryDelay: number
  private seq = 0
  private backlogBytes = 0
  private backlogRows = 0
  private refusedRows = 0
  private closed = false

  private constructor(
    engine: Engine,
    private readonly options: SpoolOptions,
    private readonly logger?: Logger,
    private readonly metrics?: Metrics,
    clock: () => Date = () => new Date(),
  ) {
    this.writer = new EngineWriter(engine, logger, metrics, clock)
    this.retryDelay = options.retryMs ?? 250
  }

  /** Opens the spool directory and queues the segments a previous run left for the engine. */
  static open(engine: Engine, options: SpoolOptions, logger?: Logger, metrics?: Metrics, clock?: () => Date): IngestSpool {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 })
    const spool = new IngestSpool(engine, options, logger, metrics, clock)
    spool.recover()
    return spool
  }

  /** Whether a spool directory holds segments (left by a run with ingest.commit: spool). */
  static hasSegments(dir: string): boolean {
    return existsSync(dir) && readdirSync(dir).some((n) => SEGMENT.test(n))
  }

  get stats(): BatcherStats {
    return this.writer.stats
  }

  failingSince(recentMs = 60_000): { since: Date; error: string } | null {
    return this.writer.failingSince(recentMs)
  }

  spoolStats(): SpoolStats {
    return {
      rows: this.backlogRows,
      bytes: this.backlogBytes,
      segments: this.sealed.length + (this.current && this.current.rows > 0 ? 1 : 0),
      refused_rows: this.refusedRows,
    }
  }

  insert(rows: string[]): Promise<InsertOutcome> {
    this.writer.stats.requests++
    if (this.closed) return Promise.reject(new AppError('engine_unavailable', 'The server is stopping; nothing was stored. Retry.', { headers: { 'retry-after': '1' } }))
    // Against what is on disk already (its size is known from the appends): a full spool takes
    // nothing more, so it overshoots its bound by at most the group being written.
    if (this.backlogBytes >= this.options.maxBytes) {
      const mib = (this.backlogBytes / 1024 / 1024).toFixed(1)
      return Promise.reject(
        new AppError('engine_unavailable', `The ingest spool is full (${mib} MiB the log engine has not taken yet); nothing was stored. Retry.`, {
          headers: { 'retry-after': '5' },
        }),
      )
    }
    return new Promise<InsertOutcome>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject })
      void this.write()
    })
  }

  /**
   * Everything answered so far into the engine, up to the newest segment holding rows now (rows
   * answered meanwhile are not waited for, so this ends under sustained load). If the engine
   * fails meanwhile this returns after that attempt, the rest still in the spool (retried, or
   * inserted at the next start).
   */
  async drain(): Promise<void> {
    // The append in progress, once (the next ones were not answered when this was called).
    if (this.writing) await this.written
    const last = this.current && this.current.rows > 0 ? this.current : this.sealed.at(-1)
    if (!last) return
    const inserted = () => this.current !== last && !this.sealed.includes(last)
    while (!inserted()) {
      if (this.closed || this.retryTimer) return
      this.kick(true)
      if (!this.inserting) return
      await this.inserting
    }
  }

  visible(): Promise<void> {
    return this.drain()
  }

  /** Stops retrying and closes the open segment; what it holds stays on disk for the next start. */
  async close(): Promise<void> {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.sealTimer) clearTimeout(this.sealTimer)
    this.retryTimer = null
    this.sealTimer = null
    await this.inserting
    if (this.writing) await this.written
    await this.current?.handle?.close()
  }

  private recover(): void {
    const names = readdirSync(this.options.dir).filter((n) => SEGMENT.test(n)).sort()
    for (const name of names) {
      const [, seq, id] = SEGMENT.exec(name)!
      const file = path.join(this.options.dir, name)
      const bytes = readFileSync(file)
      // A last line without its newline is a write that never finished its fsync: never answered.
      const end = bytes.lastIndexOf(0x0a) + 1
      if (end < bytes.length) {
        this.logger?.warn({ file, bytes: bytes.length - end }, 'ingest spool: dropped an unfinished append (never acknowledged)')
        truncateSync(file, end)
      }
      let rows = 0
      for (let i = bytes.indexOf(0x0a); i !== -1 && i < end; i = bytes.indexOf(0x0a, i + 1)) rows++
      if (rows === 0) {
        unlinkSync(file)
        continue
      }
      const seg = this.segment(Number(seq), id!, file)
      seg.rows = rows
      seg.bytes = end
      this.sealed.push(seg)
      this.backlog(rows, seg.bytes)
      this.seq = Math.max(this.seq, Number(seq))
    }
    this.refusedRows = countLines(path.join(this.options.dir, REFUSED_FILE))
    if (this.sealed.length > 0) {
      this.logger?.info({ segments: this.sealed.length, rows: this.backlogRows }, 'ingest spool: inserting what the last run left')
      this.kick()
    }
  }

  private backlog(rows: number, bytes: number): void {
    this.backlogRows += rows
    this.backlogBytes += bytes
    this.metrics?.spoolBacklogRows.set(this.backlogRows)
  }

  private segment(seq: number, id: string, file: string): Segment {
    const visible = deferred()
    return { seq, id, file, rows: 0, bytes: 0, writing: Promise.resolve(), handle: null, openedAt: performance.now(), visible: visible.promise, markVisible: visible.resolve }
  }

  private async openSegment(): Promise<Segment> {
    const seq = ++this.seq
    const id = randomUUID()
    const file = path.join(this.options.dir, `${String(seq).padStart(12, '0')}-${id}.ndjson`)
    const seg = this.segment(seq, id, file)
    seg.handle = await open(file, 'a', 0o600)
    // The new name itself must survive a crash: fsync the directory once per segment.
    const dir = await open(this.options.dir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
    return seg
  }

  /** Group commit of appends: one write and one fdatasync for every request queued meanwhile. */
  private async write(): Promise<void> {
    if (this.writing || this.queue.length === 0) return
    this.writing = true
    const group = this.queue
    this.queue = []
    let done!: () => void
    const finished = new Promise<void>((r) => (done = r))
    this.written = finished
    let seg: Segment | null = null
    try {
      this.options.beforeWrite?.()
      if (this.current && this.current.rows >= this.options.maxSegmentRows) this.seal()
      seg = this.current ??= await this.openSegment()
      seg.writing = finished
      let body = ''
      let rows = 0
      for (const w of group) {
        for (const line of w.rows) body += line
        rows += w.rows.length
      }
      const bytes = Buffer.from(body, 'utf8')
      // The file's size is known (recovery starts from it, every append adds to it): no fstat per append.
      const before = seg.bytes
      try {
        await seg.handle!.write(bytes)
        await seg.handle!.datasync()
      } catch (err) {
        // Nothing of this group was acknowledged: cut it off so a restart does not store it.
        await seg.handle!.truncate(before).catch(() => undefined)
        throw err
      }
      seg.rows += rows
      seg.bytes += bytes.length
      this.backlog(rows, bytes.length)
      const outcome: InsertOutcome = { refused: [], visible: seg.visible }
      for (const w of group) w.resolve(outcome)
    } catch (err) {
      this.logger?.error({ err }, 'ingest spool: could not append; refusing the requests')
      const failure = new AppError('engine_unavailable', "The ingest spool could not be written (is the data directory's disk full?); nothing was stored. Retry.", {
        cause: err,
        headers: { 'retry-after': '5' },
      })
      for (const w of group) w.reject(failure)
    } finally {
      this.writing = false
      done()
      if (this.queue.length > 0) void this.write()
      this.kick()
    }
  }

  private seal(): void {
    if (!this.current) return
    this.sealed.push(this.current)
    this.current = null
  }

  /** Starts the next insert when the engine is free: the oldest sealed segment, else the open one. */
  private kick(now = false): void {
    if (this.inserting || this.retryTimer || this.closed) return
    if (this.sealed.length === 0) {
      if (!this.current || this.current.rows === 0) return
      const wait = now ? 0 : this.current.openedAt + (this.options.sealAfterMs ?? 1000) - performance.now()
      if (wait > 0) {
        if (!this.sealTimer) {
          this.sealTimer = setTimeout(() => {
            this.sealTimer = null
            this.kick()
          }, wait)
          this.sealTimer.unref()
        }
        return
      }
      if (this.sealTimer) clearTimeout(this.sealTimer)
      this.sealTimer = null
      this.seal()
    }
    const seg = this.sealed[0]!
    this.inserting = this.insertSegment(seg).finally(() => {
      this.inserting = null
      this.kick()
    })
  }

  /**
   * The embedded engine reads the segment file itself (BENCH_ONLY=b of bench:ingest at 300,000
   * entries, 2026-12-07: 37.8k and 43.6k entries/s, against 23.8k-31.5k in three runs with the
   * rows sent through the client); other engines get the rows, read back from the file (in the
   * page cache: the spool holds no rows in memory, so a backlog while the engine is down costs
   * disk, not serve's heap). A segment the engine refuses as data is inserted again in halves
   * around the refused rows, under tokens of their own (block ids of one token must describe
   * the same rows).
   */
  private async store(seg: Segment): Promise<{ refused: string[] }> {
    if (this.writer.engine.mode === 'embedded') {
      try {
        await this.writer.execFile(seg.file, seg.rows, `${seg.id}:file`)
        return { refused: [] }
      } catch (err) {
        const kind = engineErrorKind(err)
        this.writer.failed(err, seg.rows, kind)
        if (kind !== 'data') throw err
      }
    }
    const rows = await readRows(seg.file)
    const outcome = await this.writer.isolate(rows, 0, rows.length, { any: false }, seg.id)
    return { refused: outcome.refused.map((i) => rows[i]!) }
  }

  private async insertSegment(seg: Segment): Promise<void> {
    await seg.writing
    if (seg.handle) {
      await seg.handle.close()
      seg.handle = null
    }
    let outcome: { refused: string[] }
    try {
      outcome = await this.store(seg)
    } catch (err) {
      // The engine is down or failing (or a bug in our insert): the segment stays, retried later.
      const kind = engineErrorKind(err)
      this.logger?.warn({ segment: path.basename(seg.file), rows: seg.rows, kind, retry_ms: this.retryDelay }, 'ingest spool: the engine did not take a segment; retrying')
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null
          this.kick()
        }, this.retryDelay)
        this.retryTimer.unref()
      }
      this.retryDelay = Math.min(30_000, this.retryDelay * 2)
      return
    }
    this.retryDelay = this.options.retryMs ?? 250
    if (outcome.refused.length > 0) {
      // Accepted (202) and then refused as data: kept for the operator, counted, never dropped silently.
      await appendFile(path.join(this.options.dir, REFUSED_FILE), outcome.refused.join(''), { mode: 0o600 })
      this.refusedRows += outcome.refused.length
      this.metrics?.spoolRefused.inc({}, outcome.refused.length)
      this.logger?.error({ segment: path.basename(seg.file), refused: outcome.refused.length, file: path.join(this.options.dir, REFUSED_FILE) }, 'ingest spool: the engine refused accepted rows; kept in the refused file')
    }
    await unlink(seg.file)
    this.sealed.shift()
    this.backlog(-seg.rows, -seg.bytes)
    seg.markVisible()
  }
}
