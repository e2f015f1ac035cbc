import { existsSync, writeFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { AppError, notFound } from '../errors.js'
import * as repo from '../meta/anonymous-streams.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { getProject } from '../meta/projects.js'
import { utcDay } from '../meta/usage.js'
import type { UsageMeter } from '../meta/usage-meter.js'
import { hashToken } from '../security/tokens.js'
import { goneError, publicStatus, streamNameOf, TOKEN_PATTERN, TOKEN_RULE, type StreamRegistry } from './registry.js'
import { copyNotCopied, countNotCopied, countStreamRows, deleteStreamRows, type CopySpec } from './rows.js'

export const ClaimInput = z
  .object({
    token: z.string({ error: TOKEN_RULE }).regex(TOKEN_PATTERN, TOKEN_RULE),
    project_id: z.uuid('must be a project id (UUID)'),
  })
  .strict()
export type ClaimInput = z.infer<typeof ClaimInput>

/** POST /streams/claim: where the events went. A retry of a finished claim answers the same. */
export interface ClaimResult {
  project_id: string
  stream: string
  events: number
  bytes: number
  claimed_at: string
}

/** Rows one copy statement takes: a stream at the default caps (10,000 events) is one statement. */
export const CLAIM_CHUNK_ROWS = 100_000

/**
 * TEST-ONLY (test/e2e/stream-claim-crash.test.ts): a claim that copies in chunks of `afterRows`
 * rows and, after its first chunk, creates `file` and waits until that file is removed, so a test
 * can SIGKILL serve at a known point in the middle of a claim instead of guessing by timing.
 * serve reads it from KRAFTER_TEST_CLAIM_PAUSE_AFTER_ROWS and KRAFTER_TEST_CLAIM_PAUSE_FILE
 * (claimPauseFromEnv); without both a claim never waits.
 */
export interface ClaimPause {
  afterRows: number
  file: string
}

export const claimPauseFromEnv = (env: NodeJS.ProcessEnv): ClaimPause | undefined => {
  const rows = Number(env.KRAFTER_TEST_CLAIM_PAUSE_AFTER_ROWS)
  const file = env.KRAFTER_TEST_CLAIM_PAUSE_FILE
  return Number.isInteger(rows) && rows > 0 && file ? { afterRows: rows, file } : undefined
}

const waitWhileExists = async (file: string): Promise<void> => {
  while (existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 50))
}

export interface ClaimDeps {
  meta: MetaDb
  engine: Engine
  clock: () => Date
  usage: UsageMeter
  registry: Pick<StreamRegistry, 'settled'>
  logger?: Logger
  pause?: ClaimPause
}

/**
 * Claims move a stream's events into a project without a transaction in the engine:
 *   1. the intent is recorded in SQLite (active → moving, which project, audited) in one
 *      transaction, so from then on the stream takes no events and no other project;
 *   2. writes still in flight settle; the events are added to the project's usage exactly once
 *      (a flag set in the same SQLite transaction as the counter);
 *   3. rows are copied, ids and timestamps unchanged, only those the project's stream does not
 *      hold yet (a re-run after any crash adds only what is missing), until none is missing;
 *      the count is then recorded;
 *   4. the stream's own rows are deleted, and it is marked claimed.
 * A crash anywhere leaves `moving`: serve resumes it (resumeAll, at start and with the cleanup
 * job) and a retry by the same project joins or resumes it, from the step it had reached.
 */
export class StreamClaims {
  /** Moves in progress in this process, by stream: a retry and a resume share one. */
  private readonly moves = new Map<string, Promise<void>>()

  constructor(private readonly deps: ClaimDeps) {}

  async claim(teamId: string, input: ClaimInput, by: Actor): Promise<ClaimResult> {
    const { meta, clock } = this.deps
    const project = getProject(meta, teamId, input.project_id)
    if (!project) throw notFound('Project')
    const tokenHash = hashToken(input.token)
    let row = repo.findStreamByHash(meta, tokenHash)
    if (!row) throw notFound('Anonymous stream')
    const now = clock()
    if (publicStatus(row, now) === 'active') {
      this.beginClaim(row, project, teamId, by, now)
      row = repo.findStreamById(meta, row.id)!
    }
    if ((row.status === 'moving' || row.status === 'claimed') && row.claim_team_id === teamId && row.claim_project_id === project.id) {
      if (row.status === 'moving') await this.move(row.id)
      return this.resultOf(repo.findStreamById(meta, row.id)!)
    }
    // Claimed by another project, or expired.
    throw goneError(row, now)
  }

