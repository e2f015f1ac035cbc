import { openEngine, type Engine } from '../engine/engine.js'
import type { OpsContext } from './context.js'
import type { RuntimeInfo } from './runtime.js'

export type Via = 'server' | 'direct'

/**
 * Engine work from the CLI. chDB lets one process open the data, so while `serve` runs the
 * work goes through its API; otherwise the command opens the engine itself. Callers report
 * which path was taken (`via` in --json output).
 */
export const viaServerOrEngine = async <T>(
  ctx: OpsContext,
  paths: { server: (runtime: RuntimeInfo) => Promise<T>; direct: (engine: Engine) => Promise<T> },
): Promise<{ result: T; via: Via }> => {
  if (ctx.runtime) return { result: await paths.server(ctx.runtime), via: 'server' }
  const engine = await openEngine(ctx.config, ctx.paths)
  try {
    return { result: await paths.direct(engine), via: 'direct' }
  } finally {
    await engine.close()
  }
}
