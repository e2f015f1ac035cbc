import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { engineCall } from '../engine/engine.js'
import { readLimitError } from '../engine/errors.js'
import { logTable as table } from '../engine/schema.js'
import { validationError } from '../errors.js'
import { LEVEL_ALIASES, parseTimestamp, type Level } from './fields.js'
import { decodeCursor, encodeCursor } from './paging.js'
import { compileQuery, Params } from './query/compile.js'
import { MAX_QUERY_LENGTH, parseQuery } from './query/parse.js'

/** A from/to as given: its range is checked where it is parsed (parseTimeBound). */
export const TimeBound = z.union([z.string().min(1).max(64), z.number()], { error: 'must be an ISO 8601 time or epoch milliseconds' })
const name = z.string().max(200, 'must be at most 200 characters')

/** The filters search, stats and export share (API.md "Search, stats and export"). */
export const FilterShape = {
  project_id: z.uuid('must be a project id (UUID)'),
  q: z.string().max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`).optional(),
  from: TimeBound.optional(),
  to: TimeBound.optional(),
  level: z.string().max(200).optional(),
  service: name.optional(),
  stream: name.optional(),
  trace_id: z.string().max(128).optional(),
  span_id: z.string().max(128).optional(),
}

export const SearchInput = z
  .object({
    ...FilterShape,
    limit: z.coerce.number({ error: 'must be an integer from 1 to 1000' }).int('must be an integer from 1 to 1000').min(1, 'must be an integer from 1 to 1000').max(1000, 'must be an integer from 1 to 1000').default(100),
    order: z.enum(['desc', 'asc'], { error: 'must be desc or asc' }).default('desc'),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict()
export type SearchInput = z.infer<typeof SearchInput>
export type Filters = Pick<SearchInput, keyof typeof FilterShape>

export interface LogEntry {
  id: string
  timestamp: string
  level: string
  service: string
  stream: string
  message: string
  trace_id: string
  span_id: string
  metadata: Record<string, unknown>
  received_at: string
}

export interface QueryStats {
  elapsed_ms: number
  rows_read: number
}

export const DAY_US = 86_400_000_000

/**
 * The times `from`, `to` and cursors may name, in epoch microseconds. The engine's
 * DateTime64(6) holds 1900-2299, but microseconds are exact JS numbers only up to 2^53 (in
 * 2255), and no entry is ever older than the epoch: 1970 to 2200 holds every real query.
 */
export const TIME_BOUND_MIN_US = 0
export const TIME_BOUND_MAX_US = Date.UTC(2200, 0, 1) * 1000
const TIME_BOUND_RULE = 'must be an ISO 8601 time or epoch milliseconds from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z'

/** From/to bounds: epoch milliseconds (number or digits) or an ISO 8601 / RFC 3339 time. */
export const parseTimeBound = (value: string | number, field: string): number => {
  const us =
    typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)
      ? Math.round(Number(value) * 1000)
      : parseTimestamp(value)
  if (us === null || !(us >= TIME_BOUND_MIN_US && us <= TIME_BOUND_MAX_US)) throw validationError(field, TIME_BOUND_RULE)
  return us
}

/** Microseconds since the epoch → RFC 3339 with microseconds, e.g. 2026-11-27T10:00:00.123456Z. */
export const isoMicros = (us: number): string => {
  const ms = Math.floor(us / 1000)
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`
}

export interface Compiled {
  where: string
  params: Params
  fromUs: number
  toUs: number
}

/**
 * The WHERE clause of a search: the project and time range always at the top level (tenant
 * isolation does not depend on the query), then the filters and the compiled `q`.
 */
/** The time condition of a query: by default the requested range on the raw timestamp. */
export type TimeRange = (params: Params, fromUs: number, toUs: number) => string

export const rawRange: TimeRange = (params, fromUs, toUs) =>
  `timestamp >= fromUnixTimestamp64Micro(${params.bind('Int64', fromUs)}, 'UTC') AND timestamp < fromUnixTimestamp64Micro(${params.bind('Int64', toUs)}, 'UTC')`

export const resolveRange = (input: Pick<Filters, 'from' | 'to'>, now: Date): { fromUs: number; toUs: number } => {
  const toUs = input.to !== undefined ? parseTimeBound(input.to, 'to') : now.getTime() * 1000
  const fromUs = input.from !== undefined ? parseTimeBound(input.from, 'from') : toUs - DAY_US
  if (fromUs >= toUs) throw validationError('from', 'must be before to')
  return { fromUs, toUs }
}

