import type { Config } from '../config/config.js'
import { AppError, notFound } from '../errors.js'
import type { RedactStage } from '../ingest/entry.js'
import { ingestOne, ingestRecords, type DecodedRecord, type IngestDeps, type IngestResult, type IngestSink, type IngestTarget } from '../ingest/pipeline.js'
import * as repo from '../meta/anonymous-streams.js'
import type { MetaDb } from '../meta/db.js'
import { TokenBucketLimiter } from '../security/rate-limit.js'
import { hashToken } from '../security/tokens.js'

/** What a sender may choose as a stream's token (API.md "Anonymous streams"). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22,64}$/
export const TOKEN_RULE = 'must be 22 to 64 characters of A-Z, a-z, 0-9, _ and -'
/** Entries one request to a stream may carry. */
export const MAX_STREAM_REQUEST_ENTRIES = 100

export type StreamStatus = 'active' | 'claimed' | 'expired'

/** GET /streams/:token/info: the stream's state and counts, never its events. */
export interface StreamInfo {
  status: StreamStatus
  event_count: number
  bytes: number
  created_at: string
  expires_at: string
}

export interface StreamCaps {
  events: number
  bytes: number
  lifetimeMs: number
}

export const streamCaps = (config: Pick<Config, 'anonymous_streams'>): StreamCaps => ({
  events: config.anonymous_streams.max_events,
  bytes: config.anonymous_streams.max_mb * 1024 * 1024,
  lifetimeMs: config.anonymous_streams.lifetime_hours * 3_600_000,
})

/**
 * The stream its events are stored in (before and after a claim): it says where they came from
 * by the first 12 hex digits of the token's SHA-256, never by the token, the stream's only secret.
 */
export const streamNameOf = (tokenHash: string): string => `anonymous-${tokenHash.slice(0, 12)}`

/** What a sender and `info` see: a claim in progress is a claim (the stream takes no more events). */
export const publicStatus = (row: repo.AnonymousStreamRow, now: Date): StreamStatus => {
  if (row.status === 'moving' || row.status === 'claimed') return 'claimed'
  if (row.status === 'expired' || Date.parse(row.expires_at) <= now.getTime()) return 'expired'
  return 'active'
}

/** The 410 of a stream that takes no more events (claimed, or past its lifetime). */
export const goneError = (row: repo.AnonymousStreamRow, now: Date): AppError =>
  publicStatus(row, now) === 'claimed'
    ? new AppError('gone', 'This anonymous stream was claimed into a project; send to that project with its ingest token')
    : new AppError('gone', `This anonymous stream expired at ${row.expires_at} (its lifetime is over); its events are removed. Send to a new token`)

export const streamsOff = (): AppError =>
  new AppError('not_found', 'Anonymous streams are turned off on this server (anonymous_streams.enabled)')

export interface StreamRegistryDeps {
  meta: MetaDb
  clock: () => Date
  config: Pick<Config, 'anonymous_streams'>
  ingest: IngestDeps
  /** The built-in redaction rules at their defaults (src/redaction/rules.ts defaultStage). */
  redact: RedactStage | undefined
}

/**
 * Anonymous streams as senders use them: a stream is found by its token's hash and created by
 * its first request; its events go through the ingest pipeline like a project's, stored under
 * the stream's own id with the stream's caps in place of a daily limit. The caps are reserved
 * in SQLite in one statement before the engine insert and given back if it fails, so they hold
 * across concurrent requests and restarts. Writes in flight are tracked per stream, so a claim
 * or the cleanup waits for them before it moves or removes the stream's rows.
 */
export class StreamRegistry {
  readonly caps: StreamCaps
  private readonly writes = new Map<string, Set<Promise<unknown>>>()
  /** Requests to events and info per client address. */
  private readonly perAddress: TokenBucketLimiter

  constructor(private readonly deps: StreamRegistryDeps) {
    this.caps = streamCaps(deps.config)
    const { rate_per_minute, burst } = deps.config.anonymous_streams
    this.perAddress = new TokenBucketLimiter(rate_per_minute / 60, burst, () => deps.clock().getTime())
  }

  get enabled(): boolean {
    return this.deps.config.anonymous_streams.enabled
  }

  assertEnabled(): void {
    if (!this.enabled) throw streamsOff()
  }

