import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'

export interface Team {
  id: string
  name: string
  created_at: string
}

export const createTeam = (db: MetaDb, name: string, now: Date): Team => {
  const team: Team = { id: randomUUID(), name, created_at: now.toISOString() }
  db.prepare('INSERT INTO teams (id, name, created_at) VALUES (@id, @name, @created_at)').run(team)
  return team
}

/** The appliance serves one team; the schema keeps team_id so keys and projects stay scoped. */
export const getDefaultTeam = (db: MetaDb): Team | undefined =>
  db.prepare('SELECT id, name, created_at FROM teams ORDER BY created_at, id LIMIT 1').get() as Team | undefined