export const compileFilters = (input: Filters, now: Date, timeRange: TimeRange = rawRange, params = new Params()): Compiled => {
  const { fromUs, toUs } = resolveRange(input, now)
  const where = [`project_id = ${params.bind('UUID', input.project_id)}`, timeRange(params, fromUs, toUs)]
  if (input.level !== undefined) {
    const levels = input.level.split(',').map((l) => l.trim()).filter(Boolean)
    const normalized = levels.map((l) => LEVEL_ALIASES[l.toLowerCase()])
    const bad = levels.find((_, i) => !normalized[i])
    if (bad !== undefined || levels.length === 0) throw validationError('level', `must be a comma list of debug, info, warn, error, fatal`)
    where.push(`level IN ${params.bind('Array(String)', [...new Set(normalized)])}`)
  }
  for (const field of ['service', 'stream', 'trace_id', 'span_id'] as const) {
    const value = input[field]
    if (value !== undefined) where.push(`${field} = ${params.bind('String', value)}`)
  }
  if (input.q !== undefined && input.q.trim() !== '') {
    const node = parseQuery(input.q)
    if (node.type !== 'all') where.push(compileQuery(node, params))
  }
  return { where: where.join('\n  AND '), params, fromUs, toUs }
}

/** The columns of an entry as searched; toEntry turns a row of them into the API's shape. */
export const SELECT_ENTRY = `id, toUnixTimestamp64Micro(timestamp) AS ts, level, service, stream, message, trace_id, span_id, metadata,
  toUnixTimestamp64Micro(received_at) AS rcv`

export type EntryRow = Omit<LogEntry, 'timestamp' | 'received_at'> & { ts: number; rcv: number }

export const toEntry = (r: EntryRow): LogEntry => ({
  id: r.id,
  timestamp: isoMicros(Number(r.ts)),
  level: r.level,
  service: r.service,
  stream: r.stream,
  message: r.message,
  trace_id: r.trace_id,
  span_id: r.span_id,
  metadata: r.metadata ?? {},
  received_at: isoMicros(Number(r.rcv)),
})

/**
 * The SETTINGS clause every read carries. Config `query`: a time limit that throws instead of
 * returning a partial answer, and a memory limit. And lazy materialization up to an export's
 * 10,001 rows (the engine's default stops at 10,000): an ORDER BY … LIMIT then reads the sort
 * key and the filters' columns first and the other columns (metadata above all) only for the
 * rows it returns. Measured at 100M entries over 30 days, an export of 10,000: 1.24-1.42 s and
 * serve RSS ~2 GiB without it, 0.36-0.60 s and ~0.7 GiB with it.
 * In the statement's text rather than as client settings: chDB runs per-query client settings
 * as extra SET statements, ~2-3 ms each. At the end of a UNION ALL (stats) the clause holds for
 * every branch (checked on chDB: a 1 ms limit stops a 2-billion-row count in either branch).
 * The values are numbers from the validated config and constants, never user input.
 */
const readSettings = (engine: Engine): string => {
  const settings = [`query_plan_max_limit_for_lazy_materialization = ${EXPORT_MAX + 1}`]
  const limits = engine.queryLimits
  if (limits) settings.push(`max_execution_time = ${limits.timeoutMs / 1000}`, `timeout_overflow_mode = 'throw'`, `max_memory_usage = ${Math.trunc(limits.maxMemoryBytes)}`)
  return `SETTINGS ${settings.join(', ')}\n`
}

/** Runs a SELECT … FORMAT JSONEachRow and returns its rows with the engine's read figures. */
export const selectRows = async <T>(
  engine: Engine,
  sql: string,
  params: Params,
  options: { measure?: boolean } = {},
): Promise<{ rows: T[]; stats: QueryStats }> => {
  const started = performance.now()
  const run = async () => {
    const result = await engine.client.exec({ query: `${sql}\n${readSettings(engine)}FORMAT JSONEachRow`, query_params: params.values })
    let text = ''
    for await (const chunk of result.stream) text += chunk.toString()
    return { text, summary: result.summary }
  }
  const measured: { result: Awaited<ReturnType<typeof run>>; rowsRead: number | null } = await engineCall(async () => {
    try {
      return await (engine.measureRowsRead && options.measure !== false ? engine.measureRowsRead(run) : run().then((result) => ({ result, rowsRead: null })))
    } catch (err) {
      throw (engine.queryLimits && readLimitError(err, engine.queryLimits)) ?? err
    }
  })
  const { text, summary } = measured.result
  const rows: T[] = []
  for (const line of text.split('\n')) if (line) rows.push(JSON.parse(line) as T)
  return {
    rows,
    stats: {
      elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
      rows_read: measured.rowsRead ?? Number(summary?.read_rows ?? 0),
    },
  }
}

