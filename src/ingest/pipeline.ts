import type { Logger } from 'pino'
import { AppError, validationError, type FieldError } from '../errors.js'
import type { MetaDb } from '../meta/db.js'
import type { Project } from '../meta/projects.js'
import { ensureStreams } from '../meta/streams.js'
import { utcDay } from '../meta/usage.js'
import type { UsageMeter } from '../meta/usage-meter.js'
import type { Metrics, RejectReason } from '../metrics/metrics.js'
import type { InsertOutcome, RowWriter } from './batcher.js'
import type { ReceiptTracker } from './receipts.js'
import { normalizeEntry, timestampWindow, type NormalizeContext, type NormalizedEntry, type RedactStage } from './entry.js'

export const MAX_BATCH_ENTRIES = 10_000
/**
 * Records one request of a standard protocol (OTLP, Loki, Elasticsearch bulk) may carry. Their
 * shippers batch by bytes (Vector 10 MB, the Elasticsearch client 5 MB) and several drop a
 * batch answered 413, so the body limit is what bounds them; this only caps the worst case of
 * tiny records within it.
 */
export const MAX_PROTOCOL_RECORDS = 100_000
export const MAX_REPORTED_ERRORS = 100

/** A decoder's answer to a payload with more records than a request may carry. */
export const tooManyRecords = (max: number): AppError => new AppError('payload_too_large', `A batch takes at most ${max} entries`)

/** At most one warn line per project and interval about refused records (the counts are exact). */
const REJECTION_LOG_INTERVAL_MS = 60_000

export interface IngestDeps {
  meta: MetaDb
  clock: () => Date
  batcher: RowWriter
  usage: UsageMeter
  nextId: () => string
  /** Streams known to exist, so the hot path skips SQLite for them. */
  knownStreams: Set<string>
  metrics: Metrics
  rejections: RejectionLog
  /** Receipt times of requests being stored (the live tail's watermark); none: not tracked. */
  receipts?: ReceiptTracker
  /** The redaction stage of each project (src/redaction/ builds and caches it); none: no redaction. */
  redaction?: { stageFor(project: Pick<Project, 'id' | 'team_id'>): RedactStage | undefined }
}

export interface IngestResult {
  accepted: number
  rejected: number
  errors?: (FieldError & { line: number })[]
}

/** Which front door records came through, for the per-protocol metrics. */
export type Protocol = 'json' | 'otlp' | 'loki' | 'elasticsearch' | 'syslog' | 'anonymous_stream'

export interface IngestOptions {
  /**
   * Report every refused record, not the first MAX_REPORTED_ERRORS: for protocols that answer
   * per record (Elasticsearch bulk items), so a client retries exactly what failed.
   */
  allErrors?: boolean
  /** Rows that go somewhere other than a project's own budget: an anonymous stream. */
  sink?: IngestSink
}

/**
 * Where rows go that no project owns yet (an anonymous stream, src/streams/): they are stored
 * under the target's id like a project's, but the sink's caps replace the daily limit, every
 * row gets the sink's stream, the sink's redaction replaces the project's, and nothing is
 * recorded in the project tables (usage, streams).
 */
export interface IngestSink {
  /** Every row's stream; an entry's own `stream` is kept as metadata.original_stream. */
  stream: string
  redact: RedactStage | undefined
  /** Charges the rows before the engine gets them; throws (an AppError) to refuse the request whole. */
  reserve(bytes: number, entries: number): void
  /** Gives back rows the engine did not take. */
  release(bytes: number, entries: number): void
}

/** What the pipeline reads of the project (or anonymous stream) it stores into. */
export type IngestTarget = Pick<Project, 'id' | 'team_id' | 'retention_days' | 'daily_limit_mb'>

/**
 * What a protocol decoder (protocols/) gives the pipeline for one record of its payload: a
 * value to hold to the entry rules (API.md's entry shape), or the reason the record could not
 * be decoded. `number` is the record's place in the payload (line, array position), 1-based.
 */
export type DecodedRecord =
  | {
      number: number
      value: unknown
      /** The text may spell UTF-16 surrogates (see entry.ts). */
      surrogates?: boolean
      refused?: undefined
    }
  | { number: number; refused: FieldError }

/**
 * Refused records are counted exactly (usage per project and day, metrics), and logged at warn,
 * at most once per project per interval with the count since the last line and one example,
 * so a misconfigured shipper cannot flood serve's log.
 */
export class RejectionLog {
  private readonly pending = new Map<string, { count: number; example: FieldError & { line?: number }; loggedAt: number }>()

  constructor(
    private readonly logger: Logger | undefined,
    private readonly now: () => number,
    private readonly intervalMs = REJECTION_LOG_INTERVAL_MS,
  ) {}

