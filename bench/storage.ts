import type { Engine } from '../src/engine/engine.js'

/** What the benches report of the log table's storage: one place for the queries. */
const rowsOf = async <T>(engine: Engine, query: string): Promise<T[]> =>
  (await (await engine.client.query({ query, format: 'JSONEachRow' })).json<T>())

const ACTIVE = `database = 'krafter' AND table = 'log_entries' AND active`

/**
 * The NDJSON size of the stored entries, as the API would return them. With sampleEvery > 1,
 * from every sampleEvery-th entry (by a hash of its id) scaled to all of them: formatting each
 * of 120M rows as JSON takes the engine over 20 minutes here.
 */
export const ndjsonBytes = async (engine: Engine, sampleEvery = 1): Promise<number> => {
  const line = `length(formatRowNoNewline('JSONEachRow', toString(timestamp) AS timestamp, level, service, stream, message, trace_id, span_id, toJSONString(metadata) AS metadata)) + 1`
  const sql =
    sampleEvery === 1
      ? `SELECT sum(${line}) AS b FROM krafter.log_entries`
      : `SELECT round(sum(${line}) * ((SELECT count() FROM krafter.log_entries) / count())) AS b FROM krafter.log_entries WHERE cityHash64(id) % ${Math.trunc(sampleEvery)} = 0`
  const [row] = await rowsOf<{ b: string }>(engine, sql)
  return Number(row!.b)
}

export interface StoredBytes {
  disk: number
  parts: number
  rows: number
  /** All skip indexes together. */
  indexBytes: number
  columns: { column: string; compressed: number; uncompressed: number }[]
  /** Each skip index and projection by name, compressed bytes. */
  structures: { name: string; compressed: number }[]
}

/** Bytes on disk of the active parts, by column and by skip index and projection, largest first. */
export const storedBytes = async (engine: Engine): Promise<StoredBytes> => {
  const [size] = await rowsOf<{ disk: string; parts: string; rows: string; idx: string }>(
    engine,
    `SELECT sum(bytes_on_disk) AS disk, count() AS parts, sum(rows) AS rows, sum(secondary_indices_compressed_bytes) AS idx FROM system.parts WHERE ${ACTIVE}`,
  )
  const columns = await rowsOf<{ column: string; compressed: string; uncompressed: string }>(
    engine,
    `SELECT column, sum(column_data_compressed_bytes) AS compressed, sum(column_data_uncompressed_bytes) AS uncompressed
     FROM system.parts_columns WHERE ${ACTIVE} GROUP BY column ORDER BY compressed DESC`,
  )
  const structures = await rowsOf<{ name: string; compressed: string }>(
    engine,
    `SELECT label AS name, compressed FROM (
       SELECT concat('index ', name) AS label, sum(data_compressed_bytes) AS compressed FROM system.data_skipping_indices WHERE database = 'krafter' AND table = 'log_entries' GROUP BY name
       UNION ALL SELECT concat('projection ', name) AS label, sum(data_compressed_bytes) AS compressed FROM system.projection_parts WHERE ${ACTIVE} GROUP BY name
     ) ORDER BY compressed DESC`,
  )
  return {
    disk: Number(size!.disk),
    parts: Number(size!.parts),
    rows: Number(size!.rows),
    indexBytes: Number(size!.idx),
    columns: columns.map((c) => ({ column: c.column, compressed: Number(c.compressed), uncompressed: Number(c.uncompressed) })),
    structures: structures.map((s) => ({ name: s.name, compressed: Number(s.compressed) })),
  }
}
