import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'

export type AnonymousStreamStatus = 'active' | 'moving' | 'claimed' | 'expired'

/** A row of anonymous_streams (src/meta/migrations.ts). */
export interface AnonymousStreamRow {
  /** The pseudo project id its events are stored under until claimed. */
  id: string
  token_hash: string
  status: AnonymousStreamStatus
  event_count: number
  bytes: number
  created_at: string
  expires_at: string
  claim_team_id: string | null
  claim_project_id: string | null
  claim_actor: string | null
  claim_started_at: string | null
  claim_usage_counted: number
  claimed_events: number | null
  claimed_at: string | null
  finished_at: string | null
}

export const findStreamByHash = (db: MetaDb, tokenHash: string): AnonymousStreamRow | undefined =>
  db.prepare('SELECT * FROM anonymous_streams WHERE token_hash = ?').get(tokenHash) as AnonymousStreamRow | undefined

export const findStreamById = (db: MetaDb, id: string): AnonymousStreamRow | undefined =>
  db.prepare('SELECT * FROM anonymous_streams WHERE id = ?').get(id) as AnonymousStreamRow | undefined

/** The stream of a token, created (active, empty, expiring `lifetimeMs` from now) on first use. */
export const ensureStream = (db: MetaDb, tokenHash: string, now: Date, lifetimeMs: number): AnonymousStreamRow => {
  db.prepare(
    `INSERT INTO anonymous_streams (id, token_hash, status, created_at, expires_at) VALUES (?, ?, 'active', ?, ?)
     ON CONFLICT (token_hash) DO NOTHING`,
  ).run(randomUUID(), tokenHash, now.toISOString(), new Date(now.getTime() + lifetimeMs).toISOString())
  return findStreamByHash(db, tokenHash)!
}

/**
 * Adds a request's events and bytes to an active, unexpired stream if both stay within the
 * caps; false (nothing added) otherwise. One statement: the check and the count cannot be split
 * by another request.
 */
export const reserveInStream = (
  db: MetaDb,
  id: string,
  add: { events: number; bytes: number },
  caps: { events: number; bytes: number },
  now: Date,
): boolean =>
  db
    .prepare(
      `UPDATE anonymous_streams SET event_count = event_count + @events, bytes = bytes + @bytes
       WHERE id = @id AND status = 'active' AND expires_at > @now
         AND event_count + @events <= @maxEvents AND bytes + @bytes <= @maxBytes`,
    )
    .run({ id, events: add.events, bytes: add.bytes, now: now.toISOString(), maxEvents: caps.events, maxBytes: caps.bytes }).changes === 1

/** Gives back what the engine did not store. */
export const releaseInStream = (db: MetaDb, id: string, give: { events: number; bytes: number }): void => {
  db.prepare('UPDATE anonymous_streams SET event_count = max(0, event_count - ?), bytes = max(0, bytes - ?) WHERE id = ?').run(give.events, give.bytes, id)
}

/** Records a claim's intent (active → moving) unless another request changed the stream first. */
export const markMoving = (db: MetaDb, id: string, claim: { teamId: string; projectId: string; actor: string }, now: Date): boolean =>
  db
    .prepare(
      `UPDATE anonymous_streams SET status = 'moving', claim_team_id = ?, claim_project_id = ?, claim_actor = ?, claim_started_at = ?
       WHERE id = ? AND status = 'active' AND expires_at > ?`,
    )
    .run(claim.teamId, claim.projectId, claim.actor, now.toISOString(), id, now.toISOString()).changes === 1

/** Once per claim, in the transaction that counts its usage: false if it was counted already. */
export const markUsageCounted = (db: MetaDb, id: string): boolean =>
  db.prepare("UPDATE anonymous_streams SET claim_usage_counted = 1 WHERE id = ? AND status = 'moving' AND claim_usage_counted = 0").run(id).changes === 1

/** A claim's copy is complete: how many events it moved (the source rows may go now). */
export const recordClaimedEvents = (db: MetaDb, id: string, events: number): void => {
  db.prepare("UPDATE anonymous_streams SET claimed_events = ? WHERE id = ? AND status = 'moving'").run(events, id)
}

export const markClaimed = (db: MetaDb, id: string, events: number, now: Date): void => {
  db.prepare("UPDATE anonymous_streams SET status = 'claimed', claimed_events = ?, claimed_at = ?, finished_at = ? WHERE id = ? AND status = 'moving'").run(
    events,
    now.toISOString(),
    now.toISOString(),
    id,
  )
}

export const markExpired = (db: MetaDb, id: string, now: Date): void => {
  db.prepare("UPDATE anonymous_streams SET status = 'expired', finished_at = ? WHERE id = ? AND status = 'active'").run(now.toISOString(), id)
}

/** Claims a crash left half done. */
export const movingStreams = (db: MetaDb): AnonymousStreamRow[] =>
  db.prepare("SELECT * FROM anonymous_streams WHERE status = 'moving' ORDER BY claim_started_at").all() as AnonymousStreamRow[]

/** Active streams past their lifetime, whose events the cleanup removes. */
export const expiredActiveStreams = (db: MetaDb, now: Date, limit: number): AnonymousStreamRow[] =>
  db.prepare("SELECT * FROM anonymous_streams WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at LIMIT ?").all(now.toISOString(), limit) as AnonymousStreamRow[]

/** Forgets claimed and expired streams finished before `before`; returns how many. */
export const forgetFinishedStreams = (db: MetaDb, before: Date): number =>
  db.prepare("DELETE FROM anonymous_streams WHERE status IN ('claimed', 'expired') AND finished_at < ?").run(before.toISOString()).changes
