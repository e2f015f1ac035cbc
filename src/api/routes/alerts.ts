import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { sendTestNotification } from '../../alerts/evaluate.js'
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
import { audit } from '../audit.js'
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

  app.get('/logs/alerts', { config: read, schema: { querystring: ListQuery } }, async (request) => {
    const principal = teamOf(request)
    if (request.query.project_id) assertProjectAccess(request, request.query.project_id)
    const { project_id: projectId, ...paging } = request.query
    return okPage(request, listRules(deps, principal.teamId, { ...paging, projectId, projectIds: principal.projectIds }))
  })

  app.post('/logs/alerts', { config: write, schema: { body: AlertCreateInput, querystring: NoQuery } }, async (request, reply) => {
    const { teamId } = assertProjectAccess(request, request.body.project_id)
    const created = createRule(deps, teamId, request.body)
    audit(request, deps, 'alert.create', { type: 'alert_rule', id: created.id }, { name: created.name, project_id: created.project_id })
    return reply.status(201).send(ok(request, created))
  })

  app.get('/logs/alerts/:id', { config: read, schema: { params: IdParams, querystring: NoQuery } }, async (request) =>
    ok(request, presentRule(rule(request, request.params.id))),
  )

  app.put(
    '/logs/alerts/:id',
    { config: write, schema: { params: IdParams, body: AlertUpdateInput, querystring: NoQuery } },
    async (request) => {
      rule(request, request.params.id)
      if (request.body.project_id) assertProjectAccess(request, request.body.project_id)
      const updated = updateRule(deps, teamOf(request).teamId, request.params.id, request.body)
      audit(request, deps, 'alert.update', { type: 'alert_rule', id: updated.id }, { fields: Object.keys(request.body) })
      return ok(request, updated)
    },
  )

  app.delete('/logs/alerts/:id', { config: write, schema: { params: IdParams, querystring: NoQuery } }, async (request, reply) => {
    rule(request, request.params.id)
    deleteRule(deps, teamOf(request).teamId, request.params.id)
    audit(request, deps, 'alert.delete', { type: 'alert_rule', id: request.params.id })
    return reply.status(204).send()
  })

  app.post('/logs/alerts/:id/test', { config: write, schema: { params: IdParams, querystring: NoQuery } }, async (request) => {
    const result = await sendTestNotification(deps, rule(request, request.params.id))
    audit(request, deps, 'alert.test', { type: 'alert_rule', id: request.params.id }, { ok: result.ok })
    return ok(request, result)
  })

  app.get('/logs/alerts/:id/events', { config: read, schema: { params: IdParams, querystring: EventsQuery } }, async (request) => {
    rule(request, request.params.id)
    return okPage(request, listRuleEvents(deps, teamOf(request).teamId, request.params.id, request.query))
  })

  app.get('/logs/alert-events/:id', { config: read, schema: { params: IdParams, querystring: NoQuery } }, async (request) => {
    const { teamId } = teamOf(request)
    assertProjectAccess(request, findEvent(deps, teamId, request.params.id).rule.project_id)
    return ok(request, getEventView(deps, teamId, request.params.id))
  })

  app.patch(
    '/logs/alert-events/:id',
    { config: write, schema: { params: IdParams, body: EventPatchInput, querystring: NoQuery } },
    async (request) => {
      const { teamId } = teamOf(request)
      assertProjectAccess(request, findEvent(deps, teamId, request.params.id).rule.project_id)
      const event = patchEvent(deps, teamId, request.params.id, request.body)
      audit(request, deps, 'alert_event.update', { type: 'alert_event', id: event.id }, { status: event.status })
      return ok(request, event)
    },
  )
}
