import type { Engine } from '../engine/engine.js'
import { engineCall } from '../engine/engine.js'
import { logDeleteSql, logTable } from '../engine/schema.js'

/*
 * The engine side of anonymous streams: their events live in the log table under the stream's
 * own id (a pseudo project no search can name: every read checks the project in SQLite first),
 * so they are stored, redacted and limited like any entry, and a claim is a copy within the
 * table. Every value is a bound parameter.
 */

/** Stored columns, in one list for the copy (message_template is MATERIALIZED: computed again on insert). */
const COLUMNS = 'project_id, timestamp, id, level, service, stream, message, trace_id, span_id, metadata, received_at'
const SELECTED = COLUMNS.replace('project_id', '{target:UUID}')

/** Source rows whose id the target project's stream does not hold yet. GLOBAL: on a cluster the two sides live on different shards. */
const notYetCopied = (engine: Engine): string =>
  `project_id = {source:UUID} AND id GLOBAL NOT IN (SELECT id FROM ${logTable(engine)} WHERE project_id = {target:UUID} AND stream = {stream:String})`

export interface CopySpec {
  source: string
  target: string
  stream: string
}

const params = (spec: CopySpec) => ({ source: spec.source, target: spec.target, stream: spec.stream })

const count = async (engine: Engine, sql: string, queryParams: Record<string, unknown>): Promise<number> => {
  const rs = await engineCall(() => engine.client.query({ query: sql, query_params: queryParams, format: 'JSONEachRow' }))
  const rows = await rs.json<{ n: string | number }>()
  return Number(rows[0]?.n ?? 0)
}

/** How many of the stream's rows the target does not hold yet. */
export const countNotCopied = (engine: Engine, spec: CopySpec): Promise<number> =>
  count(engine, `SELECT count() AS n FROM ${logTable(engine)} WHERE ${notYetCopied(engine)}`, params(spec))

/**
 * Copies up to `limit` rows the target does not hold yet (lowest ids first), ids, timestamps and
 * receipt times unchanged, into the target project. Idempotent by construction: a re-run after
 * any crash inserts only what is missing, so no row is ever there twice.
 */
export const copyNotCopied = async (engine: Engine, spec: CopySpec, limit: number): Promise<void> => {
  await engineCall(() =>
    engine.client.command({
      query: `INSERT INTO ${logTable(engine)} (${COLUMNS}) SELECT ${SELECTED} FROM ${logTable(engine)} WHERE ${notYetCopied(engine)} ORDER BY id LIMIT {limit:UInt64}`,
      query_params: { ...params(spec), limit },
    }),
  )
}

/** Rows stored under a stream's id. */
export const countStreamRows = (engine: Engine, source: string): Promise<number> =>
  count(engine, `SELECT count() AS n FROM ${logTable(engine)} WHERE project_id = {source:UUID}`, { source })

/** Removes every row stored under these streams' ids (lightweight DELETE: gone from reads at once). */
export const deleteStreamRows = async (engine: Engine, sources: string[]): Promise<void> => {
  if (sources.length === 0) return
  await engineCall(() =>
    engine.client.command({
      query: logDeleteSql(engine, 'project_id IN {sources:Array(UUID)}'),
      query_params: { sources },
    }),
  )
}
