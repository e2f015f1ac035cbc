import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AuditQuery, auditPage } from '../../access/audit.js'
import { createKey, KeyCreateInput, listKeys, revokeKey, type Grantor } from '../../access/keys.js'
import type { AppContext } from '../app.js'
import { actorOf } from '../audit.js'
import { teamOf, type Principal } from '../plugins/auth.js'
import { ok, okPage } from '../respond.js'
import { AuditLogEntry, envelope, errorResponses, Key, KeyWithToken, NoContent, pageEnvelope } from '../schemas/index.js'
// Keys and the audit log span the whole team: keys limited to projects are refused.
import { ListQuery, NoQuery, teamWide as admin } from '../route-config.js'

const IdParams = z.object({ id: z.uuid('must be a key id (UUID)') }).strict()

const grantorOf = (p: Extract<Principal, { kind: 'team' }>): Grantor => ({
  teamId: p.teamId,
  scopes: p.scopes,
  keyId: p.key?.id ?? null,
})

/** Team API keys and the audit log (API.md "Keys, audit"): admin scope. */
export const keyRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()

  app.get('/keys', { config: admin, schema: { querystring: ListQuery, response: { 200: pageEnvelope(Key), ...errorResponses } } }, async (request) =>
    okPage(request, listKeys(deps, teamOf(request).teamId, request.query)),
  )

  app.post('/keys', { config: admin, schema: { body: KeyCreateInput, querystring: NoQuery, response: { 201: envelope(KeyWithToken), ...errorResponses } } }, async (request, reply) => {
    const created = createKey(deps, grantorOf(teamOf(request)), request.body, actorOf(request))
    return reply.status(201).send(ok(request, created))
  })

  app.delete('/keys/:id', { config: admin, schema: { params: IdParams, querystring: NoQuery, response: { 204: NoContent, ...errorResponses } } }, async (request, reply) => {
    revokeKey(deps, grantorOf(teamOf(request)), request.params.id, actorOf(request))
    return reply.status(204).send()
  })

  app.get('/audit-logs', { config: admin, schema: { querystring: AuditQuery, response: { 200: pageEnvelope(AuditLogEntry), ...errorResponses } } }, async (request) =>
    okPage(request, auditPage(deps.meta, teamOf(request).teamId, request.query)),
  )
}
