import { once } from 'node:events'
import { createWriteStream, existsSync, rmSync, type WriteStream } from 'node:fs'
import path from 'node:path'
import { Readable, Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { AppError, errorMessage, UserError } from '../errors.js'
import { compileFilters, exportChunks, exportEntries, exportFileName, ExportInput, volumeStats, type StatsResult } from '../logs/search.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, type Via } from './engine-access.js'
import { StatsBucketsAnswer } from './answers.js'
import { projectByRef } from './projects.js'
import { callServer, requestServer } from './server-client.js'
import type { FilterText } from './filter-text.js'

/** `--out -`: the export goes to standard output. */
export const STDOUT = '-'

/** What the CLI passes: the filter flags as given (strings), validated here with ExportInput. */
export interface ExportRequest {
  /** Project id or exact name. */
  project: string
  filters: FilterText & { format?: string; limit?: string; order?: string }
  /** A file path, `-` for stdout, or undefined for the API's download name in the cwd. */
  out?: string
  force: boolean
  /** Where `--out -` writes (tests may pass their own). */
  stdout?: Writable
}

export interface ExportResult {
  /** Absolute path of the written file, or `-` for stdout. */
  file: string
  format: 'csv' | 'json'
  entries: number
  /** Entries matching the filters: more than `entries` when the limit cut the export. */
  matched: number
  /** The export's limit (--limit, else the API's maximum of 10,000). */
  limit: number
  truncated: boolean
  bytes: number
  via: Via
}

/** Counts the bytes that pass through, for the result. */
class ByteCounter extends Transform {
  bytes = 0
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length
    callback(null, chunk)
  }
}

const alreadyExists = (file: string): UserError =>
  new UserError(`${file} already exists; the export did not overwrite it.`, {
    suggestions: ['Pass --force to overwrite it, or choose another file with --out.'],
  })

const fileError = (file: string, err: unknown): UserError =>
  (err as NodeJS.ErrnoException).code === 'EEXIST' ? alreadyExists(file) : new UserError(`Could not write ${file}: ${errorMessage(err)}`)

/**
 * Writes a stream of export chunks to the destination and returns the bytes written. A file is
 * created only now (after the query has succeeded), exclusively unless `force`; a file left
 * half-written by a failure is removed.
 */
const writeExport = async (source: Readable, target: string, force: boolean, stdout: Writable): Promise<number> => {
  const counter = new ByteCounter()
  if (target === STDOUT) {
    try {
      await pipeline(source, counter, stdout, { end: false })
    } catch (err) {
      // A reader that went away (`| head`) is not a failure of the export.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err
    }
    return counter.bytes
  }
  let file: WriteStream
  try {
    file = createWriteStream(target, { flags: force ? 'w' : 'wx' })
    await once(file, 'open')
  } catch (err) {
    source.destroy()
    throw fileError(target, err)
  }
  try {
    await pipeline(source, counter, file)
  } catch (err) {
    rmSync(target, { force: true })
    if (err instanceof AppError || err instanceof UserError) throw err
    if ((err as NodeJS.ErrnoException).code && (err as NodeJS.ErrnoException).syscall) throw fileError(target, err)
    throw new AppError('engine_unavailable', `The export stopped before it was complete: ${errorMessage(err)}`)
  }
  return counter.bytes
}

/** The query string of GET /logs/export for validated input. */
export const exportQuery = (input: Partial<ExportInput>): URLSearchParams => {
  const qs = new URLSearchParams()
  for (const [key, value] of Object.entries(input)) if (value !== undefined) qs.set(key, String(value))
  return qs
}

/** Matching entries in the whole range: the sum of the stats buckets, which the volume projection answers cheaply. */
const matchedCount = (stats: Pick<StatsResult, 'buckets'>): number => stats.buckets.reduce((n, b) => n + b.total, 0)

/**
 * `krafter-logs export`: the entries of a project matching the filters, written as the API's
 * download would be. While serve runs the export is streamed from its API (the engine belongs
 * to that process); otherwise the engine is opened here. An export that reached its limit
 * also counts what matched (GET /logs/stats on the same filters), so the CLI can say so.
 */
export const runExport = async (ctx: OpsContext, request: ExportRequest): Promise<ExportResult> => {
  const project = projectByRef(ctx, request.project)
  const now = ctx.clock()
  // `to` fixed here, so the export and the count cover the same range.
  const raw: Record<string, unknown> = { project_id: project.id, to: String(now.getTime()) }
  for (const [key, value] of Object.entries(request.filters)) if (value !== undefined) raw[key] = value
  const input = parseInput(ExportInput, raw, 'export')
  // The rest of the validation (from/to, level, q) before any server call or engine start.
  compileFilters(input, now)
  const { format: _format, limit: _limit, order: _order, ...filters } = input

  const target =
    request.out === STDOUT ? STDOUT : path.resolve(request.out ?? exportFileName(project.name, now, input.format))
  // Checked again when the file is created (exclusively), after the query.
  if (target !== STDOUT && !request.force && existsSync(target)) throw alreadyExists(target)
  const stdout = request.stdout ?? process.stdout

  const { result, via } = await viaServerOrEngine(ctx, {
    server: async (runtime) => {
      const response = await requestServer(runtime, 'GET', `/logs/export?${exportQuery(input)}`, { timeoutMs: 300_000 })
      if (!response.body) throw new AppError('internal_error', 'The server sent an export without a body')
      const entries = Number(response.headers.get('x-export-count') ?? 0)
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
      const bytes = await writeExport(body, target, request.force, stdout)
      const matched =
        entries < input.limit ? entries : matchedCount(await callServer(runtime, 'GET', `/logs/stats?${exportQuery(filters)}`, StatsBucketsAnswer))
      return { entries, bytes, matched }
    },
    direct: async (engine) => {
      const { entries } = await exportEntries(engine, input, now)
      const bytes = await writeExport(Readable.from(exportChunks(entries, input.format)), target, request.force, stdout)
      const matched = entries.length < input.limit ? entries.length : matchedCount(await volumeStats(engine, { ...filters, interval: 'auto' }, now))
      return { entries: entries.length, bytes, matched }
    },
  })
  const matched = Math.max(result.matched, result.entries)
  return {
    file: target,
    format: input.format,
    entries: result.entries,
    matched,
    limit: input.limit,
    truncated: matched > result.entries,
    bytes: result.bytes,
    via,
  }
}
