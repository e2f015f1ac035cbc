import type { TestApp } from './app.js'

/** A stored log entry as the protocol tests check it: the columns, the time as the engine prints it, metadata parsed. */
export interface StoredEntry {
  message: string
  level: string
  service: string
  stream: string
  /** `toString(timestamp)`: `2026-12-02 10:00:00.123456`. */
  ts: string
  trace_id: string
  span_id: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  metadata: Record<string, any>
}

/** A project's stored entries, oldest first (or newest first), optionally of one stream. */
export const storedEntries = async (t: TestApp, projectId: string, options: { stream?: string; newestFirst?: boolean } = {}): Promise<StoredEntry[]> => {
  const rows = await t.rows<Omit<StoredEntry, 'metadata'> & { metadata: string }>(
    `SELECT message, level, service, stream, toString(timestamp) AS ts, trace_id, span_id, toJSONString(metadata) AS metadata
     FROM krafter.log_entries WHERE project_id = {p:UUID} ${options.stream === undefined ? '' : 'AND stream = {s:String}'}
     ORDER BY timestamp ${options.newestFirst ? 'DESC' : 'ASC'}, id`,
    { p: projectId, s: options.stream ?? '' },
  )
  return rows.map((r) => ({ ...r, metadata: JSON.parse(r.metadata) }))
}
