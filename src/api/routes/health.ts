import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'
import { VERSION } from '../../version.js'
import { errorResponses, Health } from '../schemas/index.js'

/**
 * Liveness for load balancers and `status`: no auth. 503 and `degraded` while the engine does
 * not answer, or answers pings but fails every insert (a log server that cannot store logs is
 * not healthy); refused records are shown so a misconfigured shipper is visible here too.
 */
export const healthRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  app.get('/healthz', { config: { auth: { kind: 'none' } }, schema: { response: { 200: Health, 503: Health, ...errorResponses } } }, async (_request, reply) => {
    const engineOk = await deps.engine.ping()
    deps.metrics.engineUp.set(engineOk ? 1 : 0)
    const failing = deps.ingest.batcher.failingSince()
    const healthy = engineOk && !failing
    return reply.status(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : 'degraded',
      engine: { mode: deps.engine.mode, version: deps.engine.version, database: deps.engine.database, ok: engineOk },
      version: VERSION,
      ingest: {
        ...deps.ingest.batcher.stats,
        accepted_records: deps.metrics.recordsAccepted.sum(),
        rejected_records: deps.metrics.rejectedTotal(),
        inserts_failing: failing ? { since: failing.since.toISOString(), error: failing.error } : null,
        spool: deps.ingest.batcher.spoolStats(),
      },
    })
  })
}
