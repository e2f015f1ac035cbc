import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { AppContext } from '../app.js'
import { assertProjectAccess, teamOf } from '../plugins/auth.js'
import { ok, okPage } from '../respond.js'
import { actorOf } from '../audit.js'
import {
  ProjectCreateInput,
  ProjectUpdateInput,
  RotateTokenInput,
  createProject,
  deleteProject,
  getProject,
  listProjects,
  projectStreams,
  projectUsage,
  rotateProjectToken,
  updateProject,
} from '../../logs/projects.js'
import { envelope, errorResponses, NoContent, pageEnvelope, Project, ProjectWithIngestToken, StreamInfo, Usage } from '../schemas/index.js'
import { ListQuery, NoQuery, read, write } from '../route-config.js'

const ProjectParams = z.object({ id: z.uuid('must be a project id (UUID)') }).strict()
const UsageQuery = z.object({ days: z.coerce.number().int().min(1).max(90).default(7) }).strict()

/** Projects API (seed 004 + API.md). Handlers only translate HTTP to logs/projects calls. */
export const projectRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()

  app.get('/logs/projects', { config: read, schema: { querystring: ListQuery, response: { 200: pageEnvelope(Project), ...errorResponses } } }, async (request) => {
    const principal = teamOf(request)
    const page = listProjects(deps, principal.teamId, { ...request.query, projectIds: principal.projectIds })
    return okPage(request, page)
  })

  app.post('/logs/projects', { config: write, schema: { body: ProjectCreateInput, querystring: NoQuery, response: { 201: envelope(ProjectWithIngestToken), ...errorResponses } } }, async (request, reply) => {
    const principal = teamOf(request)
    if (principal.projectIds) {
      // A key limited to some projects cannot create new ones outside its list.
      assertProjectAccess(request, '')
    }
    const created = createProject(deps, principal.teamId, request.body, actorOf(request))
    return reply.status(201).send(ok(request, created))
  })

  app.get('/logs/projects/:id', { config: read, schema: { params: ProjectParams, querystring: NoQuery, response: { 200: envelope(Project), ...errorResponses } } }, async (request) => {
    const { teamId } = assertProjectAccess(request, request.params.id)
    return ok(request, getProject(deps, teamId, request.params.id))
  })

  app.put(
    '/logs/projects/:id',
    { config: write, schema: { params: ProjectParams, body: ProjectUpdateInput, querystring: NoQuery, response: { 200: envelope(Project), ...errorResponses } } },
    async (request) => {
      const { teamId } = assertProjectAccess(request, request.params.id)
      const updated = updateProject(deps, teamId, request.params.id, request.body, actorOf(request))
      return ok(request, updated)
    },
  )

  app.delete('/logs/projects/:id', { config: write, schema: { params: ProjectParams, querystring: NoQuery, response: { 204: NoContent, ...errorResponses } } }, async (request, reply) => {
    const { teamId } = assertProjectAccess(request, request.params.id)
    await deleteProject({ ...deps, flushIngest: () => deps.ingest.batcher.drain() }, teamId, request.params.id, actorOf(request))
    deps.ingest.usage.forget(request.params.id)
    return reply.status(204).send()
  })

  app.post(
    '/logs/projects/:id/rotate_token',
    { config: write, schema: { params: ProjectParams, body: z.preprocess((v) => v ?? {}, RotateTokenInput), querystring: NoQuery, response: { 200: envelope(ProjectWithIngestToken), ...errorResponses } } },
    async (request) => {
      const { teamId } = assertProjectAccess(request, request.params.id)
      return ok(request, rotateProjectToken(deps, teamId, request.params.id, request.body, actorOf(request)))
    },
  )

  app.get('/logs/projects/:id/streams', { config: read, schema: { params: ProjectParams, querystring: NoQuery, response: { 200: envelope(z.array(StreamInfo)), ...errorResponses } } }, async (request) => {
    const { teamId } = assertProjectAccess(request, request.params.id)
    return ok(request, projectStreams(deps, teamId, request.params.id))
  })

  app.get('/logs/projects/:id/usage', { config: read, schema: { params: ProjectParams, querystring: UsageQuery, response: { 200: envelope(Usage), ...errorResponses } } }, async (request) => {
    const { teamId } = assertProjectAccess(request, request.params.id)
    deps.ingest.usage.flush()
    return ok(request, projectUsage(deps, teamId, request.params.id, request.query.days))
  })
}
