import type { DataPaths } from '../config/paths.js'
import { openEngine, type Engine } from '../engine/engine.js'
import { UserError } from '../errors.js'
import type { OpsContext } from './context.js'
import { readRuntime, type RuntimeInfo } from './runtime.js'

export type Via = 'server' | 'direct'

/*
 * The one place that decides, from serve.json, whether a command works through the running
 * serve or on the data dir itself. Commands reach the server only through these.
 */

/**
 * Work a running `serve` must do itself: engine work (chDB lets one process open the data)
 * and changes to what it caches (ingest tokens). While serve runs the work goes through its
 * API; otherwise the command does it here. Callers report which path was taken (`via`).
 */
export const viaServerOrLocal = async <T>(
  ctx: OpsContext,
  paths: { server: (runtime: RuntimeInfo) => Promise<T>; local: () => T | Promise<T> },
): Promise<{ result: T; via: Via }> =>
  ctx.runtime ? { result: await paths.server(ctx.runtime), via: 'server' } : { result: await paths.local(), via: 'direct' }

/** As viaServerOrLocal, opening the engine for the local path. */
export const viaServerOrEngine = <T>(
  ctx: OpsContext,
  paths: { server: (runtime: RuntimeInfo) => Promise<T>; direct: (engine: Engine) => Promise<T> },
): Promise<{ result: T; via: Via }> =>
  viaServerOrLocal(ctx, {
    server: paths.server,
    local: async () => {
      const engine = await openEngine(ctx.config, ctx.paths)
      try {
        return await paths.direct(engine)
      } finally {
        await engine.close()
      }
    },
  })

/** Work that replaces what a running serve holds open (a restore) needs it stopped. */
export const assertServeStopped = (paths: DataPaths, work: string): void => {
  const running = readRuntime(paths)
  if (running) {
    throw new UserError(`krafter-logs serve is running on ${paths.root} (pid ${running.pid}); ${work} needs it stopped.`, {
      suggestions: ['Stop serve (SIGTERM, or systemctl stop krafter-logs), restore, then start it again.'],
    })
  }
}
