import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import type { MetaDb } from '../../meta/db.js'
import { findActiveApiKey, touchApiKey, SCOPES, type ApiKey, type Scope } from '../../meta/keys.js'
import type { Project } from '../../meta/projects.js'
import { findLiveIngestToken, type TokenUseMeter } from '../../meta/ingest-tokens.js'
import { hashToken, hashesEqual, tokenKind } from '../../security/tokens.js'
import { TokenBucketLimiter } from '../../security/rate-limit.js'
import type { Config } from '../../config/config.js'
import { sessionPrincipal } from './session-auth.js'
import { looksLikeViewerToken, verifyViewerToken, viewerSecret } from '../../viewer/tokens.js'

/**
 * What a route takes; declared once per route in its `config.auth`. `teamWide`: the route acts
 * on the whole team (keys, audit, backups), so keys limited to projects are refused. `viewer`:
 * the route also takes a viewer token (a read of one project's entries; routes/reads.ts applies
 * its project and fixed filter).
 */
export type RouteAuth =
  | { kind: 'none' }
  | { kind: 'team'; scope: Scope; teamWide?: boolean; openOnLoopback?: boolean; viewer?: boolean }
  | { kind: 'ingest' }

/** Routes without a declaration: forgetting is never open. */
const UNDECLARED: RouteAuth = { kind: 'team', scope: 'admin', teamWide: true }

export interface RouteEntry {
  method: string
  url: string
  auth: RouteAuth
}

export type Principal =
  | {
      kind: 'team'
      teamId: string
      /** null for the local admin token of a running serve (the CLI). */
      key: ApiKey | null
      scopes: readonly Scope[]
      /** null: all projects of the team. */
      projectIds: string[] | null
      actor: string
    }
  /** `tokenId` and `allowedOrigins`: the token's own (many per project, docs/api.md "Ingest tokens of a project"). */
  | { kind: 'ingest'; project: Project; tokenHash: string; tokenId: string; allowedOrigins: readonly string[] }
  /** A viewer token (src/viewer/tokens.ts): reads of one project, narrowed by `q` when it has one. */
  | { kind: 'viewer'; teamId: string; projectId: string; q: string | undefined }

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth
  }
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyInstance {
    /** Every route with the auth it declares: for docs and the security tests. */
    routeTable: RouteEntry[]
    /**
     * Rethrows an authentication error, counting an `unauthorized` one against the client
     * address's failure bucket (429 once it is empty): for routes that check a credential
     * themselves (POST /sessions, a login link).
     */
    refuseAuthentication(request: FastifyRequest, err: unknown): never
  }
}

export interface AuthDeps {
  meta: MetaDb
  teamId: string
  clock: () => Date
  config: Pick<Config, 'server'>
  /** SHA-256 of the per-process local admin token that `serve` hands to the CLI (serve.json). */
  localAdminTokenHash?: string
  /** Records each ingest token's last use (written behind); none: not recorded. */
  tokenUse?: Pick<TokenUseMeter, 'touch'>
}

export const LOCAL_ADMIN_PREFIX = 'krx_local_'

/**
 * Token from the Authorization header, `X-API-KEY` or `?api_key=`, in that order. Team routes
 * take `Bearer`; ingest routes also take what shippers send (API.md): `ApiKey <token>` and
 * HTTP Basic with the token as password, any user name.
 */
const presentedToken = (request: FastifyRequest, kind: 'team' | 'ingest'): string | undefined => {
  const header = request.headers.authorization
  if (typeof header === 'string' && header.length > 0) return fromAuthorization(header, kind)
  const apiKeyHeader = request.headers['x-api-key']
  if (typeof apiKeyHeader === 'string' && apiKeyHeader.length > 0) return apiKeyHeader.trim()
  const query = request.query as Record<string, unknown> | undefined
  if (query && typeof query.api_key === 'string' && query.api_key.length > 0) return query.api_key
  return undefined
}

const fromAuthorization = (header: string, kind: 'team' | 'ingest'): string => {
  const match = /^([A-Za-z]+)\s+(\S+)\s*$/.exec(header)
  const scheme = match?.[1]!.toLowerCase()
  if (scheme === 'bearer') return match![2]!
  if (kind === 'ingest') {
    if (scheme === 'apikey') return apiKeyValue(match![2]!)
    const password = scheme === 'basic' ? basicPassword(match![2]!) : undefined
    if (password) return password
  }
  throw new AppError(
    'unauthorized',
    kind === 'team'
      ? 'Malformed Authorization header; expected "Bearer <token>"'
      : 'Malformed Authorization header; expected "Bearer <token>", "ApiKey <token>" or Basic with the token as password',
  )
}

/**
 * `ApiKey <token>`, or Elasticsearch's own form `ApiKey base64(<id>:<key>)` that Filebeat,
 * Logstash and the Elasticsearch clients send for an `id:key` setting: the token is the key.
 */