  /** Before anything else of a sender's request: 404 when turned off, 429 when its address is over the rate. */
  admit(address: string): void {
    this.assertEnabled()
    const wait = this.perAddress.take(address)
    if (wait > 0) {
      throw new AppError('rate_limited', `Too many anonymous stream requests from this address; retry in ${wait} s`, {
        headers: { 'retry-after': String(wait) },
      })
    }
  }

  /**
   * Stores a request's entries: `one` a single entry (answered like POST /logs/ingest, a bad
   * entry is a 400), `records` a batch (like POST /logs/ingest/batch, per-line refusals).
   */
  ingest(token: string, body: { one: DecodedRecord } | { records: DecodedRecord[] }): Promise<IngestResult> {
    const { meta, clock } = this.deps
    const tokenHash = hashToken(token)
    const now = clock()
    const found = repo.findStreamByHash(meta, tokenHash)
    if (found && publicStatus(found, now) !== 'active') return Promise.reject(goneError(found, now))
    const row = found ?? repo.ensureStream(meta, tokenHash, now, this.caps.lifetimeMs)
    const target: IngestTarget = {
      id: row.id,
      team_id: '',
      // Timestamps from one lifetime (at least a day) before receipt, as a project's retention window.
      retention_days: Math.max(1, Math.ceil(this.caps.lifetimeMs / 86_400_000)),
      daily_limit_mb: this.deps.config.anonymous_streams.max_mb,
    }
    const sink = this.sinkOf(row, tokenHash)
    // The pipeline reserves the caps synchronously within this call: a write is tracked before
    // any claim can see the stream's counts.
    const pending =
      'one' in body
        ? ingestOne(this.deps.ingest, target, body.one, 'anonymous_stream', { sink })
        : ingestRecords(this.deps.ingest, target, body.records, 'anonymous_stream', { sink })
    return this.track(row.id, pending)
  }

  info(token: string): StreamInfo {
    const row = repo.findStreamByHash(this.deps.meta, hashToken(token))
    if (!row) throw notFound('Anonymous stream')
    return {
      status: publicStatus(row, this.deps.clock()),
      event_count: row.event_count,
      bytes: row.bytes,
      created_at: row.created_at,
      expires_at: row.expires_at,
    }
  }

  /**
   * Resolves once every write to the stream that was in flight has settled and what was
   * accepted is in the engine (with the ingest spool, a 202 comes before that).
   */
  async settled(streamId: string): Promise<void> {
    const pending = this.writes.get(streamId)
    if (pending) await Promise.allSettled([...pending])
    await this.deps.ingest.batcher.visible()
  }

  private track<T>(streamId: string, pending: Promise<T>): Promise<T> {
    let set = this.writes.get(streamId)
    if (!set) this.writes.set(streamId, (set = new Set()))
    set.add(pending)
    const done = () => {
      set.delete(pending)
      if (set.size === 0 && this.writes.get(streamId) === set) this.writes.delete(streamId)
    }
    pending.then(done, done)
    return pending
  }

  private sinkOf(row: repo.AnonymousStreamRow, tokenHash: string): IngestSink {
    const { meta, clock } = this.deps
    const { caps } = this
    return {
      stream: streamNameOf(tokenHash),
      redact: this.deps.redact,
      reserve: (bytes, events) => {
        const now = clock()
        if (repo.reserveInStream(meta, row.id, { events, bytes }, caps, now)) return
        throw this.refusal(row.id, { events, bytes }, now)
      },
      release: (bytes, events) => repo.releaseInStream(meta, row.id, { events, bytes }),
    }
  }

  /** Why a reservation failed: the stream is gone (410), or a cap would be crossed (429, which one). */
  private refusal(id: string, add: { events: number; bytes: number }, now: Date): AppError {
    const row = repo.findStreamById(this.deps.meta, id)!
    if (publicStatus(row, now) !== 'active') return goneError(row, now)
    const { caps } = this
    if (row.event_count + add.events > caps.events) {
      return new AppError(
        'rate_limited',
        `This anonymous stream is full: it holds at most ${caps.events} events (it has ${row.event_count}, this request ${add.events}). Claim it into a project to send more`,
      )
    }
    return new AppError(
      'rate_limited',
      `This anonymous stream is full: it holds at most ${caps.bytes / 1024 / 1024} MiB of entries (bytes_in as for a daily limit; it has ${row.bytes}, this request ${add.bytes}). Claim it into a project to send more`,
    )
  }
}