export interface SearchResult {
  entries: LogEntry[]
  has_more: boolean
  cursor: string | null
  stats: QueryStats
}

/** A search cursor: the (timestamp, id) of the page's last entry, inside the searchable times. */
const CursorKey = z.strictObject({
  t: z.number().int().min(TIME_BOUND_MIN_US).max(TIME_BOUND_MAX_US),
  i: z.string().max(64),
})

export const buildSearchSql = (engine: Engine, input: SearchInput, now: Date): { sql: string; params: Params } => {
  const compiled = compileFilters(input, now)
  const { params } = compiled
  let where = compiled.where
  if (input.cursor) {
    const key = decodeCursor(input.cursor, CursorKey)
    const op = input.order === 'desc' ? '<' : '>'
    where += `\n  AND (timestamp, id) ${op} (fromUnixTimestamp64Micro(${params.bind('Int64', key.t)}, 'UTC'), ${params.bind('String', key.i)})`
  }
  const dir = input.order === 'desc' ? 'DESC' : 'ASC'
  const sql = `SELECT ${SELECT_ENTRY}\nFROM ${table(engine)}\nWHERE ${where}\nORDER BY timestamp ${dir}, id ${dir}\nLIMIT ${params.bind('UInt32', input.limit + 1)}`
  return { sql, params }
}

/**
 * Keyset-paged search on (timestamp, id): the cursor is the last key of the page, so entries
 * arriving meanwhile never shift a page and nothing is skipped or repeated.
 */
export const searchLogs = async (engine: Engine, input: SearchInput, now: Date): Promise<SearchResult> => {
  const { sql, params } = buildSearchSql(engine, input, now)
  const { rows, stats } = await selectRows<EntryRow>(engine, sql, params)
  const hasMore = rows.length > input.limit
  const page = rows.slice(0, input.limit)
  const last = page[page.length - 1]
  return {
    entries: page.map(toEntry),
    has_more: hasMore,
    cursor: hasMore && last ? encodeCursor({ t: Number(last.ts), i: last.id }) : null,
    stats,
  }
}

// ---- stats ------------------------------------------------------------------------------

export const StatsInput = z
  .object({
    ...FilterShape,
    interval: z.string().regex(/^(auto|\d{1,12}[smhd]?)$/, 'must be auto, or a number of seconds, or like 30s, 5m, 1h, 1d').default('auto'),
  })
  .strict()
export type StatsInput = z.infer<typeof StatsInput>

const NICE_INTERVALS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800]
const TARGET_BUCKETS = 120
const MAX_BUCKETS = 2000
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }
/** A bucket longer than a year says nothing a chart can show, and keeps bucket arithmetic exact. */
const MAX_INTERVAL_SECONDS = 365 * 86400

/** The shortest nice interval giving at most `target` buckets over the range. */
export const autoInterval = (rangeSeconds: number, target = TARGET_BUCKETS): number =>
  NICE_INTERVALS.find((i) => rangeSeconds / i <= target) ?? NICE_INTERVALS[NICE_INTERVALS.length - 1]!

export const chooseInterval = (spec: string, rangeSeconds: number): number => {
  if (spec === 'auto') return autoInterval(rangeSeconds)
  const match = /^(\d+)([smhd]?)$/.exec(spec)!
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's']!
  if (seconds < 1) throw validationError('interval', 'must be at least 1 second')
  if (seconds > MAX_INTERVAL_SECONDS) throw validationError('interval', 'must be at most 365d')
  if (rangeSeconds / seconds > MAX_BUCKETS) throw validationError('interval', `gives more than ${MAX_BUCKETS} buckets for this range`)
  return seconds
}

export interface StatsBucket {
  time: string
  total: number
  counts: Record<Level, number>
}

