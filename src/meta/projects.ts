import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'
import { keysetQuery, type KeysetOrder } from './keyset.js'
import { displayPrefix } from '../security/tokens.js'
import { clearTokenCache, findLiveIngestToken, insertIngestToken, rotatePrimaryToken } from './ingest-tokens.js'

export interface Project {
  id: string
  team_id: string
  name: string
  description: string | null
  retention_days: number
  daily_limit_mb: number
  ingest_token_prefix: string
  created_at: string
  updated_at: string
}

export interface ProjectFields {
  name: string
  description?: string | null
  retention_days: number
  daily_limit_mb: number
}

export interface PageKey {
  created_at: string
  id: string
}

const isUniqueViolation = (err: unknown): boolean =>
  (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE'

export class NameTakenError extends Error {}

/** Inserts the project and its first ingest token in one transaction; returns the token once. */
export const insertProject = (
  db: MetaDb,
  teamId: string,
  fields: ProjectFields,
  now: Date,
): { project: Project; ingestToken: string } => {
  clearTokenCache(db)
  const id = randomUUID()
  const stamp = now.toISOString()
  try {
    return db.transaction(() => {
      // The prefix is known only once the token exists; insert with a placeholder first so the
      // token row can reference the project.
      db.prepare(
        `INSERT INTO projects (id, team_id, name, description, retention_days, daily_limit_mb, ingest_token_prefix, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)`,
      ).run(id, teamId, fields.name, fields.description ?? null, fields.retention_days, fields.daily_limit_mb, stamp, stamp)
      const ingestToken = insertIngestToken(db, id, { kind: 'primary', name: 'primary' }, now).secret
      db.prepare('UPDATE projects SET ingest_token_prefix = ? WHERE id = ?').run(displayPrefix(ingestToken), id)
      return { project: getProject(db, teamId, id)!, ingestToken }
    })()
  } catch (err) {
    if (isUniqueViolation(err)) throw new NameTakenError(fields.name)
    throw err
  }
}

export const getProject = (db: MetaDb, teamId: string, id: string): Project | undefined =>
  db.prepare('SELECT * FROM projects WHERE team_id = ? AND id = ?').get(teamId, id) as Project | undefined

export const findProjectByName = (db: MetaDb, teamId: string, name: string): Project | undefined =>
  db.prepare('SELECT * FROM projects WHERE team_id = ? AND name = ?').get(teamId, name) as Project | undefined

const BY_CREATED: KeysetOrder = { columns: ['created_at', 'id'], direction: 'ASC' }

/** Keyset page ordered by (created_at, id); `projectIds` narrows it for keys limited to some projects. */
export const listProjects = (
  db: MetaDb,
  teamId: string,
  options: { limit: number; after?: PageKey; projectIds?: string[] | null },
): Project[] => {
  const q = keysetQuery({
    select: 'SELECT * FROM projects',
    filters: [
      ['team_id = @teamId', { teamId }],
      options.projectIds && ['id IN (SELECT value FROM json_each(@projectIds))', { projectIds: JSON.stringify(options.projectIds) }],
    ],
    order: BY_CREATED,
    after: options.after && [options.after.created_at, options.after.id],
    limit: options.limit,
  })
  return db.prepare(q.sql).all(q.params) as Project[]
}

export const updateProjectRow = (
  db: MetaDb,
  teamId: string,
  id: string,
  changes: Partial<ProjectFields>,
  now: Date,
): Project | undefined => {
  clearTokenCache(db)
  // Column names come from this fixed list, never from input.
  const columns = (['name', 'description', 'retention_days', 'daily_limit_mb'] as const).filter(
    (c) => changes[c] !== undefined,
  )
  const sets = [...columns.map((c) => `${c} = @${c}`), 'updated_at = @updated_at']
  try {
    const info = db
      .prepare(`UPDATE projects SET ${sets.join(', ')} WHERE team_id = @teamId AND id = @id`)
      .run({ ...changes, updated_at: now.toISOString(), teamId, id })
    if (info.changes === 0) return undefined
  } catch (err) {
    if (isUniqueViolation(err)) throw new NameTakenError(String(changes.name))
    throw err
  }
  return getProject(db, teamId, id)
}

/** Deletes the project row; streams, tokens and usage go with it (ON DELETE CASCADE). */
export const deleteProjectRow = (db: MetaDb, teamId: string, id: string): boolean => {
  clearTokenCache(db)
  return db.prepare('DELETE FROM projects WHERE team_id = ? AND id = ?').run(teamId, id).changes > 0
}

/**
 * Issues a new primary ingest token and retires the current primary (and earlier ones still in
 * a grace period) in one transaction: revoked now, or left valid for `graceSeconds` so senders
 * can switch over without a gap. The project's other (named) tokens are not touched.
 */
export const rotateIngestToken = (
  db: MetaDb,
  teamId: string,
  id: string,
  graceSeconds: number,
  now: Date,
): { project: Project; ingestToken: string } | undefined =>
  db.transaction(() => {
    clearTokenCache(db)
    if (!getProject(db, teamId, id)) return undefined
    const ingestToken = rotatePrimaryToken(db, id, graceSeconds, now)
    db.prepare('UPDATE projects SET ingest_token_prefix = ?, updated_at = ? WHERE id = ?').run(displayPrefix(ingestToken), now.toISOString(), id)
    return { project: getProject(db, teamId, id)!, ingestToken }
  })()

/** The project a presented ingest token belongs to, if the token is live (src/meta/ingest-tokens.ts). */
export const findProjectByIngestToken = (db: MetaDb, token: string, now: Date): Project | undefined =>
  findLiveIngestToken(db, token, now)?.project
