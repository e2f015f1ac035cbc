import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'
import { keysetQuery, type KeysetOrder } from './keyset.js'
import { displayPrefix, generateToken, hashToken, hashesEqual } from '../security/tokens.js'

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

const insertToken = (db: MetaDb, projectId: string, now: Date): string => {
  const token = generateToken('ingest')
  db.prepare(
    `INSERT INTO ingest_tokens (id, project_id, prefix, token_hash, created_at, expires_at, revoked_at)
     VALUES (?, ?, ?, ?, ?, NULL, NULL)`,
  ).run(randomUUID(), projectId, displayPrefix(token), hashToken(token), now.toISOString())
  return token
}

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
      const ingestToken = insertToken(db, id, now)
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
 * Issues a new ingest token and retires the current ones in one transaction: revoked now, or
 * left valid for `graceSeconds` so senders can switch over without a gap.
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
    const stamp = now.toISOString()
    if (graceSeconds > 0) {
      const until = new Date(now.getTime() + graceSeconds * 1000).toISOString()
      // Shorten, never lengthen, the life of tokens already in a grace period.
      db.prepare(
        `UPDATE ingest_tokens SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > @until THEN @until ELSE expires_at END
         WHERE project_id = @id AND revoked_at IS NULL`,
      ).run({ until, id })
    } else {
      db.prepare('UPDATE ingest_tokens SET revoked_at = ? WHERE project_id = ? AND revoked_at IS NULL').run(stamp, id)
    }
    const ingestToken = insertToken(db, id, now)
    db.prepare('UPDATE projects SET ingest_token_prefix = ?, updated_at = ? WHERE id = ?').run(
      displayPrefix(ingestToken),
      stamp,
      id,
    )
    return { project: getProject(db, teamId, id)!, ingestToken }
  })()

type TokenRow = Project & { token_hash: string; expires_at: string | null; revoked_at: string | null }

/**
 * Ingest tokens looked up by hash, cached per connection: the ingest path asks for the same
 * few tokens thousands of times a second. Any write through this connection clears the cache
 * at once (API rotations and deletions, and CLI commands that go through a running serve). A
 * write by another process is noticed through SQLite's data_version, checked at most every
 * TOKEN_RECHECK_MS because the check itself costs more than the rest of the lookup.
 */
const TOKEN_RECHECK_MS = 50
const tokenCaches = new WeakMap<MetaDb, { version: number; checkedAt: number; rows: Map<string, TokenRow | null> }>()

const tokenCache = (db: MetaDb): Map<string, TokenRow | null> => {
  const now = performance.now()
  let cache = tokenCaches.get(db)
  if (cache && now - cache.checkedAt < TOKEN_RECHECK_MS && cache.rows.size < 10_000) return cache.rows
  const version = db.prepare('PRAGMA data_version').pluck().get() as number
  if (!cache || cache.version !== version || cache.rows.size >= 10_000) {
    cache = { version, checkedAt: now, rows: new Map() }
    tokenCaches.set(db, cache)
  }
  cache.checkedAt = now
  return cache.rows
}

const clearTokenCache = (db: MetaDb): void => {
  tokenCaches.delete(db)
}

/** The project a presented ingest token belongs to, if the token is live. */
export const findProjectByIngestToken = (db: MetaDb, token: string, now: Date): Project | undefined => {
  const hash = hashToken(token)
  const cache = tokenCache(db)
  let row = cache.get(hash)
  if (row === undefined) {
    row = lookupToken(db, hash) ?? null
    cache.set(hash, row)
  }
  if (!row || !hashesEqual(row.token_hash, hash)) return undefined
  if (row.revoked_at !== null) return undefined
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()) return undefined
  const { token_hash: _h, expires_at: _e, revoked_at: _r, ...project } = row
  return project
}

const lookupToken = (db: MetaDb, hash: string): TokenRow | undefined =>
  db
    .prepare(
      `SELECT t.token_hash, t.expires_at, t.revoked_at, p.* FROM ingest_tokens t JOIN projects p ON p.id = t.project_id
       WHERE t.token_hash = ?`,
    )
    .get(hash) as TokenRow | undefined
