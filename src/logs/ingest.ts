import { AppError, validationError, type FieldError } from '../errors.js'
import type { MetaDb } from '../meta/db.js'
import type { Project } from '../meta/projects.js'
import { ensureStreams } from '../meta/streams.js'
import { utcDay } from '../meta/usage.js'
import type { UsageMeter } from '../meta/usage-meter.js'
import type { InsertBatcher } from './batcher.js'
import { normalizeEntry, type NormalizedEntry } from './entry.js'
import type { Line } from './ndjson.js'

export const MAX_BATCH_ENTRIES = 10_000
const MAX_REPORTED_ERRORS = 100

export interface IngestDeps {
  meta: MetaDb
  clock: () => Date
  batcher: InsertBatcher
  usage: UsageMeter
  nextId: () => string
  /** Streams known to exist, so the hot path skips SQLite for them. */
  knownStreams: Set<string>
}

export interface IngestResult {
  accepted: number
  rejected: number
  errors?: (FieldError & { line: number })[]
}

/**
 * The ingest path: normalise each entry, charge the project's daily limit for the whole
 * request, hand the rows to the batcher and wait until the engine has them (202 means
 * durable), then record new streams. A failed insert gives the usage back and answers 503.
 */
const contextOf = (deps: IngestDeps, project: Project, now: Date) => ({
  projectId: project.id,
  receivedUs: now.getTime() * 1000,
  nextId: deps.nextId,
})

export const ingestLines = async (deps: IngestDeps, project: Project, lines: Line[]): Promise<IngestResult> => {
  const now = deps.clock()
  const ctx = contextOf(deps, project, now)
  const rows: NormalizedEntry[] = []
  const errors: (FieldError & { line: number })[] = []
  let bytes = 0
  let parsed = 0
  for (const line of lines) {
    if (line.error !== undefined) {
      errors.push({ line: line.number, field: 'line', message: line.error })
      continue
    }
    parsed++
    const result = normalizeEntry(line.value, ctx, line.surrogates)
    if ('error' in result) {
      errors.push({ line: line.number, ...result.error })
    } else {
      rows.push(result)
      bytes += result.bytes
    }
  }
  if (lines.length === 0) throw validationError('body', 'has no entries')
  if (parsed === 0) {
    throw new AppError('validation_error', 'The body is not NDJSON: no line is a JSON value', {
      details: errors.slice(0, MAX_REPORTED_ERRORS).map((e) => ({ field: `line ${e.line}`, message: e.message })),
    })
  }
  if (rows.length > 0) await store(deps, project, rows, bytes, now)
  return {
    accepted: rows.length,
    rejected: errors.length,
    ...(errors.length > 0 ? { errors: errors.slice(0, MAX_REPORTED_ERRORS) } : {}),
  }
}

/** One entry (POST /logs/ingest): any problem with it is a 400 naming the field. */
export const ingestOne = async (deps: IngestDeps, project: Project, line: Line): Promise<IngestResult> => {
  const now = deps.clock()
  const result = normalizeEntry(line.value, contextOf(deps, project, now), line.surrogates)
  if ('error' in result) throw validationError(result.error.field, result.error.message)
  await store(deps, project, [result], result.bytes, now)
  return { accepted: 1, rejected: 0 }
}

const store = async (deps: IngestDeps, project: Project, rows: NormalizedEntry[], bytes: number, now: Date): Promise<void> => {
  const day = utcDay(now)
  const limitBytes = project.daily_limit_mb * 1024 * 1024
  if (!deps.usage.reserve(project.id, day, bytes, rows.length, limitBytes)) {
    throw new AppError('daily_limit_exceeded', 'Daily log ingestion limit exceeded')
  }
  try {
    await deps.batcher.insert(rows.map((r) => r.line))
  } catch (err) {
    deps.usage.release(project.id, day, bytes, rows.length)
    throw err
  }
  let fresh: Set<string> | undefined
  for (const row of rows) {
    const key = `${project.id}/${row.stream}`
    if (!deps.knownStreams.has(key)) (fresh ??= new Set()).add(row.stream)
  }
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
}