  /** Every claim a crash left half done, one after the other; returns how many finished. */
  async resumeAll(): Promise<number> {
    let finished = 0
    for (const row of repo.movingStreams(this.deps.meta)) {
      try {
        await this.move(row.id)
        finished++
      } catch (err) {
        this.deps.logger?.error({ err, stream: streamNameOf(row.token_hash) }, 'could not finish an anonymous stream claim; it is retried with the next cleanup run')
      }
    }
    return finished
  }

  private beginClaim(row: repo.AnonymousStreamRow, project: { id: string; daily_limit_mb: number }, teamId: string, by: Actor, now: Date): void {
    const { meta, usage } = this.deps
    // Like ingest, a claim that would take the project's day over its limit is refused whole.
    if (!usage.fits(project.id, utcDay(now), row.bytes, project.daily_limit_mb * 1024 * 1024)) {
      throw new AppError('daily_limit_exceeded', 'Daily log ingestion limit exceeded')
    }
    const stream = streamNameOf(row.token_hash)
    meta.transaction(() => {
      if (!repo.markMoving(meta, row.id, { teamId, projectId: project.id, actor: by.name }, now)) return
      // The stream's name (a hash prefix), never the token.
      recordAction(this.deps, by, teamId, 'stream.claim', { type: 'anonymous_stream', id: stream }, { project_id: project.id, stream, events: row.event_count, bytes: row.bytes })
    })()
  }

  private move(id: string): Promise<void> {
    let running = this.moves.get(id)
    if (!running) {
      running = this.runMove(id).finally(() => this.moves.delete(id))
      this.moves.set(id, running)
    }
    return running
  }

  private async runMove(id: string): Promise<void> {
    const { meta, engine, clock, usage } = this.deps
    await this.deps.registry.settled(id)
    let row = repo.findStreamById(meta, id)
    if (!row || row.status !== 'moving') return
    const target = row.claim_project_id!
    const spec: CopySpec = { source: id, target, stream: streamNameOf(row.token_hash) }
    if (!row.claim_usage_counted) {
      usage.addOnce(target, utcDay(clock()), row.bytes, row.event_count, () => repo.markUsageCounted(meta, id))
    }
    if (row.claimed_events === null) {
      await this.copyAll(spec)
      repo.recordClaimedEvents(meta, id, await countStreamRows(engine, id))
    }
    // A project deleted while its claim ran: what was copied goes the way of its other rows.
    if (!getProject(meta, row.claim_team_id!, target)) await deleteStreamRows(engine, [target])
    await deleteStreamRows(engine, [id])
    row = repo.findStreamById(meta, id)!
    repo.markClaimed(meta, id, row.claimed_events ?? 0, clock())
    this.deps.logger?.info({ stream: spec.stream, project_id: target, events: row.claimed_events }, 'anonymous stream claimed')
  }

  private async copyAll(spec: CopySpec): Promise<void> {
    const { engine, pause } = this.deps
    const chunk = pause?.afterRows ?? CLAIM_CHUNK_ROWS
    let remaining = await countNotCopied(engine, spec)
    let chunks = 0
    while (remaining > 0) {
      await copyNotCopied(engine, spec, chunk)
      if (pause && ++chunks === 1) {
        writeFileSync(pause.file, `paused after ${chunk} rows\n`)
        await waitWhileExists(pause.file)
      }
      const next = await countNotCopied(engine, spec)
      if (next >= remaining) throw new Error(`claim copy made no progress (${next} rows left)`)
      remaining = next
    }
  }

  private resultOf(row: repo.AnonymousStreamRow): ClaimResult {
    return {
      project_id: row.claim_project_id!,
      stream: streamNameOf(row.token_hash),
      events: row.claimed_events ?? 0,
      bytes: row.bytes,
      claimed_at: row.claimed_at!,
    }
  }
}
