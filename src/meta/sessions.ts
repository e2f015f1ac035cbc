import type { MetaDb } from './db.js'
import { hashesEqual } from '../security/tokens.js'

/**
 * Browser sessions and one-time login links, looked up by the SHA-256 of what the browser
 * holds: neither the session id nor a link's token is ever stored. `api_key_id` null: the
 * local admin of this machine (a login link asked for with serve's local admin token).
 */
export interface SessionRow {
  id_hash: string
  team_id: string
  api_key_id: string | null
  csrf_hash: string
  created_at: string
  expires_at: string
}

export const insertSession = (db: MetaDb, row: SessionRow): void => {
  db.prepare(
    `INSERT INTO sessions (id_hash, team_id, api_key_id, csrf_hash, created_at, expires_at)
     VALUES (@id_hash, @team_id, @api_key_id, @csrf_hash, @created_at, @expires_at)`,
  ).run(row)
}

/** The live session of this id hash, or undefined (unknown and expired alike). */
export const findLiveSession = (db: MetaDb, idHash: string, now: Date): SessionRow | undefined => {
  const row = db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined
  if (!row || !hashesEqual(row.id_hash, idHash)) return undefined
  return Date.parse(row.expires_at) > now.getTime() ? row : undefined
}

export const deleteSession = (db: MetaDb, idHash: string): boolean => db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash).changes > 0

/** Revoking a key ends its sessions and its unused login links. */
export const deleteSessionsOfKey = (db: MetaDb, apiKeyId: string): number => {
  db.prepare('DELETE FROM login_links WHERE api_key_id = ?').run(apiKeyId)
  return db.prepare('DELETE FROM sessions WHERE api_key_id = ?').run(apiKeyId).changes
}

/** Expired sessions and links are dropped whenever a new one is made, so the tables stay small. */
export const deleteExpired = (db: MetaDb, now: Date): void => {
  const at = now.toISOString()
  db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(at)
  db.prepare('DELETE FROM login_links WHERE expires_at <= ? OR used_at IS NOT NULL').run(at)
}

export interface LoginLinkRow {
  token_hash: string
  team_id: string
  api_key_id: string | null
  created_at: string
  expires_at: string
}

export const insertLoginLink = (db: MetaDb, row: LoginLinkRow): void => {
  db.prepare(
    `INSERT INTO login_links (token_hash, team_id, api_key_id, created_at, expires_at, used_at)
     VALUES (@token_hash, @team_id, @api_key_id, @created_at, @expires_at, NULL)`,
  ).run(row)
}

/**
 * Marks the link used and returns it, in one statement: of two redemptions racing, one wins.
 * Unknown, used and expired links all give undefined.
 */
export const redeemLoginLink = (db: MetaDb, tokenHash: string, now: Date): LoginLinkRow | undefined => {
  const at = now.toISOString()
  const row = db
    .prepare(
      `UPDATE login_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
       RETURNING token_hash, team_id, api_key_id, created_at, expires_at`,
    )
    .get(at, tokenHash, at) as LoginLinkRow | undefined
  return row && hashesEqual(row.token_hash, tokenHash) ? row : undefined
}