export interface StatsResult {
  interval_seconds: number
  from: string
  to: string
  buckets: StatsBucket[]
  stats: { elapsed_ms: number }
}

const MINUTE_US = 60_000_000

/**
 * Volume counts per bucket and level, buckets computed from the minute (`m`: epoch seconds of
 * the bucket), which the p_volume projection can answer: the interval is a whole number of
 * minutes on this path, so bucketing minute starts is exact.
 */
const minuteCounts = (engine: Engine, compiled: Compiled, interval: number): string => {
  const seconds = compiled.params.bind('UInt32', interval)
  return `SELECT intDiv(toUnixTimestamp(toStartOfMinute(timestamp)), ${seconds}) * ${seconds} AS m, level, count() AS n
FROM ${table(engine)}
WHERE ${compiled.where}
GROUP BY m, level`
}

/**
 * The SQL of a stats call. Counts by (minute, level) come from the p_volume projection
 * (engine/schema.ts) when the filters are ones it keeps (project, level, service, stream) and
 * buckets are whole minutes: 22-26 ms instead of 127+ ms for 24 h over 10M entries. The
 * partial minutes at both ends of the range are counted from the entries, and everything
 * else (q, trace_id, span_id, sub-minute buckets) reads the entries.
 */
/**
 * The filters split for the p_volume projection (per minute, level, service, stream): the
 * whole minutes of the range, which the projection answers, and the partial minutes at its
 * edges (undefined when there are none), read from the entries; both bind into one Params, so
 * one statement can UNION them. undefined when the projection cannot answer: a message query
 * or a trace/span id (not in the projection), or a range without one whole minute.
 */
export const projectionFilters = (input: Filters, now: Date): { whole: Compiled; edges?: Compiled } | undefined => {
  const { fromUs, toUs } = resolveRange(input, now)
  const firstWholeMinute = Math.ceil(fromUs / MINUTE_US) * MINUTE_US
  const lastWholeMinute = Math.floor(toUs / MINUTE_US) * MINUTE_US
  if (input.q?.trim() || input.trace_id !== undefined || input.span_id !== undefined || firstWholeMinute >= lastWholeMinute) return undefined
  const whole = compileFilters(input, now, (params) =>
    `toStartOfMinute(timestamp) >= fromUnixTimestamp64Micro(${params.bind('Int64', firstWholeMinute)}, 'UTC') AND toStartOfMinute(timestamp) < fromUnixTimestamp64Micro(${params.bind('Int64', lastWholeMinute)}, 'UTC')`,
  )
  if (fromUs >= firstWholeMinute && lastWholeMinute >= toUs) return { whole }
  const edges = compileFilters(input, now, (params, f, t) => `(${rawRange(params, f, firstWholeMinute)} OR ${rawRange(params, lastWholeMinute, t)})`, whole.params)
  return { whole, edges }
}

export const buildStatsSql = (engine: Engine, input: StatsInput, now: Date) => {
  const { fromUs, toUs } = resolveRange(input, now)
  const interval = chooseInterval(input.interval, (toUs - fromUs) / 1e6)
  const split = interval % 60 === 0 ? projectionFilters(input, now) : undefined
  if (!split) {
    const compiled = compileFilters(input, now)
    return { fromUs, toUs, interval, queries: [{ sql: minuteOrBucket(engine, compiled, interval), params: compiled.params }] }
  }
  let sql = minuteCounts(engine, split.whole, interval)
  // One statement: chDB's fixed cost per statement is worth saving here.
  if (split.edges) sql += `\nUNION ALL\n${minuteCounts(engine, split.edges, interval)}`
  return { fromUs, toUs, interval, queries: [{ sql, params: split.whole.params }] }
}

/** Without the projection: counts per bucket read from the entries, in the same row shape. */
const minuteOrBucket = (engine: Engine, compiled: Compiled, interval: number): string => {
  const bucket = `intDiv(toUnixTimestamp64Micro(timestamp), ${compiled.params.bind('Int64', interval * 1_000_000)}) * ${compiled.params.bind('UInt32', interval)}`
  return `SELECT ${bucket} AS m, level, count() AS n
FROM ${table(engine)}
WHERE ${compiled.where}
GROUP BY m, level`
}

