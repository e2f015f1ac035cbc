import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { AppError, notFound } from '../errors.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { ensureInstallSecret } from '../meta/install-state.js'
import { getProject } from '../meta/projects.js'
import { MAX_QUERY_LENGTH, parseQuery } from '../logs/query/parse.js'

/**
 * Viewer tokens (API.md "Viewer tokens and the embeddable viewer"): a JWT signed with HS256 by
 * a per-install secret, read-only, for one project, with an optional fixed filter. Nothing is
 * stored per token: the signature is the whole proof, so a token lives until its `exp` (at most
 * a day) and all of them end together if the install's secret (install_state
 * `viewer_token_key`) is deleted.
 */

export const VIEWER_ISSUER = 'krafter-logs'
export const EXPIRES_IN_MIN = 60
export const EXPIRES_IN_MAX = 86_400

const HEADER = { alg: 'HS256', typ: 'JWT' } as const
const SEGMENT = /^[A-Za-z0-9_-]+$/

/** What a viewer token says; `q` is the fixed filter, absent when there is none. */
export interface ViewerClaims {
  iss: typeof VIEWER_ISSUER
  team: string
  project: string
  q?: string
  exp: number
  iat: number
  jti: string
}

const Claims = z
  .object({
    iss: z.literal(VIEWER_ISSUER),
    team: z.string().min(1).max(64),
    project: z.uuid(),
    q: z.string().min(1).max(MAX_QUERY_LENGTH).optional(),
    exp: z.number().int().positive(),
    iat: z.number().int().positive(),
    jti: z.string().min(1).max(64),
  })
  .strict()

/**
 * A token that claims to be a viewer token by its shape: three base64url segments, the first a
 * JSON object (`{"` is `eyJ` in base64). Our other tokens (kr_live_, krl_live_, krx_local_)
 * can never look like this.
 */
export const looksLikeViewerToken = (token: string): boolean => {
  const parts = token.split('.')
  return parts.length === 3 && token.startsWith('eyJ') && parts.every((p) => SEGMENT.test(p))
}

const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
const mac = (secret: Buffer, signingInput: string): Buffer => createHmac('sha256', secret).update(signingInput, 'ascii').digest()

export const signViewerToken = (secret: Buffer, claims: ViewerClaims): string => {
  const signingInput = `${b64json(HEADER)}.${b64json(claims)}`
  return `${signingInput}.${mac(secret, signingInput).toString('base64url')}`
}

/** Every refusal says the same: which check failed is no business of the holder. */
const invalid = (): AppError => new AppError('unauthorized', 'Invalid or expired viewer token')

const decodeJson = (segment: string): unknown => {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

/**
 * The claims of a genuine, unexpired token of this team, or 401. The header must say HS256
 * (`none` and every other algorithm are refused before anything else), the signature is
 * compared in constant time before the payload is even parsed, and `exp` is checked against
 * the injected clock.
 */
export const verifyViewerToken = (secret: Buffer, token: string, expected: { teamId: string; now: Date }): ViewerClaims => {
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw invalid()
  const [header, payload, signature] = parts as [string, string, string]
  const head = decodeJson(header) as Record<string, unknown> | undefined
  if (!head || typeof head !== 'object' || head.alg !== HEADER.alg || (head.typ !== undefined && head.typ !== HEADER.typ)) throw invalid()
  const given = Buffer.from(signature, 'base64url')
  const wanted = mac(secret, `${header}.${payload}`)
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) throw invalid()
  const claims = Claims.safeParse(decodeJson(payload))
  if (!claims.success) throw invalid()
  if (claims.data.team !== expected.teamId) throw invalid()
  if (expected.now.getTime() >= claims.data.exp * 1000) throw invalid()
  return claims.data as ViewerClaims
}

export const viewerSecret = (db: MetaDb): Buffer => ensureInstallSecret(db, 'viewer_token_key')

export const ViewerTokenInput = z
  .object({
    project_id: z.uuid('must be a project id (UUID)'),
    expires_in: z
      .number({ error: `must be an integer from ${EXPIRES_IN_MIN} to ${EXPIRES_IN_MAX} (seconds)` })
      .int(`must be an integer from ${EXPIRES_IN_MIN} to ${EXPIRES_IN_MAX} (seconds)`)
      .min(EXPIRES_IN_MIN, `must be an integer from ${EXPIRES_IN_MIN} to ${EXPIRES_IN_MAX} (seconds)`)
      .max(EXPIRES_IN_MAX, `must be an integer from ${EXPIRES_IN_MIN} to ${EXPIRES_IN_MAX} (seconds)`)
      .default(3600),
    query: z.string().max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`).optional(),
  })
  .strict()
export type ViewerTokenInput = z.infer<typeof ViewerTokenInput>

export interface IssuedViewerToken {
  token: string
  expires_at: string
}

/** The fixed filter as the token will carry it: parsed now, so a bad one is the caller's 400 naming `query`. */
const fixedFilter = (query: string | undefined): string | undefined => {
  if (query === undefined || query.trim() === '') return undefined
  try {
    parseQuery(query)
  } catch (err) {
    if (err instanceof AppError && err.code === 'validation_error') {
      const message = err.details?.[0]?.message ?? err.message
      throw new AppError('validation_error', `Invalid query: ${message}`, { details: [{ field: 'query', message }] })
    }
    throw err
  }
  return query
}

/**
 * Issues a viewer token for a project of the team (the caller has checked that its key may
 * read it). Recorded in the audit log like any credential handed out, without the token.
 */
export const createViewerToken = (
  deps: { meta: MetaDb; clock: () => Date },
  teamId: string,
  input: ViewerTokenInput,
  by: Actor,
): IssuedViewerToken => {
  const q = fixedFilter(input.query)
  if (!getProject(deps.meta, teamId, input.project_id)) throw notFound('Project')
  const iat = Math.floor(deps.clock().getTime() / 1000)
  const claims: ViewerClaims = {
    iss: VIEWER_ISSUER,
    team: teamId,
    project: input.project_id,
    ...(q !== undefined ? { q } : {}),
    exp: iat + input.expires_in,
    iat,
    jti: randomBytes(16).toString('base64url'),
  }
  const token = signViewerToken(viewerSecret(deps.meta), claims)
  const expiresAt = new Date(claims.exp * 1000).toISOString()
  recordAction(deps, by, teamId, 'viewer_token.create', { type: 'project', id: input.project_id }, {
    jti: claims.jti,
    expires_at: expiresAt,
    query: q ?? null,
  })
  return { token, expires_at: expiresAt }
}