  note(project: IngestTarget, count: number, example: FieldError & { line?: number }, reason: RejectReason): void {
    const at = this.now()
    const entry = this.pending.get(project.id) ?? { count: 0, example, loggedAt: -Infinity }
    entry.count += count
    entry.example = example
    if (at - entry.loggedAt >= this.intervalMs) {
      this.logger?.warn({ project_id: project.id, rejected: entry.count, reason, example: entry.example }, 'ingest refused records')
      entry.count = 0
      entry.loggedAt = at
    }
    this.pending.set(project.id, entry)
  }
}

const contextOf = (deps: IngestDeps, project: IngestTarget, now: Date, sink: IngestSink | undefined): NormalizeContext => {
  const receivedUs = now.getTime() * 1000
  return {
    projectId: project.id,
    receivedUs,
    nextId: deps.nextId,
    window: timestampWindow(receivedUs, project.retention_days),
    redact: sink ? sink.redact : deps.redaction?.stageFor(project),
    ...(sink ? { stream: sink.stream } : {}),
  }
}

const countRejected = (
  deps: IngestDeps,
  project: IngestTarget,
  now: Date,
  protocol: Protocol,
  reason: RejectReason,
  count: number,
  example: FieldError & { line?: number },
  sink?: IngestSink,
): void => {
  if (count === 0) return
  if (!sink) deps.usage.reject(project.id, utcDay(now), count)
  deps.metrics.recordsRejected.inc({ protocol, reason }, count)
  deps.rejections.note(project, count, example, reason)
}

const UNSTORABLE: FieldError = { field: 'entry', message: 'could not be stored by the log engine (a value it cannot hold); nothing of this entry was stored' }

/**
 * The ingest path for any decoder's records: normalise each entry, charge the project's daily
 * limit for the whole request, hand the rows to the batcher and wait until the engine has them
 * (202 means durable), then record new streams. Every refused record is reported and counted.
 */
export const ingestRecords = async (
  deps: IngestDeps,
  project: IngestTarget,
  records: DecodedRecord[],
  protocol: Protocol,
  options: IngestOptions = {},
): Promise<IngestResult> => {
  if (records.length === 0) throw validationError('body', 'has no entries')
  const now = deps.clock()
  const ctx = contextOf(deps, project, now, options.sink)
  deps.receipts?.begin(ctx.receivedUs)
  try {
    return await normalizeAndStore(deps, project, records, protocol, options, now, ctx)
  } finally {
    deps.receipts?.end(ctx.receivedUs)
  }
}

const normalizeAndStore = async (
  deps: IngestDeps,
  project: IngestTarget,
  records: DecodedRecord[],
  protocol: Protocol,
  options: IngestOptions,
  now: Date,
  ctx: NormalizeContext,
): Promise<IngestResult> => {
  const rows: NormalizedEntry[] = []
  const rowLines: number[] = []
  const errors: (FieldError & { line: number })[] = []
  let bytes = 0
  for (const record of records) {
    if (record.refused) {
      errors.push({ line: record.number, ...record.refused })
      continue
    }
    const result = normalizeEntry(record.value, ctx, record.surrogates)
    if ('error' in result) {
      errors.push({ line: record.number, ...result.error })
    } else {
      rows.push(result)
      rowLines.push(record.number)
      bytes += result.bytes
    }
  }
  const { sink } = options
  countRejected(deps, project, now, protocol, 'invalid', errors.length, errors[0]!, sink)
  let accepted = rows.length
  if (rows.length > 0) {
    const refused = await store(deps, project, rows, bytes, now, protocol, sink, ctx.receivedUs)
    if (refused.length > 0) {
      const unstorable = refused.map((i) => ({ line: rowLines[i]!, ...UNSTORABLE }))
      countRejected(deps, project, now, protocol, 'unstorable', unstorable.length, unstorable[0]!, sink)
      errors.push(...unstorable)
      errors.sort((a, b) => a.line - b.line)
      accepted -= refused.length
    }
  }
  return {
    accepted,
    rejected: errors.length,
    ...(errors.length > 0 ? { errors: options.allErrors ? errors : errors.slice(0, MAX_REPORTED_ERRORS) } : {}),
  }
}

/** One entry (POST /logs/ingest): any problem with it is a 400 naming the field. */
export const ingestOne = async (
  deps: IngestDeps,
  project: IngestTarget,
  record: DecodedRecord,
  protocol: Protocol,
  options: Pick<IngestOptions, 'sink'> = {},
): Promise<IngestResult> => {
  const now = deps.clock()
  const { sink } = options
  if (record.refused) {
    countRejected(deps, project, now, protocol, 'invalid', 1, record.refused, sink)
    throw validationError(record.refused.field, record.refused.message)
  }
  const ctx = contextOf(deps, project, now, sink)
  const result = normalizeEntry(record.value, ctx, record.surrogates)
  if ('error' in result) {
    countRejected(deps, project, now, protocol, 'invalid', 1, result.error, sink)
    throw validationError(result.error.field, result.error.message)
  }
  deps.receipts?.begin(ctx.receivedUs)
  let refused: number[]
  try {
    refused = await store(deps, project, [result], result.bytes, now, protocol, sink, ctx.receivedUs)
  } finally {
    deps.receipts?.end(ctx.receivedUs)
  }
  if (refused.length > 0) {
    countRejected(deps, project, now, protocol, 'unstorable', 1, UNSTORABLE, sink)
    throw validationError(UNSTORABLE.field, UNSTORABLE.message)
  }
  return { accepted: 1, rejected: 0 }
}

