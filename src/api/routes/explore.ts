import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ContextInput, entryContext } from '../../explore/context.js'
import { facetCounts, FacetsInput } from '../../explore/facets.js'
import { messagePatterns, PatternsInput } from '../../explore/patterns.js'
import { getProject } from '../../logs/projects.js'
import type { AppContext } from '../app.js'
import { assertProjectAccess } from '../plugins/auth.js'
import { ContextAnswer, errorResponses, FacetsAnswer, PatternsAnswer } from '../schemas/index.js'
import { read } from '../route-config.js'

/** Context, facets and patterns (API.md "Explore"): reads beside search, the project checked before any engine work. */
export const exploreRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.addHook('onResponse', (request, reply, done) => {
    const endpoint = request.routeOptions.url?.split('/').pop() ?? 'unknown'
    deps.metrics.searchSeconds.observe(reply.elapsedTime / 1000, { endpoint })
    done()
  })
  const project = (request: FastifyRequest, id: string) => {
    const { teamId } = assertProjectAccess(request, id)
    return getProject(deps, teamId, id)
  }

  app.get('/logs/context', { config: read, schema: { querystring: ContextInput, response: { 200: ContextAnswer, ...errorResponses } } }, async (request) => {
    project(request, request.query.project_id)
    return { data: await entryContext(deps.engine, request.query, deps.clock()), request_id: request.id }
  })

  app.get('/logs/facets', { config: read, schema: { querystring: FacetsInput, response: { 200: FacetsAnswer, ...errorResponses } } }, async (request) => {
    project(request, request.query.project_id)
    return { data: await facetCounts(deps.engine, request.query, deps.clock()), request_id: request.id }
  })

  app.get('/logs/patterns', { config: read, schema: { querystring: PatternsInput, response: { 200: PatternsAnswer, ...errorResponses } } }, async (request) => {
    project(request, request.query.project_id)
    return { data: await messagePatterns(deps.engine, request.query, deps.clock()), request_id: request.id }
  })
}
