import type { FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { SCOPES, touchApiKey } from '../../meta/keys.js'
import { csrfMatches, findSession, type LiveSession } from '../../sessions/sessions.js'
import { readCookie, SESSION_COOKIE } from '../cookies.js'
import type { AuthDeps, Principal } from './auth.js'

/** Methods that change state: a cookie alone is not enough for them, the CSRF token must come too. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export const CSRF_HEADER = 'x-csrf-token'

/** The audit actor of a session of the local admin (a login link of `krafter-logs open`). */
export const CONSOLE_ACTOR = 'console'

/** The session the request's cookie names: undefined without a cookie; 401 when it names none that is live. */
export const sessionOfRequest = (deps: Pick<AuthDeps, 'meta' | 'clock' | 'teamId'>, request: FastifyRequest): LiveSession | undefined => {
  const id = readCookie(request, SESSION_COOKIE)
  if (id === undefined) return undefined
  const session = findSession(deps, deps.teamId, id)
  if (!session) throw new AppError('unauthorized', 'Invalid or expired session; sign in again')
  return session
}

/** 403 unless a state-changing request carries the session's CSRF token in X-CSRF-Token. */
export const assertCsrf = (request: FastifyRequest, session: LiveSession): void => {
  if (!STATE_CHANGING.has(request.method)) return
  const presented = request.headers[CSRF_HEADER]
  if (!csrfMatches(session, typeof presented === 'string' ? presented : undefined)) {
    throw new AppError('forbidden', 'Missing or wrong CSRF token: a request signed in by the session cookie that changes anything must send the X-CSRF-Token header that POST /sessions returned')
  }
}

export const principalOfSession = (session: LiveSession): Extract<Principal, { kind: 'team' }> =>
  session.key
    ? { kind: 'team', teamId: session.teamId, key: session.key, scopes: session.key.scopes, projectIds: session.key.project_ids, actor: session.key.prefix }
    : { kind: 'team', teamId: session.teamId, key: null, scopes: SCOPES, projectIds: null, actor: CONSOLE_ACTOR }

/**
 * A team route's principal from the browser session, used only when no token was presented (an
 * explicit token always wins over the cookie). It acts as its key, with the key's scopes and
 * projects; state-changing methods also need the CSRF token.
 */
export const sessionPrincipal = (deps: AuthDeps, request: FastifyRequest, now: Date): Principal | undefined => {
  const session = sessionOfRequest(deps, request)
  if (!session) return undefined
  assertCsrf(request, session)
  if (session.key) touchApiKey(deps.meta, session.key, now)
  return principalOfSession(session)
}
