import { BackupInput, listBackups, planBackup, runBackup, type BackupInfo, type BackupResult } from '../backup/backup.js'
import { RetentionInput, runRetention, type RetentionResult } from '../logs/retention.js'
import type { Step } from './steps.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, viaServerOrLocal, type Via } from './engine-access.js'
import { callServer } from './runtime.js'
import { auditCli } from '../access/audit.js'

/** `retention run`: through a running serve, or on the engine opened here. */
export const retentionNow = async (ctx: OpsContext, input: RetentionInput): Promise<RetentionResult & { via: Via }> => {
  const { result, via } = await viaServerOrEngine(ctx, {
    server: async (runtime) => (await callServer<RetentionResult>(runtime, 'POST', '/admin/retention/run', input)).data!,
    direct: async (engine) => {
      const result = await runRetention({ meta: ctx.meta, engine, clock: ctx.clock }, ctx.team.id, input, 'cli')
      auditCli(ctx, ctx.team.id, 'retention.run', { type: 'retention_run', id: result.run_id }, { dry_run: result.dry_run, project_id: input.project_id ?? null, entries: result.total_entries })
      return result
    },
  })
  return { ...result, via }
}

/**
 * `backup create`: a running serve makes it (it owns the embedded engine) and the CLI shows
 * one step; otherwise the CLI makes it here and shows each step.
 */
export const backupNow = async (
  ctx: OpsContext,
  input: BackupInput,
  runSteps: <S>(steps: Step<S>[], state: S) => Promise<void>,
): Promise<BackupResult & { via: Via }> => {
  const { result, via } = await viaServerOrEngine(ctx, {
    server: async (runtime) => {
      const state: { result?: BackupResult } = {}
      await runSteps(
        [
          {
            title: `Back up through the running server (${runtime.url})`,
            run: async (s: typeof state) => {
              s.result = (await callServer<BackupResult>(runtime, 'POST', '/admin/backups', input)).data!
            },
          },
        ],
        state,
      )
      return state.result!
    },
    direct: async (engine) => {
      const deps = { meta: ctx.meta, engine, paths: ctx.paths, clock: ctx.clock }
      const result = await runBackup(deps, planBackup(deps, input), 'cli', runSteps)
      auditCli(ctx, ctx.team.id, 'backup.create', { type: 'backup', id: result.path }, { entries: result.manifest.counts.entries, removed: result.removed })
      return result
    },
  })
  return { ...result, via }
}

export const backupsList = async (ctx: OpsContext): Promise<BackupInfo[]> =>
  (
    await viaServerOrLocal(ctx, {
      server: async (runtime) => (await callServer<BackupInfo[]>(runtime, 'GET', '/admin/backups')).data!,
      local: () => listBackups(ctx.paths, ctx.meta),
    })
  ).result