/**
 * Hands the rows to the writer; returns the indices it refused. Rows durable before they are
 * readable (the spool) keep their receipt open until the engine has them, so the live tail's
 * watermark never passes them.
 */
const insertRows = async (deps: IngestDeps, rows: NormalizedEntry[], receivedUs: number): Promise<number[]> => {
  const outcome: InsertOutcome = await deps.batcher.insert(rows.map((r) => r.line))
  if (outcome.visible && deps.receipts) {
    const receipts = deps.receipts
    receipts.begin(receivedUs)
    void outcome.visible.finally(() => receipts.end(receivedUs))
  }
  return outcome.refused
}

/** Stores the rows (202 means durable); returns the indices of rows the engine refused as data. */
const store = async (
  deps: IngestDeps,
  project: IngestTarget,
  rows: NormalizedEntry[],
  bytes: number,
  now: Date,
  protocol: Protocol,
  sink: IngestSink | undefined,
  receivedUs: number,
): Promise<number[]> => {
  if (sink) return storeInSink(deps, sink, rows, bytes, protocol, receivedUs)
  const day = utcDay(now)
  const limitBytes = project.daily_limit_mb * 1024 * 1024
  if (!deps.usage.reserve(project.id, day, bytes, rows.length, limitBytes)) {
    countRejected(deps, project, now, protocol, 'daily_limit', rows.length, { field: 'entry', message: 'Daily log ingestion limit exceeded' })
    // Retry-After: the next UTC day, when the limit starts again (shippers that retry 429 wait for it).
    const retryAfter = Math.max(1, Math.ceil((Date.parse(`${day}T00:00:00Z`) + 86_400_000 - now.getTime()) / 1000))
    throw new AppError('daily_limit_exceeded', 'Daily log ingestion limit exceeded', { headers: { 'retry-after': String(retryAfter) } })
  }
  let refused: number[]
  try {
    // The batcher writes the reservation to SQLite before the insert holding these rows.
    refused = await insertRows(deps, rows, receivedUs)
  } catch (err) {
    deps.usage.release(project.id, day, bytes, rows.length)
    throw err
  }
  if (refused.length > 0) {
    let refusedBytes = 0
    for (const i of refused) refusedBytes += rows[i]!.bytes
    deps.usage.release(project.id, day, refusedBytes, refused.length)
  }
  deps.metrics.recordsAccepted.inc({ protocol }, rows.length - refused.length)
  let fresh: Set<string> | undefined
  const refusedSet = refused.length > 0 ? new Set(refused) : undefined
  rows.forEach((row, i) => {
    if (refusedSet?.has(i)) return
    if (row.redacted) for (const rule of row.redacted) deps.metrics.redactedEntries.inc({ rule })
    const key = `${project.id}/${row.stream}`
    if (!deps.knownStreams.has(key)) (fresh ??= new Set()).add(row.stream)
  })
  if (fresh) {
    try {
      ensureStreams(deps.meta, project.id, fresh, now)
    } catch (err) {
      // The project was deleted while this request was in flight: its rows are stored (and
      // go with the project), there are no streams left to record. Anything else is a bug.
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw err
    }
    for (const name of fresh) deps.knownStreams.add(`${project.id}/${name}`)
  }
  return refused
}

/** store() for a sink: its caps instead of the daily limit, no usage and no project streams. */
const storeInSink = async (deps: IngestDeps, sink: IngestSink, rows: NormalizedEntry[], bytes: number, protocol: Protocol, receivedUs: number): Promise<number[]> => {
  sink.reserve(bytes, rows.length)
  let refused: number[]
  try {
    refused = await insertRows(deps, rows, receivedUs)
  } catch (err) {
    sink.release(bytes, rows.length)
    throw err
  }
  if (refused.length > 0) {
    let refusedBytes = 0
    for (const i of refused) refusedBytes += rows[i]!.bytes
    sink.release(refusedBytes, refused.length)
  }
  deps.metrics.recordsAccepted.inc({ protocol }, rows.length - refused.length)
  const refusedSet = new Set(refused)
  rows.forEach((row, i) => {
    if (!refusedSet.has(i) && row.redacted) for (const rule of row.redacted) deps.metrics.redactedEntries.inc({ rule })
  })
  return refused
}
