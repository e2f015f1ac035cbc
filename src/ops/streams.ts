import { AnonymousStreamClaim } from '../api/schemas/index.js'
import type { Engine } from '../engine/engine.js'
import { CLI_ACTOR } from '../meta/audit.js'
import { UsageMeter } from '../meta/usage-meter.js'
import { ClaimInput, StreamClaims, type ClaimResult } from '../streams/claim.js'
import { streamsOff } from '../streams/registry.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, type Via } from './engine-access.js'
import { projectByRef } from './projects.js'
import { callServer } from './server-client.js'

/** A claim on this machine, serve stopped: no writes can be in flight, usage is written at once. */
const claimDirect = (ctx: OpsContext, engine: Engine, input: ClaimInput): Promise<ClaimResult> => {
  const claims = new StreamClaims({ meta: ctx.meta, engine, clock: ctx.clock, usage: new UsageMeter(ctx.meta), registry: { settled: async () => {} } })
  return claims.claim(ctx.team.id, input, CLI_ACTOR)
}

/** `stream claim`: through a running serve (it owns the engine and the stream's writes), else on the engine itself. */
export const claimStreamNow = async (ctx: OpsContext, token: string, projectRef: string): Promise<ClaimResult & { via: Via }> => {
  if (!ctx.config.anonymous_streams.enabled) throw streamsOff()
  const input = parseInput(ClaimInput, { token, project_id: projectByRef(ctx, projectRef).id }, 'claim')
  const { result, via } = await viaServerOrEngine(ctx, {
    server: (runtime) => callServer(runtime, 'POST', '/streams/claim', AnonymousStreamClaim, input),
    direct: (engine) => claimDirect(ctx, engine, input),
  })
  return { ...result, via }
}
