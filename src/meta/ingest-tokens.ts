import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'
import { keysetQuery, type KeysetOrder } from './keyset.js'
import type { Project } from './projects.js'
import { displayPrefix, generateToken, hashToken, hashesEqual } from '../security/tokens.js'

/**
 * A project's ingest tokens (issue 17). `primary`: the token project create made or the last
 * rotate_token made; `rotated`: an earlier primary (revoked, or in a rotation's grace period);
 * `named`: made by POST /logs/projects/:id/tokens, untouched by rotation.
 */
export type IngestTokenKind = 'primary' | 'rotated' | 'named'

export interface IngestToken {
  id: string
  project_id: string
  kind: IngestTokenKind
  name: string
  prefix: string
  allowed_origins: string[]
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
}

interface IngestTokenRow extends Omit<IngestToken, 'allowed_origins'> {
  allowed_origins: string
  token_hash: string
}

const fromRow = (row: IngestTokenRow): IngestToken => ({
  id: row.id,
  project_id: row.project_id,
  kind: row.kind,
  name: row.name,
  prefix: row.prefix,
  allowed_origins: JSON.parse(row.allowed_origins) as string[],
  created_at: row.created_at,
  expires_at: row.expires_at,
  revoked_at: row.revoked_at,
  last_used_at: row.last_used_at,
})

export interface NewIngestToken {
  kind: 'primary' | 'named'
  name: string
  expiresAt?: string | null
  allowedOrigins?: string[]
}

/** Inserts a token and returns it with the full secret: the only time it exists outside the caller. */
export const insertIngestToken = (db: MetaDb, projectId: string, input: NewIngestToken, now: Date): { token: IngestToken; secret: string } => {
  clearTokenCache(db)
  const secret = generateToken('ingest')
  const row: IngestTokenRow = {
    id: randomUUID(),
    project_id: projectId,
    kind: input.kind,
    name: input.name,
    prefix: displayPrefix(secret),
    token_hash: hashToken(secret),
    allowed_origins: JSON.stringify(input.allowedOrigins ?? []),
    created_at: now.toISOString(),
    expires_at: input.expiresAt ?? null,
    revoked_at: null,
    last_used_at: null,
  }
  db.prepare(
    `INSERT INTO ingest_tokens (id, project_id, kind, name, prefix, token_hash, allowed_origins, created_at, expires_at, revoked_at, last_used_at)
     VALUES (@id, @project_id, @kind, @name, @prefix, @token_hash, @allowed_origins, @created_at, @expires_at, @revoked_at, @last_used_at)`,
  ).run(row)
  return { token: fromRow(row), secret }
}

export const getIngestToken = (db: MetaDb, projectId: string, id: string): IngestToken | undefined => {
  const row = db.prepare('SELECT * FROM ingest_tokens WHERE project_id = ? AND id = ?').get(projectId, id) as IngestTokenRow | undefined
  return row && fromRow(row)
}

const BY_CREATED: KeysetOrder = { columns: ['created_at', 'id'], direction: 'ASC' }

/** Keyset page of a project's tokens by (created_at, id), revoked and expired ones included. */
export const listIngestTokens = (db: MetaDb, projectId: string, options: { limit: number; after?: { at: string; id: string } }): IngestToken[] => {
  const q = keysetQuery({
    select: 'SELECT * FROM ingest_tokens',
    filters: [['project_id = @projectId', { projectId }]],
    order: BY_CREATED,
    after: options.after && [options.after.at, options.after.id],
    limit: options.limit,
  })
  return (db.prepare(q.sql).all(q.params) as IngestTokenRow[]).map(fromRow)
}

/** Revokes one token now (a revoked one keeps its first revocation time). */
export const revokeIngestToken = (db: MetaDb, projectId: string, id: string, now: Date): void => {
  clearTokenCache(db)
  db.prepare('UPDATE ingest_tokens SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL').run(now.toISOString(), projectId, id)
}

/** Revokes every token of the project (its deletion starts with this: nothing new may arrive). */
export const revokeProjectTokens = (db: MetaDb, projectId: string, now: Date): void => {
  clearTokenCache(db)
  db.prepare('UPDATE ingest_tokens SET revoked_at = ? WHERE project_id = ? AND revoked_at IS NULL').run(now.toISOString(), projectId)
}

/**
 * rotate_token's token work (the caller holds the transaction): the primary and earlier primaries
 * still live are revoked now, or left valid for `graceSeconds` (never lengthened); the old
 * primary becomes `rotated` and a new primary is inserted. Named tokens are not touched.
 */
export const rotatePrimaryToken = (db: MetaDb, projectId: string, graceSeconds: number, now: Date): string => {
  clearTokenCache(db)
  if (graceSeconds > 0) {
    const until = new Date(now.getTime() + graceSeconds * 1000).toISOString()
    db.prepare(
      `UPDATE ingest_tokens SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > @until THEN @until ELSE expires_at END
       WHERE project_id = @projectId AND kind IN ('primary', 'rotated') AND revoked_at IS NULL`,
    ).run({ until, projectId })
  } else {
    db.prepare(`UPDATE ingest_tokens SET revoked_at = ? WHERE project_id = ? AND kind IN ('primary', 'rotated') AND revoked_at IS NULL`).run(
      now.toISOString(),
      projectId,
    )
  }
  db.prepare(`UPDATE ingest_tokens SET kind = 'rotated' WHERE project_id = ? AND kind = 'primary'`).run(projectId)
  return insertIngestToken(db, projectId, { kind: 'primary', name: 'primary' }, now).secret
}

