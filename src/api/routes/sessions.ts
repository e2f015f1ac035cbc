import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError } from '../../errors.js'
import { SCOPES } from '../../meta/keys.js'
import { createLoginLink, csrfTokenOf, endSession, LoginLinkToken, redeemLoginLink, SessionCreateInput, startSession, type StartedSession } from '../../sessions/sessions.js'
import type { AppContext } from '../app.js'
import { actorOf } from '../audit.js'
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie } from '../cookies.js'
import { authenticateTeam, teamOf } from '../plugins/auth.js'
import { assertCsrf, CONSOLE_ACTOR, sessionOfRequest } from '../plugins/session-auth.js'
import { ok } from '../respond.js'
import { envelope, errorResponses, NoContent } from '../schemas/index.js'
import { NoQuery, teamWide } from '../route-config.js'

/** These routes check the credential (a key in the body, the cookie, a link's token) themselves. */
const open = { auth: { kind: 'none' } } as const

const SessionCreated = z.object({
  csrf_token: z.string().meta({ description: 'Send as X-CSRF-Token with every state-changing request signed in by the cookie' }),
  expires_at: z.string(),
})
const SessionInfo = SessionCreated.extend({
  scopes: z.array(z.enum(SCOPES)),
  project_ids: z.array(z.string()).nullable().meta({ description: 'null: every project of the team' }),
  key: z
    .object({ id: z.string(), name: z.string(), prefix: z.string() })
    .nullable()
    .meta({ description: 'The key the session acts as; null for a login link of the local admin (krafter-logs open)' }),
})
const LoginLink = z.object({
  token: z.string(),
  path: z.string().meta({ description: 'Open it on this server (e.g. http://127.0.0.1:8080/login?token=…); works once, within 5 minutes' }),
  expires_at: z.string(),
})
const LoginQuery = z.object({ token: LoginLinkToken }).strict()

/** Nothing of a session answer may be kept by a cache. */
const noStore = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store')

const setSession = (request: FastifyRequest, reply: FastifyReply, started: StartedSession): FastifyReply =>
  noStore(reply).header('set-cookie', sessionCookie(request, started.sessionId, started.maxAgeSeconds))

/** Browser sessions under /api/v1 (API.md "Web console and browser sessions"). */
export const sessionRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()

  app.post('/sessions', { config: open, schema: { body: SessionCreateInput, querystring: NoQuery, response: { 201: envelope(SessionCreated), ...errorResponses } } }, async (request, reply) => {
    let principal
    try {
      principal = authenticateTeam(deps, request.body.api_key, deps.clock())
    } catch (err) {
      fastify.refuseAuthentication(request, err)
    }
    if (principal.kind !== 'team' || !principal.key) throw new AppError('unauthorized', 'Invalid API key')
    const started = startSession(deps, { teamId: principal.teamId, key: principal.key }, { name: principal.actor, requestId: request.id }, 'api_key')
    return setSession(request, reply, started).status(201).send(ok(request, { csrf_token: started.csrfToken, expires_at: started.expiresAt }))
  })

  // Not in API.md: the console learns its CSRF token (after a login link) and what it may do.
  app.get('/sessions/current', { config: open, schema: { querystring: NoQuery, response: { 200: envelope(SessionInfo), ...errorResponses } } }, async (request, reply) => {
    const session = current(fastify, deps, request)
    if (!session) throw new AppError('unauthorized', 'Not signed in: POST /api/v1/sessions with a team API key first')
    const cookie = readCookie(request, SESSION_COOKIE)!
    return noStore(reply).send(
      ok(request, {
        csrf_token: csrfTokenOf(cookie),
        expires_at: session.expiresAt,
        scopes: session.key?.scopes ?? [...SCOPES],
        project_ids: session.key?.project_ids ?? null,
        key: session.key && { id: session.key.id, name: session.key.name, prefix: session.key.prefix },
      }),
    )
  })

  // Logging out twice, or with a cookie that already expired, is still a logout: 204, cookie cleared.
  app.delete('/sessions/current', { config: open, schema: { querystring: NoQuery, response: { 204: NoContent, ...errorResponses } } }, async (request, reply) => {
    let session
    try {
      session = sessionOfRequest(deps, request)
    } catch {
      session = undefined
    }
    if (session) {
      assertCsrf(request, session)
      endSession(deps, session, { name: session.key?.prefix ?? CONSOLE_ACTOR, requestId: request.id })
    }
    return noStore(reply).header('set-cookie', clearedSessionCookie(request)).status(204).send()
  })

  // Not in API.md: `krafter-logs open` asks for a login link with the local admin token. A link
  // acts as whoever asked (a key's link as that key; the local admin's with every scope).
  app.post('/sessions/login-links', { config: teamWide, schema: { querystring: NoQuery, response: { 201: envelope(LoginLink), ...errorResponses } } }, async (request, reply) => {
    const principal = teamOf(request)
    const link = createLoginLink(deps, { teamId: principal.teamId, key: principal.key }, actorOf(request))
    return noStore(reply).status(201).send(ok(request, link))
  })
}

const current = (fastify: FastifyInstance, deps: AppContext, request: FastifyRequest) => {
  try {
    return sessionOfRequest(deps, request)
  } catch (err) {
    return fastify.refuseAuthentication(request, err)
  }
}

/** `GET /login?token=…` at the root: redeems a one-time login link, sets the cookie, on to the console. */
export const loginRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.get('/login', { config: open, schema: { querystring: LoginQuery, response: { 303: NoContent, ...errorResponses } } }, async (request, reply) => {
    const started = redeemLoginLink(deps, deps.teamId, request.query.token, (owner) => ({ name: owner.key?.prefix ?? CONSOLE_ACTOR, requestId: request.id }))
    if (!started) {
      fastify.refuseAuthentication(request, new AppError('unauthorized', 'This login link is unknown, already used or expired: run `krafter-logs open` again'))
    }
    // The token stays out of the page the browser goes on to (and of any Referer it would send).
    return setSession(request, reply, started).header('referrer-policy', 'no-referrer').redirect('/', 303)
  })
}
