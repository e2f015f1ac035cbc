import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { createIngestToken, IngestTokenCreateInput, listIngestTokens, revokeIngestToken } from '../../access/ingest-tokens.js'
import type { AppContext } from '../app.js'
import { actorOf } from '../audit.js'
import { assertProjectAccess } from '../plugins/auth.js'
import { ok, okPage } from '../respond.js'
import { ListQuery, NoQuery, read, write } from '../route-config.js'
import { envelope, errorResponses, IngestToken, IngestTokenWithSecret, NoContent, pageEnvelope } from '../schemas/index.js'

const ProjectParams = z.object({ id: z.uuid('must be a project id (UUID)') }).strict()
const TokenParams = z.object({ id: z.uuid('must be a project id (UUID)'), token_id: z.uuid('must be an ingest token id (UUID)') }).strict()

/** A project's ingest tokens (docs/api.md "Ingest tokens of a project"): list, create, revoke. */
export const ingestTokenRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()

  app.get(
    '/logs/projects/:id/tokens',
    { config: read, schema: { params: ProjectParams, querystring: ListQuery, response: { 200: pageEnvelope(IngestToken), ...errorResponses } } },
    async (request) => {
      const { teamId } = assertProjectAccess(request, request.params.id)
      return okPage(request, listIngestTokens(deps, teamId, request.params.id, request.query))
    },
  )

  app.post(
    '/logs/projects/:id/tokens',
    { config: write, schema: { params: ProjectParams, body: IngestTokenCreateInput, querystring: NoQuery, response: { 201: envelope(IngestTokenWithSecret), ...errorResponses } } },
    async (request, reply) => {
      const { teamId } = assertProjectAccess(request, request.params.id)
      const created = createIngestToken(deps, teamId, request.params.id, request.body, actorOf(request))
      return reply.status(201).send(ok(request, created))
    },
  )

  app.delete(
    '/logs/projects/:id/tokens/:token_id',
    { config: write, schema: { params: TokenParams, querystring: NoQuery, response: { 204: NoContent, ...errorResponses } } },
    async (request, reply) => {
      const { teamId } = assertProjectAccess(request, request.params.id)
      revokeIngestToken(deps, teamId, request.params.id, request.params.token_id, actorOf(request))
      return reply.status(204).send()
    },
  )
}
