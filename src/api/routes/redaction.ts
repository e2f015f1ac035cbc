import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  RedactionRuleCreateInput,
  RedactionRuleUpdateInput,
  RedactionTestInput,
  createRedactionRule,
  deleteRedactionRule,
  getRedactionRule,
  listRedactionRules,
  testRedaction,
  updateRedactionRule,
} from '../../redaction/rules.js'
import type { AppContext } from '../app.js'
import { actorOf } from '../audit.js'
import { assertProjectAccess, assertUnlimited, teamOf } from '../plugins/auth.js'
import { ok } from '../respond.js'
import { envelope, errorResponses, NoContent, RedactionRule, RedactionTestResult } from '../schemas/index.js'
import { admin, NoQuery, read } from '../route-config.js'

const IdParams = z.object({ id: z.string().min(1).max(64) }).strict()
const ListQuery = z.object({ project_id: z.uuid('must be a project id (UUID)').optional() }).strict()

/** Redaction rules and their dry run (API.md "Redaction rules"); the rules live in src/redaction/. */
export const redactionRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  /**
   * Who may change a rule: one of a project, a key allowed that project; a team-wide rule or a
   * built-in (they cover every project), an unlimited key.
   */
  const mayChange = (request: FastifyRequest, projectId: string | null | undefined) =>
    projectId ? assertProjectAccess(request, projectId) : assertUnlimited(request)
  const changed = <T>(value: T): T => {
    deps.redaction.invalidate()
    return value
  }

  app.get('/redaction/rules', { config: read, schema: { querystring: ListQuery, response: { 200: envelope(z.array(RedactionRule)), ...errorResponses } } }, async (request) => {
    const principal = teamOf(request)
    if (request.query.project_id) assertProjectAccess(request, request.query.project_id)
    return ok(request, listRedactionRules(deps, principal.teamId, { projectId: request.query.project_id, projectIds: principal.projectIds }))
  })

  app.post('/redaction/rules', { config: admin, schema: { body: RedactionRuleCreateInput, querystring: NoQuery, response: { 201: envelope(RedactionRule), ...errorResponses } } }, async (request, reply) => {
    const { teamId } = mayChange(request, request.body.project_id)
    return reply.status(201).send(ok(request, changed(createRedactionRule(deps, teamId, request.body, actorOf(request)))))
  })

  app.put(
    '/redaction/rules/:id',
    { config: admin, schema: { params: IdParams, body: RedactionRuleUpdateInput, querystring: NoQuery, response: { 200: envelope(RedactionRule), ...errorResponses } } },
    async (request) => {
      const { teamId } = teamOf(request)
      mayChange(request, getRedactionRule(deps, teamId, request.params.id).project_id)
      if (request.body.project_id !== undefined) mayChange(request, request.body.project_id)
      return ok(request, changed(updateRedactionRule(deps, teamId, request.params.id, request.body, actorOf(request))))
    },
  )

  app.delete('/redaction/rules/:id', { config: admin, schema: { params: IdParams, querystring: NoQuery, response: { 204: NoContent, ...errorResponses } } }, async (request, reply) => {
    const { teamId } = teamOf(request)
    mayChange(request, getRedactionRule(deps, teamId, request.params.id).project_id)
    changed(deleteRedactionRule(deps, teamId, request.params.id, actorOf(request)))
    return reply.status(204).send()
  })

  app.post('/redaction/test', { config: read, schema: { body: RedactionTestInput, querystring: NoQuery, response: { 200: envelope(RedactionTestResult), ...errorResponses } } }, async (request) => {
    const { teamId } = assertProjectAccess(request, request.body.project_id)
    return ok(request, testRedaction(deps, teamId, request.body))
  })
}
