import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'
import { VERSION } from '../../version.js'

/** Liveness for load balancers and `status`: no auth, 503 while the engine does not answer. */
export const healthRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  app.get('/healthz', { config: { auth: { kind: 'none' } } }, async (_request, reply) => {
    const engineOk = await deps.engine.ping()
    return reply.status(engineOk ? 200 : 503).send({
      status: engineOk ? 'ok' : 'degraded',
      engine: { mode: deps.engine.mode, version: deps.engine.version, database: deps.engine.database, ok: engineOk },
      version: VERSION,
      ingest: deps.ingest.batcher.stats,
    })
  })
}