/** What the ingest path knows of a live token: its project, its id, the origins it serves. */
export interface LiveIngestToken {
  project: Project
  tokenId: string
  allowedOrigins: readonly string[]
}

interface CachedToken extends LiveIngestToken {
  tokenHash: string
  expiresAt: number
  revoked: boolean
}

/**
 * Ingest tokens looked up by hash, cached per connection: the ingest path asks for the same
 * few tokens thousands of times a second. Any write through this connection clears the cache
 * at once (API creations, revocations, rotations and deletions, and CLI commands that go
 * through a running serve). A write by another process is noticed through SQLite's
 * data_version, checked at most every TOKEN_RECHECK_MS because the check itself costs more than
 * the rest of the lookup. The origins that live tokens allow (for CORS preflights) are cached
 * beside them and cleared with them.
 */
const TOKEN_RECHECK_MS = 50
const MAX_CACHED = 10_000
interface TokenCache {
  version: number
  checkedAt: number
  rows: Map<string, CachedToken | null>
  /** Per team: origin → the latest expiry (ms, Infinity for none) of a live token allowing it. */
  origins: Map<string, Map<string, number>>
}
const tokenCaches = new WeakMap<MetaDb, TokenCache>()

const tokenCache = (db: MetaDb): TokenCache => {
  const now = performance.now()
  let cache = tokenCaches.get(db)
  if (cache && now - cache.checkedAt < TOKEN_RECHECK_MS && cache.rows.size < MAX_CACHED) return cache
  const version = db.prepare('PRAGMA data_version').pluck().get() as number
  if (!cache || cache.version !== version || cache.rows.size >= MAX_CACHED) {
    cache = { version, checkedAt: now, rows: new Map(), origins: new Map() }
    tokenCaches.set(db, cache)
  }
  cache.checkedAt = now
  return cache
}

export const clearTokenCache = (db: MetaDb): void => {
  tokenCaches.delete(db)
}

type LookupRow = Project & { token_id: string; token_hash: string; expires_at: string | null; revoked_at: string | null; token_origins: string }

const lookupToken = (db: MetaDb, hash: string): CachedToken | null => {
  const row = db
    .prepare(
      `SELECT t.id AS token_id, t.token_hash, t.expires_at, t.revoked_at, t.allowed_origins AS token_origins, p.*
       FROM ingest_tokens t JOIN projects p ON p.id = t.project_id WHERE t.token_hash = ?`,
    )
    .get(hash) as LookupRow | undefined
  if (!row) return null
  const { token_id, token_hash, expires_at, revoked_at, token_origins, ...project } = row
  return {
    project,
    tokenId: token_id,
    allowedOrigins: Object.freeze(JSON.parse(token_origins) as string[]),
    tokenHash: token_hash,
    expiresAt: expires_at === null ? Infinity : Date.parse(expires_at),
    revoked: revoked_at !== null,
  }
}

/** The live token a presented secret is; unknown, revoked and expired ones are all undefined. */
export const findLiveIngestToken = (db: MetaDb, token: string, now: Date): LiveIngestToken | undefined => {
  const hash = hashToken(token)
  const { rows } = tokenCache(db)
  let row = rows.get(hash)
  if (row === undefined) {
    row = lookupToken(db, hash)
    rows.set(hash, row)
  }
  if (!row || !hashesEqual(row.tokenHash, hash) || row.revoked || row.expiresAt <= now.getTime()) return undefined
  return { project: row.project, tokenId: row.tokenId, allowedOrigins: row.allowedOrigins }
}

/** Whether at least one live token of the team lists `origin` (what a CORS preflight is answered by). */
export const originAllowedByLiveToken = (db: MetaDb, teamId: string, origin: string, now: Date): boolean => {
  const cache = tokenCache(db)
  let origins = cache.origins.get(teamId)
  if (!origins) {
    origins = new Map()
    const rows = db
      .prepare(
        `SELECT t.allowed_origins, t.expires_at FROM ingest_tokens t JOIN projects p ON p.id = t.project_id
         WHERE p.team_id = ? AND t.revoked_at IS NULL AND t.allowed_origins != '[]'`,
      )
      .all(teamId) as { allowed_origins: string; expires_at: string | null }[]
    for (const row of rows) {
      const until = row.expires_at === null ? Infinity : Date.parse(row.expires_at)
      for (const o of JSON.parse(row.allowed_origins) as string[]) origins.set(o, Math.max(origins.get(o) ?? -Infinity, until))
    }
    cache.origins.set(teamId, origins)
  }
  return (origins.get(origin) ?? -Infinity) > now.getTime()
}

/**
 * When each token was last used, kept in memory and written behind (within `flushMs`), so the
 * ingest path does not write SQLite once per request; `serve` is its only writer. A crash
 * loses at most `flushMs` of it (a label for people, not an accounting figure).
 */
export class TokenUseMeter {
  /** Token id → the latest use (epoch ms): a number per request, turned into text only when written. */
  private readonly pending = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly db: MetaDb,
    private readonly flushMs = 1000,
  ) {}

  touch(tokenId: string, now: Date): void {
    const at = now.getTime()
    if ((this.pending.get(tokenId) ?? -Infinity) < at) this.pending.set(tokenId, at)
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs)
      this.timer.unref()
    }
  }

  /** Writes every pending use now (a revoked or deleted token's row is simply not there to move). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (this.pending.size === 0) return
    const write = this.db.prepare('UPDATE ingest_tokens SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)')
    const uses = [...this.pending]
    this.pending.clear()
    this.db.transaction(() => {
      for (const [id, at] of uses) write.run({ id, at: new Date(at).toISOString() })
    })()
  }
}
