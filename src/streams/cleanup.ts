import type { Config } from '../config/config.js'
import type { Engine } from '../engine/engine.js'
import * as repo from '../meta/anonymous-streams.js'
import type { MetaDb } from '../meta/db.js'
import type { StreamClaims } from './claim.js'
import type { StreamRegistry } from './registry.js'
import { deleteStreamRows } from './rows.js'

/** Streams whose rows one DELETE removes. */
const BATCH = 500

export interface StreamCleanupDeps {
  meta: MetaDb
  engine: Engine
  clock: () => Date
  config: Pick<Config, 'anonymous_streams'>
  registry: Pick<StreamRegistry, 'settled'>
  claims: Pick<StreamClaims, 'resumeAll'>
}

export interface StreamCleanupResult {
  /** Claims a crash had interrupted, finished now. */
  claims_resumed: number
  /** Streams past their lifetime whose events were removed. */
  expired: number
  /** Claimed or expired streams forgotten after anonymous_streams.keep_finished_days. */
  forgotten: number
}

/**
 * serve's anonymous_streams job: finishes interrupted claims, removes the events of streams past
 * their lifetime (writes in flight settle first; rows go before the row is marked expired, so a
 * crash between the two only repeats the DELETE), and forgets finished streams after
 * keep_finished_days: their token then names nothing, and a new first event starts a new stream.
 */
export const cleanupStreams = async (deps: StreamCleanupDeps): Promise<StreamCleanupResult> => {
  const { meta, engine, clock } = deps
  const claims_resumed = await deps.claims.resumeAll()
  const now = clock()
  let expired = 0
  for (;;) {
    const rows = repo.expiredActiveStreams(meta, now, BATCH)
    if (rows.length === 0) break
    await Promise.all(rows.map((r) => deps.registry.settled(r.id)))
    await deleteStreamRows(engine, rows.map((r) => r.id))
    for (const r of rows) repo.markExpired(meta, r.id, now)
    expired += rows.length
  }
  const keepMs = deps.config.anonymous_streams.keep_finished_days * 86_400_000
  const forgotten = repo.forgetFinishedStreams(meta, new Date(now.getTime() - keepMs))
  return { claims_resumed, expired, forgotten }
}
