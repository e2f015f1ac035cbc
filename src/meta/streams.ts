import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'

export interface Stream {
  id: string
  name: string
  inserted_at: string
}

export const listStreams = (db: MetaDb, projectId: string): Stream[] =>
  db
    .prepare('SELECT id, name, inserted_at FROM streams WHERE project_id = ? ORDER BY inserted_at, name')
    .all(projectId) as Stream[]

/** Records streams seen for the first time; existing ones keep their inserted_at. */
export const ensureStreams = (db: MetaDb, projectId: string, names: Iterable<string>, now: Date): void => {
  const insert = db.prepare('INSERT OR IGNORE INTO streams (id, project_id, name, inserted_at) VALUES (?, ?, ?, ?)')
  const stamp = now.toISOString()
  db.transaction(() => {
    for (const name of names) insert.run(randomUUID(), projectId, name, stamp)
  })()
}