const apiKeyValue = (value: string): string => (value.includes('_') ? value : (basicPassword(value) ?? value))

/** The password of Basic credentials (base64 of `user:password`), or undefined when they are malformed or it is empty. */
const basicPassword = (credentials: string): string | undefined => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return undefined
  const decoded = Buffer.from(credentials, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon === -1 || colon === decoded.length - 1 ? undefined : decoded.slice(colon + 1)
}

const WANTS = {
  team: 'This endpoint takes a team API key (kr_live_…)',
  ingest: 'This endpoint takes a project ingest token (krl_live_…)',
}

const invalid = (kind: 'team' | 'ingest'): AppError =>
  new AppError('unauthorized', kind === 'team' ? 'Invalid API key' : 'Invalid ingest token')

/** A team key (or the local admin token) → its principal; throws `unauthorized` for anything else. */
export const authenticateTeam = (deps: AuthDeps, token: string, now: Date): Principal => {
  if (deps.localAdminTokenHash && token.startsWith(LOCAL_ADMIN_PREFIX)) {
    if (!hashesEqual(hashToken(token), deps.localAdminTokenHash)) throw invalid('team')
    return { kind: 'team', teamId: deps.teamId, key: null, scopes: SCOPES, projectIds: null, actor: 'cli' }
  }
  const kind = tokenKind(token)
  if (kind === 'ingest') {
    throw new AppError('unauthorized', `${WANTS.team}; ingest tokens (krl_live_…) are accepted only by the ingest endpoints`)
  }
  if (kind === null && looksLikeViewerToken(token)) throw new AppError('unauthorized', `${WANTS.team}; ${VIEWER_ONLY}`)
  const key = kind === 'team' ? findActiveApiKey(deps.meta, token, now) : undefined
  if (!key || key.team_id !== deps.teamId) throw invalid('team')
  touchApiKey(deps.meta, key, now)
  return { kind: 'team', teamId: key.team_id, key, scopes: key.scopes, projectIds: key.project_ids, actor: key.prefix }
}

const authenticateIngest = (deps: AuthDeps, token: string, now: Date): Principal => {
  const kind = tokenKind(token)
  if (kind === 'team' || token.startsWith(LOCAL_ADMIN_PREFIX)) {
    throw new AppError('unauthorized', `${WANTS.ingest}; team API keys (kr_live_…) cannot send logs`)
  }
  const live = kind === 'ingest' ? findLiveIngestToken(deps.meta, token, now) : undefined
  if (!live || live.project.team_id !== deps.teamId) throw invalid('ingest')
  deps.tokenUse?.touch(live.tokenId, now)
  return { kind: 'ingest', project: live.project, tokenHash: hashToken(token), tokenId: live.tokenId, allowedOrigins: live.allowedOrigins }
}

const VIEWER_ONLY = 'viewer tokens are accepted only by search, stats, tail, context, facets and patterns'

/**
 * The viewer token of a request to a route that takes one, or undefined when the request brings
 * another credential (then the team path goes on as for any route). `?token=` is where the embed
 * page's EventSource puts it (it cannot set headers); it is always removed from the query so
 * route schemas never see it, and it takes viewer tokens only (API keys go in headers, where
 * URLs and their logs never show them).
 */
const viewerTokenOf = (request: FastifyRequest, presented: string | undefined): string | undefined => {
  const query = request.query as Record<string, unknown> | undefined
  const inQuery = query?.token
  if (query && 'token' in query) delete query.token
  if (presented !== undefined) return looksLikeViewerToken(presented) ? presented : undefined
  if (typeof inQuery !== 'string' || inQuery === '') return undefined
  if (!looksLikeViewerToken(inQuery)) throw new AppError('unauthorized', 'The token parameter takes a viewer token; send API keys as "Authorization: Bearer <token>"')
  return inQuery
}

const authenticateViewer = (deps: AuthDeps, token: string, now: Date): Principal => {
  const claims = verifyViewerToken(viewerSecret(deps.meta), token, { teamId: deps.teamId, now })
  return { kind: 'viewer', teamId: claims.team, projectId: claims.project, q: claims.q }
}

/**
 * One onRequest hook for every route: reads the route's declared `config.auth`, authenticates
 * the token, checks the scope, and strips `api_key` from the query so route schemas never see
 * it. Routes without a declaration require an unlimited admin key: forgetting is never open.
 */
