import Fastify, { type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { Engine } from '../engine/engine.js'
import type { MetaDb } from '../meta/db.js'
import { registerAuth } from './plugins/auth.js'
import { registerErrorHandling } from './plugins/errors.js'
import { genReqId } from './plugins/request-id.js'
import { healthRoutes } from './routes/health.js'
import { projectRoutes } from './routes/projects.js'

export interface AppDeps {
  config: Config
  meta: MetaDb
  engine: Engine
  clock: () => Date
  teamId: string
  logger?: Logger
  localAdminTokenHash?: string
}

/**
 * Builds the whole HTTP API from explicit dependencies; it does not listen (serve does), so
 * tests build the same app over a temp data dir and call it with inject.
 */
export const buildApp = async (deps: AppDeps): Promise<FastifyInstance> => {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    genReqId,
    requestIdHeader: false,
    bodyLimit: deps.config.server.body_limit_mb * 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // JSON only (ingest adds NDJSON); anything else is 415, not a string for the schemas to reject.
  app.removeContentTypeParser('text/plain')

  app.addHook('onSend', async (request, reply) => {
    void reply.header('X-Request-Id', request.id)
  })
  registerErrorHandling(app)
  registerAuth(app, deps)

  await app.register(healthRoutes, deps)
  await app.register(
    async (api) => {
      await api.register(healthRoutes, deps)
      await api.register(projectRoutes, deps)
    },
    { prefix: '/api/v1' },
  )
  return app
}
