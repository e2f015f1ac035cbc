import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import type { Engine } from '../engine/engine.js'
import { engineCall } from '../engine/engine.js'
import { logTable } from '../engine/schema.js'
import { errorMessage } from '../errors.js'
import type { JobState } from '../jobs/scheduler.js'
import type { MetaDb } from '../meta/db.js'
import { lastRun, type OpsRun } from '../meta/ops-runs.js'
import { utcDay } from '../meta/usage.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, type Via } from './engine-access.js'
import { EngineFactsAnswer, JobsAnswer } from './answers.js'
import { callServer } from './server-client.js'

/** What the engine holds, as `status` and GET /admin/status show it. */
export interface EngineFacts {
  mode: string
  version: string
  database: string
  ok: boolean
  entries: number | null
  /** Compressed bytes of the log tables' active parts (on a cluster: on the server behind the URL). */
  bytes_on_disk: number | null
  error?: string
}

export const engineFacts = async (engine: Engine): Promise<EngineFacts> => {
  const base = { mode: engine.mode, version: engine.version, database: engine.database }
  try {
    const rs = await engineCall(() =>
      engine.client.query({
        query: `SELECT sum(rows) AS entries, sum(bytes_on_disk) AS bytes FROM system.parts
                WHERE active AND database = {db:String} AND table IN ('log_entries', 'log_entries_local')`,
        query_params: { db: engine.database },
        format: 'JSONEachRow',
      }),
    )
    const row = (await rs.json<{ entries: string | number; bytes: string | number }>())[0]
    // system.parts counts rows hidden by lightweight DELETE until the parts merge: count exactly.
    const counted = await (
      await engineCall(() => engine.client.query({ query: `SELECT count() AS n FROM ${logTable(engine)}`, format: 'JSONEachRow' }))
    ).json<{ n: string | number }>()
    return { ...base, ok: true, entries: Number(counted[0]?.n ?? row?.entries ?? 0), bytes_on_disk: Number(row?.bytes ?? 0) }
  } catch (err) {
    return { ...base, ok: false, entries: null, bytes_on_disk: null, error: errorMessage(err) }
  }
}

const du = (target: string): number => {
  let total = 0
  let stat
  try {
    stat = statSync(target)
  } catch {
    return 0
  }
  if (!stat.isDirectory()) return stat.size
  for (const name of readdirSync(target)) total += du(path.join(target, name))
  return total
}

export interface Status {
  data_dir: string
  serve: { running: true; pid: number; url: string; started_at: string; uptime_seconds: number; version: string } | { running: false }
  engine: EngineFacts
  projects: number
  api_keys: number
  alert_rules: number
  /** Today's (UTC) ingest over every project, as counted for the daily limits: stored and refused records. */
  ingest_today: { day: string; entries: number; bytes_in: number; rejected: number }
  disk: { data_dir_bytes: number; meta_bytes: number; backups_bytes: number }
  last_retention: OpsRun | null
  last_backup: OpsRun | null
  /** serve's background jobs: empty when serve is not running, null when it did not answer. */
  jobs: JobState[] | null
  via: Via
}

const count = (meta: MetaDb, table: 'projects' | 'api_keys' | 'alert_rules', where = ''): number =>
  (meta.prepare(`SELECT count(*) AS n FROM ${table} ${where}`).get() as { n: number }).n

const ingestToday = (meta: MetaDb, now: Date): Status['ingest_today'] => {
  const day = utcDay(now)
  const row = meta
    .prepare('SELECT coalesce(sum(entries), 0) AS entries, coalesce(sum(bytes_in), 0) AS bytes_in, coalesce(sum(rejected), 0) AS rejected FROM usage_daily WHERE day = ?')
    .get(day) as { entries: number; bytes_in: number; rejected: number }
  return { day, ...row }
}

/**
 * `krafter-logs status`: serve (from serve.json) and its background jobs, the engine (through
 * serve, or opened here), the metadata counts and the last retention run and backup. An engine that cannot be opened
 * is reported, not thrown: status must work when things are broken.
 */
export const collectStatus = async (ctx: OpsContext): Promise<Status> => {
  let engine: EngineFacts
  let via: Via
  try {
    const r = await viaServerOrEngine(ctx, {
      server: async (runtime) => callServer(runtime, 'GET', '/admin/status', EngineFactsAnswer),
      direct: (opened) => engineFacts(opened),
    })
    engine = r.result
    via = r.via
  } catch (err) {
    engine = { mode: ctx.config.engine.mode, version: 'unknown', database: ctx.config.engine.database, ok: false, entries: null, bytes_on_disk: null, error: errorMessage(err) }
    via = ctx.runtime ? 'server' : 'direct'
  }
  const now = ctx.clock()
  const { runtime } = ctx
  const jobs = runtime ? await callServer(runtime, 'GET', '/admin/jobs', JobsAnswer).catch(() => null) : []
  return {
    data_dir: ctx.paths.root,
    serve: runtime
      ? {
          running: true,
          pid: runtime.pid,
          url: runtime.url,
          started_at: runtime.started_at,
          uptime_seconds: Math.max(0, Math.round((now.getTime() - Date.parse(runtime.started_at)) / 1000)),
          version: runtime.version,
        }
      : { running: false },
    engine,
    projects: count(ctx.meta, 'projects'),
    api_keys: count(ctx.meta, 'api_keys', 'WHERE revoked_at IS NULL'),
    alert_rules: count(ctx.meta, 'alert_rules'),
    ingest_today: ingestToday(ctx.meta, now),
    disk: {
      data_dir_bytes: du(ctx.paths.root),
      meta_bytes: du(ctx.paths.meta) + du(`${ctx.paths.meta}-wal`),
      backups_bytes: du(ctx.paths.backups),
    },
    last_retention: lastRun(ctx.meta, 'retention') ?? null,
    last_backup: lastRun(ctx.meta, 'backup') ?? null,
    jobs,
    via,
  }
}
