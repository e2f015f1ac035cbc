import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { createViewerToken, ViewerTokenInput } from '../../viewer/tokens.js'
import type { AppContext } from '../app.js'
import { actorOf } from '../audit.js'
import { assertProjectAccess } from '../plugins/auth.js'
import { ok } from '../respond.js'
import { envelope, errorResponses, ViewerToken } from '../schemas/index.js'
import { NoQuery, read } from '../route-config.js'

/**
 * Viewer tokens (API.md "Viewer tokens and the embeddable viewer"): a key that may read a
 * project hands out a read-only, expiring token for it. The token is in the answer only: never
 * stored, logged or audited (the audit records its jti).
 */
export const viewerRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()

  app.post('/viewer-tokens', { config: read, schema: { body: ViewerTokenInput, querystring: NoQuery, response: { 201: envelope(ViewerToken), ...errorResponses } } }, async (request, reply) => {
    const { teamId } = assertProjectAccess(request, request.body.project_id)
    return reply.status(201).send(ok(request, createViewerToken(deps, teamId, request.body, actorOf(request))))
  })
}
