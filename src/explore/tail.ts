import type { Logger } from 'pino'
import { z } from 'zod'
import type { Config } from '../config/config.js'
import type { Engine } from '../engine/engine.js'
import { logTable } from '../engine/schema.js'
import { AppError } from '../errors.js'
import type { ReceiptTracker } from '../ingest/receipts.js'
import { decodeCursor, encodeCursor } from '../logs/paging.js'
import type { Params } from '../logs/query/compile.js'
import { compileFilters, FilterShape, SELECT_ENTRY, selectRows, toEntry, type EntryRow, type Filters, type TimeRange } from '../logs/search.js'
import type { Metrics } from '../metrics/metrics.js'

/**
 * Live tail (API.md "Explore", GET /logs/tail): every newly stored entry matching a tail's
 * filters, once, in the order entries were stored.
 *
 * What the cursor orders by: (received_at, id), the time serve received the entry and its id,
 * not the entry's own timestamp. An entry sent late (its timestamp an hour old) is new to a
 * tail when it arrives, and a resumed tail gets exactly the entries received after its cursor.
 *
 * The tail reads the engine, not this process's memory, so it sees every writer (the external
 * engine shared by several serve processes included). What makes "received after the cursor"
 * safe is the watermark: a tail reads only entries received before a time W such that every
 * entry received before W is already readable. This process knows that exactly for its own
 * writes (the ReceiptTracker: the oldest receipt time of a request still being stored); for
 * other processes' writes on the external engine it assumes an entry is stored `settle_ms`
 * after receipt. So an entry whose insert is slow holds the tails back instead of being
 * skipped.
 *
 * One engine query per group of tails with the same filters per poll, from the oldest cursor
 * of the group; each tail gets the rows after its own cursor. A tail whose consumer has more
 * than `max_buffered_kb` unread gets nothing more in that poll (its cursor waits); if it has
 * not drained by the next poll it reads slower than entries come, and is sent `overflow` and
 * closed (it resumes from its last event id). Memory per tail stays under the limit plus one
 * poll's events (at most ROWS_PER_POLL entries).
 */

