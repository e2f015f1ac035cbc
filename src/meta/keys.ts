import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'
import { keysetQuery, type KeysetOrder } from './keyset.js'
import { displayPrefix, generateToken, hashToken, hashesEqual } from '../security/tokens.js'

export const SCOPES = ['logs:read', 'logs:write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export interface ApiKey {
  id: string
  team_id: string
  name: string
  prefix: string
  scopes: Scope[]
  project_ids: string[] | null
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  created_at: string
}

interface ApiKeyRow extends Omit<ApiKey, 'scopes' | 'project_ids'> {
  scopes: string
  project_ids: string | null
  key_hash: string
}

const fromRow = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  team_id: row.team_id,
  name: row.name,
  prefix: row.prefix,
  scopes: JSON.parse(row.scopes) as Scope[],
  project_ids: row.project_ids === null ? null : (JSON.parse(row.project_ids) as string[]),
  expires_at: row.expires_at,
  revoked_at: row.revoked_at,
  last_used_at: row.last_used_at,
  created_at: row.created_at,
})

export interface NewApiKey {
  teamId: string
  name: string
  scopes: Scope[]
  projectIds?: string[] | null
  expiresAt?: string | null
}

/** Creates a key and returns the full token: the only time it exists outside the caller. */
export const createApiKey = (db: MetaDb, input: NewApiKey, now: Date): { key: ApiKey; token: string } => {
  const token = generateToken('team')
  const row: ApiKeyRow = {
    id: randomUUID(),
    team_id: input.teamId,
    name: input.name,
    prefix: displayPrefix(token),
    key_hash: hashToken(token),
    scopes: JSON.stringify(input.scopes),
    project_ids: input.projectIds ? JSON.stringify(input.projectIds) : null,
    expires_at: input.expiresAt ?? null,
    revoked_at: null,
    last_used_at: null,
    created_at: now.toISOString(),
  }
  db.prepare(
    `INSERT INTO api_keys (id, team_id, name, prefix, key_hash, scopes, project_ids, expires_at, revoked_at, last_used_at, created_at)
     VALUES (@id, @team_id, @name, @prefix, @key_hash, @scopes, @project_ids, @expires_at, @revoked_at, @last_used_at, @created_at)`,
  ).run(row)
  return { key: fromRow(row), token }
}

/**
 * Looks a presented team key up by its hash. Unknown, revoked and expired keys all give
 * undefined: callers cannot (and must not) tell them apart.
 */
export const findActiveApiKey = (db: MetaDb, token: string, now: Date): ApiKey | undefined => {
  const hash = hashToken(token)
  const row = db.prepare('SELECT * FROM api_keys WHERE key_hash = ?').get(hash) as ApiKeyRow | undefined
  if (!row || !hashesEqual(row.key_hash, hash)) return undefined
  if (row.revoked_at !== null) return undefined
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()) return undefined
  return fromRow(row)
}

/** Records use at most once a minute per key, so reads do not turn into a write each. */
export const touchApiKey = (db: MetaDb, key: ApiKey, now: Date): void => {
  if (key.last_used_at && now.getTime() - Date.parse(key.last_used_at) < 60_000) return
  db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(now.toISOString(), key.id)
}

export const getApiKey = (db: MetaDb, teamId: string, id: string): ApiKey | undefined => {
  const row = db.prepare('SELECT * FROM api_keys WHERE team_id = ? AND id = ?').get(teamId, id) as ApiKeyRow | undefined
  return row && fromRow(row)
}

const BY_CREATED: KeysetOrder = { columns: ['created_at', 'id'], direction: 'ASC' }

/** Keyset page ordered by (created_at, id), revoked and expired keys included. */
export const listApiKeys = (db: MetaDb, teamId: string, options: { limit: number; after?: { at: string; id: string } }): ApiKey[] => {
  const q = keysetQuery({
    select: 'SELECT * FROM api_keys',
    filters: [['team_id = @teamId', { teamId }]],
    order: BY_CREATED,
    after: options.after && [options.after.at, options.after.id],
    limit: options.limit,
  })
  return (db.prepare(q.sql).all(q.params) as ApiKeyRow[]).map(fromRow)
}

/** Active (not revoked, not expired) keys with the admin scope and no project limit, other than `exceptId`. */
export const otherActiveAdminKeys = (db: MetaDb, teamId: string, exceptId: string, now: Date): number =>
  (
    db
      .prepare(
        `SELECT count(*) AS n FROM api_keys
         WHERE team_id = ? AND id != ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
           AND project_ids IS NULL AND EXISTS (SELECT 1 FROM json_each(scopes) WHERE value = 'admin')`,
      )
      .get(teamId, exceptId, now.toISOString()) as { n: number }
  ).n

export const revokeApiKey = (db: MetaDb, id: string, now: Date): void => {
  db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now.toISOString(), id)
}

/** A key by id, when it is still usable (not revoked, not expired): what a browser session acts as. */
export const findActiveApiKeyById = (db: MetaDb, teamId: string, id: string, now: Date): ApiKey | undefined => {
  const key = getApiKey(db, teamId, id)
  if (!key || key.revoked_at !== null) return undefined
  if (key.expires_at !== null && Date.parse(key.expires_at) <= now.getTime()) return undefined
  return key
}
