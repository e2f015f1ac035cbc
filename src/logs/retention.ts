import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { engineCall } from '../engine/engine.js'
import { logDeleteSql, logTable } from '../engine/schema.js'
import { errorMessage, notFound } from '../errors.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { recordRun } from '../meta/ops-runs.js'
import { getProject, listProjects, type Project } from '../meta/projects.js'

export const RetentionInput = z
  .object({
    project_id: z.uuid('must be a project id (UUID)').optional(),
    dry_run: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .strict()
export type RetentionInput = z.infer<typeof RetentionInput>

export interface ProjectRetention {
  project_id: string
  name: string
  retention_days: number
  /** Entries with a timestamp before this are removed. */
  cutoff: string
  /** Removed, or with dry_run, that would be removed. */
  entries: number
}

export interface RetentionResult {
  run_id: string
  dry_run: boolean
  started_at: string
  finished_at: string
  projects: ProjectRetention[]
  total_entries: number
}

export interface RetentionDeps {
  meta: MetaDb
  engine: Engine
  clock: () => Date
  /** Rows accepted but not yet in the engine are flushed first, so the count is complete. */
  flushIngest?: () => Promise<void>
}

const DAY_MS = 86_400_000

const allProjects = (meta: MetaDb, teamId: string): Project[] => {
  const out: Project[] = []
  for (;;) {
    const last = out[out.length - 1]
    const page = listProjects(meta, teamId, { limit: 500, after: last && { created_at: last.created_at, id: last.id } })
    out.push(...page)
    if (page.length < 500) return out
  }
}

const countBefore = async (engine: Engine, projectId: string, cutoffUs: number): Promise<number> => {
  const rs = await engineCall(() =>
    engine.client.query({
      query: `SELECT count() AS n FROM ${logTable(engine)} WHERE project_id = {p:UUID} AND timestamp < fromUnixTimestamp64Micro({c:Int64}, 'UTC')`,
      query_params: { p: projectId, c: cutoffUs },
      format: 'JSONEachRow',
    }),
  )
  return Number((await rs.json<{ n: string | number }>())[0]?.n ?? 0)
}

const deleteBefore = async (engine: Engine, projectId: string, cutoffUs: number): Promise<void> => {
  await engineCall(() =>
    engine.client.command({
      query: logDeleteSql(engine, `project_id = {p:UUID} AND timestamp < fromUnixTimestamp64Micro({c:Int64}, 'UTC')`),
      query_params: { p: projectId, c: cutoffUs },
    }),
  )
}

/**
 * The retention cleanup of seed 004: each project's entries older than its retention_days go
 * (a lightweight DELETE per project: rows vanish from reads at once, the space is reclaimed as
 * parts merge). The 90-day TTL of the table is the safety net behind it. A lowered
 * retention_days is read at every run, so it takes effect at the next one.
 */
export const runRetention = async (
  deps: RetentionDeps,
  teamId: string,
  input: RetentionInput,
  trigger: string,
  by: Actor,
): Promise<RetentionResult> => {
  const started = deps.clock()
  const projects = input.project_id ? [getProject(deps.meta, teamId, input.project_id)] : allProjects(deps.meta, teamId)
  if (projects.some((p) => !p)) throw notFound('Project')
  try {
    await deps.flushIngest?.()
    const results: ProjectRetention[] = []
    for (const project of projects as Project[]) {
      const cutoffMs = started.getTime() - project.retention_days * DAY_MS
      const entries = await countBefore(deps.engine, project.id, cutoffMs * 1000)
      if (!input.dry_run && entries > 0) await deleteBefore(deps.engine, project.id, cutoffMs * 1000)
      results.push({
        project_id: project.id,
        name: project.name,
        retention_days: project.retention_days,
        cutoff: new Date(cutoffMs).toISOString(),
        entries,
      })
    }
    const finished = deps.clock()
    const summary = { dry_run: input.dry_run, projects: results, total_entries: results.reduce((n, r) => n + r.entries, 0) }
    const run = recordRun(deps.meta, { kind: 'retention', trigger, startedAt: started, finishedAt: finished, summary })
    recordAction(deps, by, teamId, 'retention.run', { type: 'retention_run', id: run.id }, { dry_run: input.dry_run, project_id: input.project_id ?? null, entries: summary.total_entries })
    return { run_id: run.id, started_at: started.toISOString(), finished_at: finished.toISOString(), ...summary }
  } catch (err) {
    recordRun(deps.meta, { kind: 'retention', trigger, startedAt: started, finishedAt: deps.clock(), error: errorMessage(err) })
    throw err
  }
}