export const TailInput = z
  .object({
    ...FilterShape,
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict()
export type TailInput = z.infer<typeof TailInput>

const MAX_US = 8_640_000_000_000_000 // year 275760, beyond any DateTime64
const TailKey = z.object({ r: z.number().int().min(0).max(MAX_US), i: z.string().max(128) }).strict()
type TailKey = z.infer<typeof TailKey>

export const decodeTailCursor = (cursor: string): TailKey => decodeCursor(cursor, TailKey)
const after = (a: TailKey, b: TailKey): boolean => a.r > b.r || (a.r === b.r && a.i > b.i)

/** Rows one group reads per poll: a tail far behind catches up over several polls. */
const ROWS_PER_POLL = 1000
/** The pause before the next poll when tails are behind (their sockets flush meanwhile). */
const CATCH_UP_MS = 5

/** Where a tail's events go: the SSE response (routes/tail.ts) or a test's collector. */
export interface TailSink {
  /** Writes one event; false (and nothing written) when the consumer has more than the buffer limit unread. */
  write(text: string): boolean
  /** Whether the consumer still has more than the buffer limit unread. */
  full(): boolean
  /** Ends the stream, after `last` when given (written whatever is unread). */
  end(last?: string): void
}

export interface TailDeps {
  engine: Engine
  clock: () => Date
  config: Pick<Config, 'tail' | 'engine'>
  receipts?: ReceiptTracker
  metrics?: Metrics
  logger?: Logger
}

interface Tail {
  filters: Filters
  cursor: TailKey
  sink: TailSink
  group: Group
  lastSentMs: number
  closed: boolean
  /** Since when its buffer is full (performance.now()): it gets nothing more, its cursor waits. */
  heldSince: number | undefined
}

interface Group {
  key: string
  filters: Filters
  tails: Set<Tail>
}

const event = (name: string, data: string, id?: string): string => `${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${data}\n\n`

export class TailHub {
  private readonly groups = new Map<string, Group>()
  private count = 0
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private closed = false
  private readonly settleUs: number

  constructor(private readonly deps: TailDeps) {
    this.settleUs = (deps.config.tail.settle_ms ?? (deps.config.engine.mode === 'external' ? 500 : 0)) * 1000
  }

  get size(): number {
    return this.count
  }

  /** Every entry received before this is readable (as far as anyone can know here). */
  private watermark(): number {
    const nowUs = this.deps.clock().getTime() * 1000
    const own = this.deps.receipts ? this.deps.receipts.watermark(nowUs) : nowUs
    return Math.min(own, nowUs - this.settleUs)
  }

  /**
   * Opens a tail; throws a 400 for filters search would refuse, 429 when `tail.max_subscribers`
   * are open. Without a cursor it starts at the watermark: entries stored from now on.
   * `cursor` is where it starts, for the stream's opening `id:`: a client that loses the stream
   * before any entry came resumes from there, missing nothing stored in between.
   */
  open(filters: Filters, cursor: string | undefined, sink: TailSink): { close: () => void; cursor: string } {
    if (this.closed) throw new AppError('engine_unavailable', 'serve is stopping; reconnect to another instance or retry', { headers: { 'retry-after': '1' } })
    // Compiled once here so a malformed q is a 400 before the stream starts.
    compileFilters(filters, this.deps.clock(), this.timeRange(filters))
    if (this.count >= this.deps.config.tail.max_subscribers) {
      throw new AppError('rate_limited', `Too many live tails are open (tail.max_subscribers is ${this.deps.config.tail.max_subscribers}); retry later`, {
        headers: { 'retry-after': '5' },
      })
    }
    const start = cursor !== undefined ? decodeTailCursor(cursor) : { r: this.watermark(), i: '' }
    const key = JSON.stringify(Object.keys(filters).sort().map((k) => [k, filters[k as keyof Filters]]))
    let group = this.groups.get(key)
    if (!group) this.groups.set(key, (group = { key, filters, tails: new Set() }))
    const tail: Tail = { filters, cursor: start, sink, group, lastSentMs: this.deps.clock().getTime(), closed: false, heldSince: undefined }
    group.tails.add(tail)
    this.count++
    this.deps.metrics?.tailSubscribers.set(this.count)
    this.timer ??= setInterval(() => this.poll(), this.deps.config.tail.poll_ms)
    return { close: () => this.drop(tail), cursor: encodeCursor(start) }
  }

  private drop(tail: Tail): void {
    if (tail.closed) return
    tail.closed = true
    tail.group.tails.delete(tail)
    if (tail.group.tails.size === 0) this.groups.delete(tail.group.key)
    this.count--
    this.deps.metrics?.tailSubscribers.set(this.count)
    if (this.count === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  /** The entry's own time bounds only when the tail asked for them (no default window: late arrivals count). */
  private timeRange(filters: Filters): TimeRange {
    return (params: Params, fromUs: number, toUs: number) => {
      const parts: string[] = []
      if (filters.from !== undefined) parts.push(`timestamp >= fromUnixTimestamp64Micro(${params.bind('Int64', fromUs)}, 'UTC')`)
      if (filters.to !== undefined) parts.push(`timestamp < fromUnixTimestamp64Micro(${params.bind('Int64', toUs)}, 'UTC')`)
      return parts.length > 0 ? parts.join(' AND ') : '1'
    }
  }

  /** One round: each group reads what was stored after its oldest cursor; heartbeats for quiet tails. */
  poll(): Promise<void> {
    if (this.polling) return this.polling
    this.polling = this.pollGroups().finally(() => {
      this.polling = undefined
    })
    return this.polling
  }

  private async pollGroups(): Promise<void> {
    // A tail whose buffer stayed full for a whole poll interval reads slower than entries come:
    // overflow. One that drained gets what it missed from its cursor.
    const started = performance.now()
    for (const group of this.groups.values()) {
      for (const tail of [...group.tails]) {
        if (tail.heldSince === undefined) continue
        if (!tail.sink.full()) tail.heldSince = undefined
        else if (started - tail.heldSince >= this.deps.config.tail.poll_ms) this.overflow(tail)
      }
    }
    let behind = false
    const upTo = this.watermark()
    for (const group of [...this.groups.values()]) {
      try {
        if (await this.pollGroup(group, upTo)) behind = true
      } catch (err) {
        // The engine restarting, say: the tails stay open and the next poll reads from their cursors.
        this.deps.logger?.warn({ err }, 'live tail: reading new entries failed; retrying at the next poll')
      }
    }
    const now = this.deps.clock().getTime()
    const quietMs = this.deps.config.tail.heartbeat_seconds * 1000
    for (const group of this.groups.values()) {
      for (const tail of [...group.tails]) {
        if (tail.heldSince === undefined && now - tail.lastSentMs >= quietMs) this.send(tail, event('heartbeat', '{}'))
        if (tail.heldSince !== undefined) behind = true
      }
    }
    // Tails with more to read go again as soon as their sockets had a moment to flush, not a poll later.
    if (behind && !this.closed && this.count > 0) setTimeout(() => void this.poll(), CATCH_UP_MS).unref()
  }

  /** Delivers what the group's tails have not had yet; true when some of them are behind. */
  private async pollGroup(group: Group, upTo: number): Promise<boolean> {
    let from: TailKey | undefined
    for (const tail of group.tails) if (tail.heldSince === undefined && (!from || after(from, tail.cursor))) from = tail.cursor
    if (!from || from.r >= upTo) return false
    const compiled = compileFilters(group.filters, this.deps.clock(), this.timeRange(group.filters))
    const { params } = compiled
    const sql =
      `SELECT ${SELECT_ENTRY}\nFROM ${logTable(this.deps.engine)}\nWHERE ${compiled.where}\n` +
      `  AND received_at >= fromUnixTimestamp64Micro(${params.bind('Int64', from.r)}, 'UTC')\n` +
      `  AND (received_at, id) > (fromUnixTimestamp64Micro(${params.bind('Int64', from.r)}, 'UTC'), ${params.bind('String', from.i)})\n` +
      `  AND received_at < fromUnixTimestamp64Micro(${params.bind('Int64', upTo)}, 'UTC')\n` +
      `ORDER BY received_at, id\nLIMIT ${params.bind('UInt32', ROWS_PER_POLL)}`
    const { rows } = await selectRows<EntryRow>(this.deps.engine, sql, params, { measure: false })
    if (rows.length === 0) return false
    // Each row's event text is built once; each tail gets what is new to it as one write per
    // poll (one write per event per tail starved serve at 50 tails × 5,000 entries/s).
    const keys = rows.map((row) => ({ r: Number(row.rcv), i: row.id }))
    const texts = rows.map((row, n) => event('entry', JSON.stringify(toEntry(row)), encodeCursor(keys[n]!)))
    for (const tail of [...group.tails]) {
      if (tail.heldSince !== undefined) continue
      let first = 0
      while (first < keys.length && !after(keys[first]!, tail.cursor)) first++
      if (first === keys.length) continue
      if (this.send(tail, first === 0 ? texts.join('') : texts.slice(first).join(''))) tail.cursor = keys[keys.length - 1]!
    }
    return rows.length === ROWS_PER_POLL
  }

  /** Writes an event unless the tail's buffer is full; a full one is held until the next poll. */
  private send(tail: Tail, text: string): boolean {
    if (tail.closed || tail.heldSince !== undefined) return false
    if (!tail.sink.write(text)) {
      tail.heldSince = performance.now()
      return false
    }
    tail.lastSentMs = this.deps.clock().getTime()
    return true
  }

  /** Says so and closes; the consumer resumes from the last event it got. */
  private overflow(tail: Tail): void {
    this.drop(tail)
    tail.sink.end(event('overflow', JSON.stringify({ message: 'This tail was closed: its consumer read slower than entries arrived. Reconnect with Last-Event-ID to resume.' })))
  }

  /** serve stopping: every stream ends (clients reconnect with their Last-Event-ID). */
  async close(): Promise<void> {
    this.closed = true
    await this.polling
    for (const group of [...this.groups.values()]) {
      for (const tail of [...group.tails]) {
        this.drop(tail)
        tail.sink.end()
      }
    }
  }
}
