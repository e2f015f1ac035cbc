import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'
import { errorResponses, MetricsText } from '../schemas/index.js'

/**
 * Prometheus scrape endpoint at the root. Open to this machine (the usual local scraper);
 * from elsewhere it takes a team key, unlimited because the figures cover every project.
 */
export const metricsRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  app.get('/metrics', { config: { auth: { kind: 'team', scope: 'logs:read', teamWide: true, openOnLoopback: true } }, schema: { response: { 200: MetricsText, ...errorResponses } } }, async (_request, reply) => {
    deps.metrics.engineUp.set((await deps.engine.ping()) ? 1 : 0)
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.registry.render())
  })
}
