import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { logTable as table } from '../engine/schema.js'
import { notFound, validationError } from '../errors.js'
import { compileQuery, Params } from '../logs/query/compile.js'
import { parseQuery } from '../logs/query/parse.js'
import {
  compileFilters,
  DAY_US,
  FilterShape,
  parseTimeBound,
  rawRange,
  SELECT_ENTRY,
  selectRows,
  toEntry,
  type EntryRow,
  type LogEntry,
} from '../logs/search.js'
import { intParam } from './shared.js'

export const CONTEXT_MAX = 500

export const ContextInput = z
  .object({
    ...FilterShape,
    id: z.string({ error: 'must be an entry id' }).min(1, 'must be an entry id').max(64, 'must be at most 64 characters'),
    before: intParam(0, CONTEXT_MAX, 50),
    after: intParam(0, CONTEXT_MAX, 50),
  })
  .strict()
export type ContextInput = z.infer<typeof ContextInput>

export interface ContextResult {
  before: LogEntry[]
  entry: LogEntry
  after: LogEntry[]
}

const byKey = (a: EntryRow, b: EntryRow): number => Number(a.ts) - Number(b.ts) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * One entry and its neighbours in (timestamp, id) order, the key search pages on.
 *
 * The entry is found by (project_id, id) alone, whatever the filters and their time range say:
 * the scan is the project's key range of the table (sorted by project first), and the table
 * holds at most its 90-day TTL. The id's leading 10 characters are its receipt time, but they
 * cannot narrow that much further: ingest accepts timestamps from the project's retention
 * before receipt to 2 days after (the whole table again), and the id's clock is the process
 * wall clock, not necessarily the received_at column's. Measured: 3-8 ms over 1.8M entries.
 *
 * The neighbours are narrowed by the filters (q, level, service, …). Without `from`/`to` they
 * come from the day either side of the entry (search's default range is a day too); a given
 * `from` or `to` replaces that side's bound. The entry itself is never among them.
 *
 * `entryFilter` (a viewer token's fixed filter): the entry itself must match it too, or it is
 * not found, so an id cannot reach an entry outside what the token may read.
 */
export const entryContext = async (engine: Engine, input: ContextInput, now: Date, options: { entryFilter?: string } = {}): Promise<ContextResult> => {
  const { id, before, after, from, to, ...filters } = input
  const fromUs = from !== undefined ? parseTimeBound(from, 'from') : undefined
  const toUs = to !== undefined ? parseTimeBound(to, 'to') : undefined
  if (fromUs !== undefined && toUs !== undefined && fromUs >= toUs) throw validationError('from', 'must be before to')
  // Refuses a malformed q or level before any engine work.
  compileFilters(filters, now)

  const lookup = new Params()
  const prewhere = `project_id = ${lookup.bind('UUID', input.project_id)} AND id = ${lookup.bind('String', id)}`
  const mustMatch = options.entryFilter !== undefined ? `\nWHERE ${compileQuery(parseQuery(options.entryFilter), lookup)}` : ''
  const found = await selectRows<EntryRow>(
    engine,
    `SELECT ${SELECT_ENTRY}\nFROM ${table(engine)}\nPREWHERE ${prewhere}${mustMatch}\nLIMIT 1`,
    lookup,
    { measure: false },
  )
  const row = found.rows[0]
  if (!row) throw notFound('Entry')
  const ts = Number(row.ts)
  const result: ContextResult = { before: [], entry: toEntry(row), after: [] }
  if (before === 0 && after === 0) return result

  const compiled = compileFilters(filters, now, (params) => rawRange(params, fromUs ?? ts - DAY_US, toUs ?? ts + DAY_US))
  const { params, where } = compiled
  const at = `fromUnixTimestamp64Micro(${params.bind('Int64', ts)}, 'UTC')`
  const key = `(${at}, ${params.bind('String', row.id)})`
  // The plain timestamp bound is what the primary key can prune on; the tuple breaks the tie.
  const side = (name: string, op: '<' | '>', dir: 'ASC' | 'DESC', n: number) =>
    `(SELECT '${name}' AS side, ${SELECT_ENTRY}\nFROM ${table(engine)}\nWHERE ${where}\n  AND timestamp ${op}= ${at} AND (timestamp, id) ${op} ${key}\nORDER BY timestamp ${dir}, id ${dir}\nLIMIT ${params.bind('UInt32', n)})`
  const parts = [...(before > 0 ? [side('before', '<', 'DESC', before)] : []), ...(after > 0 ? [side('after', '>', 'ASC', after)] : [])]
  // One statement for both sides: chDB's fixed cost per statement is worth saving.
  const { rows } = await selectRows<EntryRow & { side: string }>(engine, parts.join('\nUNION ALL\n'), params, { measure: false })
  result.before = rows.filter((r) => r.side === 'before').sort(byKey).map(toEntry)
  result.after = rows.filter((r) => r.side === 'after').sort(byKey).map(toEntry)
  return result
}