export const registerAuth = (app: FastifyInstance, deps: AuthDeps): void => {
  app.decorateRequest('principal', null)
  const routeTable: RouteEntry[] = []
  app.decorate('routeTable', routeTable)
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      routeTable.push({ method, url: route.url, auth: route.config?.auth ?? UNDECLARED })
    }
  })
  // Failed authentications per client address. The token is always checked first: a valid one
  // is never refused for other requests' failures (one stale shipper must not lock out its
  // host), and an empty bucket only turns a failure's 401 into a 429. Every presented token gets
  // the same lookup by hash whatever the bucket holds, so a guess at the limit costs what it
  // costs below it and its answer says no more. Guessing is hopeless anyway (~165 bits); the
  // 429 tells a misconfigured or hostile client to back off.
  const failures = new TokenBucketLimiter(
    deps.config.server.auth_failures_per_minute / 60,
    deps.config.server.auth_failure_burst,
    () => deps.clock().getTime(),
  )
  const refuse = (request: FastifyRequest, err: unknown): never => {
    if (err instanceof AppError && err.code === 'unauthorized') {
      const wait = failures.take(request.ip)
      if (wait > 0) {
        throw new AppError('rate_limited', `Too many failed authentications from this address; retry in ${wait} s`, {
          headers: { 'retry-after': String(wait) },
        })
      }
    }
    throw err
  }
  app.decorate('refuseAuthentication', refuse)
  app.addHook('onRequest', async (request) => {
    const query = request.query as Record<string, unknown> | undefined
    // An unknown route is the 404 handler's, whatever token came: nothing to authenticate, and
    // never a failure (API.md not_found).
    const auth: RouteAuth = request.is404 ? { kind: 'none' } : (request.routeOptions.config.auth ?? UNDECLARED)
    if (auth.kind === 'none' || (auth.kind === 'team' && auth.openOnLoopback && fromLoopback(request))) {
      if (query && 'api_key' in query) delete query.api_key
      return
    }
    let token: string | undefined
    try {
      token = presentedToken(request, auth.kind)
    } catch (err) {
      refuse(request, err)
    }
    if (query && 'api_key' in query) delete query.api_key
    if (auth.kind === 'team' && auth.viewer) {
      try {
        const viewerToken = viewerTokenOf(request, token)
        if (viewerToken !== undefined) {
          request.principal = authenticateViewer(deps, viewerToken, deps.clock())
          return
        }
      } catch (err) {
        refuse(request, err)
      }
    }
    const now = deps.clock()
    try {
      // Without a token, a team route takes the browser session cookie (session-auth.ts).
      request.principal = token
        ? auth.kind === 'ingest' ? authenticateIngest(deps, token, now) : authenticateTeam(deps, token, now)
        : auth.kind === 'team' ? (sessionPrincipal(deps, request, now) ?? null) : null
    } catch (err) {
      refuse(request, err)
    }
    // No token at all is a client set up wrong, not a guess: it does not count as a failure.
    if (!request.principal) throw new AppError('unauthorized', `Missing token. ${WANTS[auth.kind]}: send it as "Authorization: Bearer <token>"`)
    if (auth.kind !== 'team') return
    const principal = teamOf(request)
    if (!principal.scopes.includes(auth.scope)) throw new AppError('forbidden', `This API key lacks the ${auth.scope} scope`)
    if (auth.teamWide) assertUnlimited(request)
  })
}

/**
 * A request straight from this machine: the socket's peer is a loopback address and no proxy
 * speaks for someone else (a reverse proxy on the same host forwards remote clients from
 * 127.0.0.1, and those must authenticate).
 */
const fromLoopback = (request: FastifyRequest): boolean => {
  const peer = request.socket.remoteAddress ?? ''
  const loopback = peer === '::1' || /^(::ffff:)?127\./.test(peer)
  return loopback && request.headers['x-forwarded-for'] === undefined && request.headers.forwarded === undefined
}

/** The team principal of an authenticated team route (the hook guarantees it). */
export const teamOf = (request: FastifyRequest): Extract<Principal, { kind: 'team' }> => {
  const p = request.principal
  if (!p || p.kind !== 'team') throw new AppError('unauthorized', WANTS.team)
  return p
}

/** The project and token of an authenticated ingest route (the hook guarantees it). */
export const ingestOf = (request: FastifyRequest): Extract<Principal, { kind: 'ingest' }> => {
  const p = request.principal
  if (!p || p.kind !== 'ingest') throw new AppError('unauthorized', WANTS.ingest)
  return p
}

/** Refuses keys limited to other projects, the same whether or not the project exists. */
export const assertProjectAccess = (request: FastifyRequest, projectId: string): Extract<Principal, { kind: 'team' }> => {
  const principal = teamOf(request)
  if (principal.projectIds && !principal.projectIds.includes(projectId)) {
    throw new AppError('forbidden', 'This API key is not allowed to access this project')
  }
  return principal
}

/** Team-wide operations (keys, audit, backups, all projects at once) need a key not limited to projects. */
export const assertUnlimited = (request: FastifyRequest): Extract<Principal, { kind: 'team' }> => {
  const principal = teamOf(request)
  if (principal.projectIds) {
    throw new AppError('forbidden', 'This operation covers the whole team: it needs an unlimited API key (one not limited to projects)')
  }
  return principal
}