/** The epoch seconds of every bucket of `interval` seconds that the range [fromUs, toUs) touches. */
export const bucketStarts = (fromUs: number, toUs: number, interval: number): number[] => {
  const first = Math.floor(fromUs / 1e6 / interval) * interval
  const last = Math.floor((toUs - 1) / 1e6 / interval) * interval
  const starts: number[] = []
  for (let t = first; t <= last; t += interval) starts.push(t)
  return starts
}

/** Counts per time bucket per level, zero-filled so a chart can draw it as it comes. */
export const volumeStats = async (engine: Engine, input: StatsInput, now: Date): Promise<StatsResult> => {
  const plan = buildStatsSql(engine, input, now)
  const { interval } = plan
  const buckets = new Map<number, StatsBucket>()
  for (const t of bucketStarts(plan.fromUs, plan.toUs, interval)) {
    buckets.set(t, { time: new Date(t * 1000).toISOString(), total: 0, counts: { debug: 0, info: 0, warn: 0, error: 0, fatal: 0 } })
  }
  const started = performance.now()
  for (const query of plan.queries) {
    // API.md asks no rows_read of stats; skipping its measurement saves two engine calls.
    const result = await selectRows<{ m: number; level: Level; n: number }>(engine, query.sql, query.params, { measure: false })
    for (const row of result.rows) {
      const bucket = buckets.get(Math.floor(Number(row.m) / interval) * interval)
      if (!bucket || !(row.level in bucket.counts)) continue
      bucket.counts[row.level] += Number(row.n)
      bucket.total += Number(row.n)
    }
  }
  const stats = { elapsed_ms: Math.round((performance.now() - started) * 10) / 10 }
  return {
    interval_seconds: interval,
    from: isoMicros(plan.fromUs),
    to: isoMicros(plan.toUs),
    buckets: [...buckets.values()],
    stats,
  }
}

// ---- export -----------------------------------------------------------------------------

export const EXPORT_MAX = 10_000

export const ExportInput = z
  .object({
    ...FilterShape,
    format: z.enum(['csv', 'json'], { error: 'must be csv or json' }).default('csv'),
    limit: z.coerce.number({ error: `must be an integer from 1 to ${EXPORT_MAX}` }).int(`must be an integer from 1 to ${EXPORT_MAX}`).min(1, `must be an integer from 1 to ${EXPORT_MAX}`).max(EXPORT_MAX, `must be an integer from 1 to ${EXPORT_MAX}`).default(EXPORT_MAX),
    order: z.enum(['desc', 'asc'], { error: 'must be desc or asc' }).default('desc'),
  })
  .strict()
export type ExportInput = z.infer<typeof ExportInput>

export const CSV_COLUMNS = ['timestamp', 'level', 'service', 'stream', 'message', 'trace_id', 'span_id', 'metadata'] as const

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside. */
export const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value)

const csvLine = (e: LogEntry): string =>
  [e.timestamp, e.level, e.service, e.stream, e.message, e.trace_id, e.span_id, JSON.stringify(e.metadata)].map(csvField).join(',') + '\r\n'

/** The entries of an export as chunks of CSV or of one JSON array, for a streamed download. */
export async function* exportChunks(entries: LogEntry[], format: 'csv' | 'json'): AsyncGenerator<string> {
  const CHUNK = 500
  if (format === 'csv') {
    yield CSV_COLUMNS.join(',') + '\r\n'
    for (let i = 0; i < entries.length; i += CHUNK) yield entries.slice(i, i + CHUNK).map(csvLine).join('')
    return
  }
  yield '['
  for (let i = 0; i < entries.length; i += CHUNK) {
    yield (i === 0 ? '' : ',') + entries.slice(i, i + CHUNK).map((e) => JSON.stringify(e)).join(',')
  }
  yield ']\n'
}

/** A file name for a download: project name and export time, safe in any file system. */
export const exportFileName = (projectName: string, at: Date, format: string): string => {
  const slug = projectName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'project'
  return `krafter-${slug}-${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z.${format}`
}

/** The entries of an export: the search of the same filters, up to EXPORT_MAX at once. */
export const exportEntries = async (engine: Engine, input: ExportInput, now: Date): Promise<{ entries: LogEntry[]; stats: QueryStats }> => {
  const { format: _format, ...filters } = input
  const result = await searchLogs(engine, filters, now)
  return { entries: result.entries, stats: result.stats }
}
