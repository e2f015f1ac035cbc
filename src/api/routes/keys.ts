import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AuditQuery, auditPage } from '../../access/audit.js'
import { createKey, KeyCreateInput, listKeys, revokeKey, type Grantor } from '../../access/keys.js'
import type { AppContext } from '../app.js'
import { audit } from '../audit.js'
import { teamOf, type Principal } from '../plugins/auth.js'
import { ok, okPage } from '../respond.js'
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

  app.get('/keys', { config: admin, schema: { querystring: ListQuery } }, async (request) =>
    okPage(request, listKeys(deps, teamOf(request).teamId, request.query)),
  )

  app.post('/keys', { config: admin, schema: { body: KeyCreateInput, querystring: NoQuery } }, async (request, reply) => {
    const created = createKey(deps, grantorOf(teamOf(request)), request.body)
    audit(request, deps, 'key.create', { type: 'api_key', id: created.id }, { name: created.name, prefix: created.prefix, scopes: created.scopes, project_ids: created.project_ids })
    return reply.status(201).send(ok(request, created))
  })

  app.delete('/keys/:id', { config: admin, schema: { params: IdParams, querystring: NoQuery } }, async (request, reply) => {
    const revoked = revokeKey(deps, grantorOf(teamOf(request)), request.params.id)
    audit(request, deps, 'key.revoke', { type: 'api_key', id: revoked.id }, { prefix: revoked.prefix })
    return reply.status(204).send()
  })

  app.get('/audit-logs', { config: admin, schema: { querystring: AuditQuery } }, async (request) =>
    okPage(request, auditPage(deps.meta, teamOf(request).teamId, request.query)),
  )
}
