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
