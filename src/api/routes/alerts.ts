import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { sendTestNotification } from '../../alerts/evaluate.js'
import { AlertPreviewInput, previewRule } from '../../alerts/preview.js'
import {
  AlertCreateInput,
  AlertUpdateInput,
  EventPatchInput,
  createRule,
  deleteRule,
  findEvent,
  getEventView,
  getRule,
  listRuleEvents,
  listRules,
  patchEvent,
  presentRule,
  updateRule,
} from '../../alerts/rules.js'
import type { AppContext } from '../app.js'
import { assertProjectAccess, teamOf } from '../plugins/auth.js'
import { ok, okPage } from '../respond.js'
import { actorOf } from '../audit.js'
import { AlertEvent, AlertPreview, AlertRule, AlertTestResult, envelope, errorResponses, NoContent, pageEnvelope } from '../schemas/index.js'
import { ListQuery as EventsQuery, NoQuery, page, read, write } from '../route-config.js'

const IdParams = z.object({ id: z.uuid('must be an id (UUID)') }).strict()
const ListQuery = z.object({ ...page, project_id: z.uuid('must be a project id (UUID)').optional() }).strict()

/** Alert rules and their firings (API.md "Alerts"). Handlers translate HTTP to alerts/ calls. */
export const alertRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  /** The rule, if the key may see its project (keys limited to other projects get 403). */
  const rule = (request: FastifyRequest, id: string) => {
    const found = getRule(deps, teamOf(request).teamId, id)
    assertProjectAccess(request, found.project_id)
    return found
  }

  app.get('/logs/alerts', { config: read, schema: { querystring: ListQuery, response: { 200: pageEnvelope(AlertRule), ...errorResponses } } }, async (request) => {
    const principal = teamOf(request)
    if (request.query.project_id) assertProjectAccess(request, request.query.project_id)
    const { project_id: projectId, ...paging } = request.query
    return okPage(request, listRules(deps, principal.teamId, { ...paging, projectId, projectIds: principal.projectIds }))
  })

  app.post('/logs/alerts', { config: write, schema: { body: AlertCreateInput, querystring: NoQuery, response: { 201: envelope(AlertRule), ...errorResponses } } }, async (request, reply) => {
    const { teamId } = assertProjectAccess(request, request.body.project_id)
    return reply.status(201).send(ok(request, createRule(deps, teamId, request.body, actorOf(request))))
  })

  // A read: previewing writes nothing, so logs:read (a POST for its body; sessions still need CSRF).
  app.post(
    '/logs/alerts/preview',
    { config: read, schema: { body: AlertPreviewInput, querystring: NoQuery, response: { 200: envelope(AlertPreview), ...errorResponses } } },
    async (request) => {
      const { teamId } = assertProjectAccess(request, request.body.project_id)
      return ok(request, await previewRule(deps, teamId, request.body))
    },
  )

  app.get('/logs/alerts/:id', { config: read, schema: { params: IdParams, querystring: NoQuery, response: { 200: envelope(AlertRule), ...errorResponses } } }, async (request) =>
    ok(request, presentRule(rule(request, request.params.id))),
  )

  app.put(
    '/logs/alerts/:id',
    { config: write, schema: { params: IdParams, body: AlertUpdateInput, querystring: NoQuery, response: { 200: envelope(AlertRule), ...errorResponses } } },
    async (request) => {
      rule(request, request.params.id)
      if (request.body.project_id) assertProjectAccess(request, request.body.project_id)
      return ok(request, updateRule(deps, teamOf(request).teamId, request.params.id, request.body, actorOf(request)))
    },
  )

  app.delete('/logs/alerts/:id', { config: write, schema: { params: IdParams, querystring: NoQuery, response: { 204: NoContent, ...errorResponses } } }, async (request, reply) => {
    rule(request, request.params.id)
    deleteRule(deps, teamOf(request).teamId, request.params.id, actorOf(request))
    return reply.status(204).send()
  })

  app.post('/logs/alerts/:id/test', { config: write, schema: { params: IdParams, querystring: NoQuery, response: { 200: envelope(AlertTestResult), ...errorResponses } } }, async (request) => {
    return ok(request, await sendTestNotification(deps, rule(request, request.params.id), actorOf(request)))
  })

  app.get('/logs/alerts/:id/events', { config: read, schema: { params: IdParams, querystring: EventsQuery, response: { 200: pageEnvelope(AlertEvent), ...errorResponses } } }, async (request) => {
    rule(request, request.params.id)
    return okPage(request, listRuleEvents(deps, teamOf(request).teamId, request.params.id, request.query))
  })

  app.get('/logs/alert-events/:id', { config: read, schema: { params: IdParams, querystring: NoQuery, response: { 200: envelope(AlertEvent), ...errorResponses } } }, async (request) => {
    const { teamId } = teamOf(request)
    assertProjectAccess(request, findEvent(deps, teamId, request.params.id).rule.project_id)
    return ok(request, getEventView(deps, teamId, request.params.id))
  })

  app.patch(
    '/logs/alert-events/:id',
    { config: write, schema: { params: IdParams, body: EventPatchInput, querystring: NoQuery, response: { 200: envelope(AlertEvent), ...errorResponses } } },
    async (request) => {
      const { teamId } = teamOf(request)
      assertProjectAccess(request, findEvent(deps, teamId, request.params.id).rule.project_id)
      return ok(request, patchEvent(deps, teamId, request.params.id, request.body, actorOf(request)))
    },
  )
}
