import { BackupInput, listBackups, planBackup, planRestore, restoreRecorded, runBackup, type BackupInfo, type BackupResult, type Manifest } from '../backup/backup.js'
import { loadConfig } from '../config/config.js'
import { dataPaths, resolveDataDir } from '../config/paths.js'
import { openEngine } from '../engine/engine.js'
import { RetentionInput, runRetention, type RetentionResult } from '../logs/retention.js'
import { CLI_ACTOR } from '../meta/audit.js'
import { parseInput } from '../validation.js'
import { BackupAnswer, BackupListAnswer, RetentionAnswer } from './answers.js'
import type { RunSteps } from './steps.js'
import type { OpsContext } from './context.js'
import { assertServeStopped, viaServerOrEngine, viaServerOrLocal, type Via } from './engine-access.js'
import { projectIdOf } from './projects.js'
import { callServer } from './server-client.js'


/** `retention run`: through a running serve, or on the engine opened here. */
export const retentionNow = async (
  ctx: OpsContext,
  request: { project?: string; dry_run?: boolean },
): Promise<RetentionResult & { via: Via }> => {
  const input = parseInput(RetentionInput, { project_id: projectIdOf(ctx, request.project), dry_run: request.dry_run }, 'retention')
  const { result, via } = await viaServerOrEngine(ctx, {
    server: (runtime) => callServer(runtime, 'POST', '/admin/retention/run', RetentionAnswer, input),
    direct: (engine) => runRetention({ meta: ctx.meta, engine, clock: ctx.clock }, ctx.team.id, input, 'cli', CLI_ACTOR),
  })
  return { ...result, via }
}

/**
 * `backup create`: a running serve makes it (it owns the embedded engine) and the CLI shows
 * one step; otherwise the CLI makes it here and shows each step.
 */
export const backupNow = async (ctx: OpsContext, body: unknown, runSteps: RunSteps): Promise<BackupResult & { via: Via }> => {
  const input = parseInput(BackupInput, body, 'backup')
  const { result, via } = await viaServerOrEngine(ctx, {
    server: async (runtime) => {
      const state: { result?: BackupResult } = {}
      await runSteps(
        [
          {
            title: `Back up through the running server (${runtime.url})`,
            run: async (s: typeof state) => {
              s.result = await callServer(runtime, 'POST', '/admin/backups', BackupAnswer, input)
            },
          },
        ],
        state,
      )
      return state.result!
    },
    direct: (engine) => {
      const deps = { meta: ctx.meta, engine, paths: ctx.paths, clock: ctx.clock }
      return runBackup(deps, planBackup(deps, input), 'cli', CLI_ACTOR, runSteps)
    },
  })
  return { ...result, via }
}

export const backupsList = async (ctx: OpsContext): Promise<BackupInfo[]> =>
  (
    await viaServerOrLocal(ctx, {
      server: (runtime) => callServer(runtime, 'GET', '/admin/backups', BackupListAnswer),
      local: () => listBackups(ctx.paths, ctx.meta),
    })
  ).result

export interface RestoreResult {
  path: string
  data_dir: string
  manifest: Manifest
  restored: { counts: Manifest['counts'] }
}

/**
 * `backup restore`: into a stopped instance (the data dir may not be initialised, so this
 * takes the --data-dir flag rather than an OpsContext), verified against the manifest.
 */
export const restoreBackup = async (
  request: { dataDir?: string; dir: string; force: boolean },
  runSteps: RunSteps,
): Promise<RestoreResult> => {
  const paths = dataPaths(resolveDataDir(request.dataDir))
  assertServeStopped(paths, 'a restore')
  const started = new Date()
  const { steps, state } = planRestore({
    dir: request.dir,
    paths,
    force: request.force,
    openEngine: () => openEngine(loadConfig(paths.config), paths),
  })
  try {
    await runSteps(steps, state)
  } finally {
    await state.engine?.close()
  }
  restoreRecorded(paths, state.manifest!, request.dir, started, new Date(), CLI_ACTOR)
  return { path: request.dir, data_dir: paths.root, manifest: state.manifest!, restored: { counts: state.restored!.counts } }
}
