import { createHmac, randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { Config } from '../config/config.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { findActiveApiKeyById, type ApiKey } from '../meta/keys.js'
import * as repo from '../meta/sessions.js'
import { hashToken, hashesEqual } from '../security/tokens.js'

/*
 * Browser sessions (API.md "Web console and browser sessions"). The browser holds a random
 * session id in an HttpOnly cookie and never the key; the session acts as its key, looked up
 * again on every request, so revoking or expiring the key ends it. The CSRF token is an HMAC of
 * the session id: unguessable without the cookie, the same in every tab, and given again by
 * GET /sessions/current without being stored anywhere (only its hash is, for the comparison).
 */

export const SESSION_PREFIX = 'krs_'
export const LOGIN_LINK_PREFIX = 'krk_login_'
/** A login link works once, within this long. */
export const LOGIN_LINK_TTL_MS = 5 * 60_000

export interface SessionDeps {
  meta: MetaDb
  clock: () => Date
  config: Pick<Config, 'console'>
}

/** Who a session acts as: a team key, or (null) the local admin of this machine. */
export interface SessionOwner {
  teamId: string
  key: ApiKey | null
}

export interface StartedSession {
  /** The cookie value: shown to the browser once, stored only as its hash. */
  sessionId: string
  csrfToken: string
  expiresAt: string
  maxAgeSeconds: number
}

export interface LiveSession {
  idHash: string
  teamId: string
  /** null: the local admin (every scope, every project). */
  key: ApiKey | null
  csrfHash: string
  expiresAt: string
}

const secret = (prefix: string): string => prefix + randomBytes(32).toString('base64url')

export const csrfTokenOf = (sessionId: string): string => createHmac('sha256', sessionId).update('krafter-csrf-v1').digest('base64url')

/** The session id format: anything else is not looked up at all. */
const SESSION_ID = /^krs_[A-Za-z0-9_-]{43}$/
export const LoginLinkToken = z.string().regex(/^krk_login_[A-Za-z0-9_-]{43}$/, 'must be a login link token (krk_login_…)')

export const SessionCreateInput = z
  .object({
    api_key: z.string({ error: 'is required: a team API key (kr_live_…)' }).regex(/^kr_live_[a-z0-9]{32}$/, 'must be a team API key (kr_live_ and 32 characters of [a-z0-9])'),
  })
  .strict()
export type SessionCreateInput = z.infer<typeof SessionCreateInput>

const target = (owner: SessionOwner) => ({ type: 'api_key', id: owner.key?.id ?? null })

/** A new session for `owner`, lasting console.session_hours (less when the key expires sooner). */
export const startSession = (deps: SessionDeps, owner: SessionOwner, by: Actor, via: 'api_key' | 'login_link'): StartedSession => {
  const now = deps.clock()
  repo.deleteExpired(deps.meta, now)
  let expires = now.getTime() + deps.config.console.session_hours * 3_600_000
  if (owner.key?.expires_at) expires = Math.min(expires, Date.parse(owner.key.expires_at))
  const sessionId = secret(SESSION_PREFIX)
  const csrfToken = csrfTokenOf(sessionId)
  const expiresAt = new Date(expires).toISOString()
  repo.insertSession(deps.meta, {
    id_hash: hashToken(sessionId),
    team_id: owner.teamId,
    api_key_id: owner.key?.id ?? null,
    csrf_hash: hashToken(csrfToken),
    created_at: now.toISOString(),
    expires_at: expiresAt,
  })
  recordAction(deps, by, owner.teamId, 'session.create', target(owner), { via, expires_at: expiresAt })
  return { sessionId, csrfToken, expiresAt, maxAgeSeconds: Math.max(1, Math.floor((expires - now.getTime()) / 1000)) }
}

/** The key a session or link acts as: null for the local admin's, undefined when its key is no longer live. */
const liveKey = (meta: MetaDb, teamId: string, apiKeyId: string | null, now: Date): ApiKey | null | undefined =>
  apiKeyId === null ? null : findActiveApiKeyById(meta, teamId, apiKeyId, now)

/**
 * The session a cookie names, when it and its key are still live. Unknown, expired and revoked
 * all give undefined; a key session of another team too.
 */
export const findSession = (deps: Pick<SessionDeps, 'meta' | 'clock'>, teamId: string, sessionId: string): LiveSession | undefined => {
  if (!SESSION_ID.test(sessionId)) return undefined
  const now = deps.clock()
  const row = repo.findLiveSession(deps.meta, hashToken(sessionId), now)
  if (!row || row.team_id !== teamId) return undefined
  const key = liveKey(deps.meta, teamId, row.api_key_id, now)
  if (key === undefined) return undefined
  return { idHash: row.id_hash, teamId: row.team_id, key, csrfHash: row.csrf_hash, expiresAt: row.expires_at }
}

/** Constant time: the presented X-CSRF-Token against the session's. */
export const csrfMatches = (session: LiveSession, presented: string | undefined): boolean =>
  typeof presented === 'string' && presented.length > 0 && hashesEqual(hashToken(presented), session.csrfHash)

export const endSession = (deps: SessionDeps, session: LiveSession, by: Actor): void => {
  if (repo.deleteSession(deps.meta, session.idHash)) {
    recordAction(deps, by, session.teamId, 'session.delete', { type: 'api_key', id: session.key?.id ?? null })
  }
}

/** A one-time login link for `owner` (`krafter-logs open`): the token is returned once, stored hashed. */
export const createLoginLink = (deps: SessionDeps, owner: SessionOwner, by: Actor): { token: string; path: string; expires_at: string } => {
  const now = deps.clock()
  repo.deleteExpired(deps.meta, now)
  const token = secret(LOGIN_LINK_PREFIX)
  const expiresAt = new Date(now.getTime() + LOGIN_LINK_TTL_MS).toISOString()
  repo.insertLoginLink(deps.meta, {
    token_hash: hashToken(token),
    team_id: owner.teamId,
    api_key_id: owner.key?.id ?? null,
    created_at: now.toISOString(),
    expires_at: expiresAt,
  })
  recordAction(deps, by, owner.teamId, 'login_link.create', target(owner), { expires_at: expiresAt })
  return { token, path: `/login?token=${token}`, expires_at: expiresAt }
}

/**
 * Redeems a login link: once, before it expires, and only while its key (if any) is live; then
 * a session for the same owner. undefined when it is unknown, used, expired or its key is gone.
 */
export const redeemLoginLink = (deps: SessionDeps, teamId: string, token: string, by: (owner: SessionOwner) => Actor): StartedSession | undefined => {
  const now = deps.clock()
  const link = repo.redeemLoginLink(deps.meta, hashToken(token), now)
  if (!link || link.team_id !== teamId) return undefined
  const key = liveKey(deps.meta, teamId, link.api_key_id, now)
  if (key === undefined) return undefined
  const owner = { teamId, key }
  return startSession(deps, owner, by(owner), 'login_link')
}
