import { z } from 'zod'
import { notFound, validationError } from '../errors.js'
import { decodeCursor, pageOf, textKey, type Page } from '../logs/paging.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import * as repo from '../meta/ingest-tokens.js'
import { getProject } from '../meta/projects.js'

/*
 * A project's ingest tokens (issue 17, docs/api.md "Ingest tokens of a project"): many per
 * project, each with a name, an optional expiry and the browser origins it may serve. The
 * primary token (project create, rotate_token) is one of them.
 */

export interface IngestTokenDeps {
  meta: MetaDb
  clock: () => Date
  /** serve's write-behind of last use: flushed before a listing, so it shows the latest. */
  tokenUse?: Pick<repo.TokenUseMeter, 'flush'>
}

export const MAX_ALLOWED_ORIGINS = 20
const ORIGIN_RULE = 'must be an origin: http or https, a host and an optional port, e.g. https://app.example.com (no path, query, fragment or wildcard)'
const WILDCARD_RULE = '"*" is not allowed: list each origin (scheme://host[:port]) the pages run on; a token any page may use is a token anyone may use'

/**
 * The origin as browsers send it in `Origin` (lower case, no default port), or undefined when
 * `value` is not exactly an http(s) origin. The URL parser accepts more than an origin (user
 * info, paths, `127.1`, non-ASCII hosts it rewrites), so what it makes must be what was written.
 */
export const normalizeOrigin = (value: string): string | undefined => {
  const lower = value.toLowerCase()
  if (!/^https?:\/\/[^/?#@\s\\*]+$/.test(lower)) return undefined
  let url: URL
  try {
    url = new URL(lower)
  } catch {
    return undefined
  }
  const defaultPort = url.protocol === 'https:' ? ':443' : ':80'
  return url.origin === lower || `${url.origin}${defaultPort}` === lower ? url.origin : undefined
}

const Origin = z
  .string({ error: ORIGIN_RULE })
  .max(300, 'must be at most 300 characters')
  .superRefine((value, ctx) => {
    if (value.includes('*')) ctx.addIssue({ code: 'custom', message: WILDCARD_RULE })
    else if (normalizeOrigin(value) === undefined) ctx.addIssue({ code: 'custom', message: ORIGIN_RULE })
  })

const MAX_EXPIRES_IN = 10 * 365 * 86_400

export const IngestTokenCreateInput = z
  .object({
    name: z.string({ error: 'must be 1 to 100 characters' }).trim().min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters'),
    expires_at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2027-01-31T00:00:00Z' }).nullable().optional(),
    expires_in: z
      .number({ error: `must be an integer number of seconds from 60 to ${MAX_EXPIRES_IN}` })
      .int(`must be an integer number of seconds from 60 to ${MAX_EXPIRES_IN}`)
      .min(60, `must be an integer number of seconds from 60 to ${MAX_EXPIRES_IN}`)
      .max(MAX_EXPIRES_IN, `must be an integer number of seconds from 60 to ${MAX_EXPIRES_IN}`)
      .optional(),
    allowed_origins: z
      .array(Origin, { error: 'must be a list of origins' })
      .max(MAX_ALLOWED_ORIGINS, `must list at most ${MAX_ALLOWED_ORIGINS} origins`)
      .default([]),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.expires_in !== undefined && input.expires_at != null) {
      ctx.addIssue({ code: 'custom', path: ['expires_in'], message: 'give expires_at or expires_in, not both' })
    }
  })
export type IngestTokenCreateInput = z.infer<typeof IngestTokenCreateInput>

export type IngestTokenStatus = 'active' | 'revoked' | 'expired'

/** The public shape of an ingest token: never the token or its hash. */
export interface IngestTokenView {
  id: string
  project_id: string
  name: string
  prefix: string
  /** The project's primary token: the one project create or the last rotate_token made. */
  primary: boolean
  allowed_origins: string[]
  created_at: string
  last_used_at: string | null
  expires_at: string | null
  revoked_at: string | null
  status: IngestTokenStatus
}

export const presentIngestToken = (token: repo.IngestToken, now: Date): IngestTokenView => ({
  id: token.id,
  project_id: token.project_id,
  name: token.name,
  prefix: token.prefix,
  primary: token.kind === 'primary',
  allowed_origins: token.allowed_origins,
  created_at: token.created_at,
  last_used_at: token.last_used_at,
  expires_at: token.expires_at,
  revoked_at: token.revoked_at,
  status: token.revoked_at ? 'revoked' : token.expires_at && Date.parse(token.expires_at) <= now.getTime() ? 'expired' : 'active',
})

const requireProject = (deps: IngestTokenDeps, teamId: string, projectId: string): void => {
  if (!getProject(deps.meta, teamId, projectId)) throw notFound('Project')
}

const requireToken = (deps: IngestTokenDeps, projectId: string, id: string): repo.IngestToken => {
  const token = repo.getIngestToken(deps.meta, projectId, id)
  if (!token) throw notFound('Ingest token')
  return token
}

export const createIngestToken = (
  deps: IngestTokenDeps,
  teamId: string,
  projectId: string,
  input: IngestTokenCreateInput,
  by: Actor,
): IngestTokenView & { token: string } => {
  requireProject(deps, teamId, projectId)
  const now = deps.clock()
  const expiresAt = input.expires_in !== undefined ? new Date(now.getTime() + input.expires_in * 1000) : input.expires_at ? new Date(input.expires_at) : null
  if (expiresAt && expiresAt.getTime() <= now.getTime()) throw validationError('expires_at', 'must be in the future')
  const allowedOrigins = [...new Set(input.allowed_origins.map((o) => normalizeOrigin(o)!))]
  const { token, secret } = repo.insertIngestToken(
    deps.meta,
    projectId,
    { kind: 'named', name: input.name, expiresAt: expiresAt?.toISOString() ?? null, allowedOrigins },
    now,
  )
  recordAction(deps, by, teamId, 'ingest_token.create', { type: 'ingest_token', id: token.id }, {
    project_id: projectId,
    name: token.name,
    prefix: token.prefix,
    expires_at: token.expires_at,
    allowed_origins: token.allowed_origins,
  })
  return { ...presentIngestToken(token, now), token: secret }
}

export const listIngestTokens = (
  deps: IngestTokenDeps,
  teamId: string,
  projectId: string,
  options: { limit: number; cursor?: string },
): Page<IngestTokenView> => {
  requireProject(deps, teamId, projectId)
  deps.tokenUse?.flush()
  const after = options.cursor ? decodeCursor(options.cursor, textKey('at', 'id')) : undefined
  const rows = repo.listIngestTokens(deps.meta, projectId, { limit: options.limit + 1, after })
  const now = deps.clock()
  return pageOf(rows, options.limit, (last) => ({ at: last.created_at, id: last.id }), (row) => presentIngestToken(row, now))
}

/**
 * Revokes a token: the next request with it is refused like an unknown token. Revoking a revoked
 * token changes nothing and is recorded too (someone asked). Revoking the primary leaves the
 * project without one until rotate_token issues the next.
 */
export const revokeIngestToken = (deps: IngestTokenDeps, teamId: string, projectId: string, id: string, by: Actor): IngestTokenView => {
  requireProject(deps, teamId, projectId)
  const token = requireToken(deps, projectId, id)
  repo.revokeIngestToken(deps.meta, projectId, id, deps.clock())
  recordAction(deps, by, teamId, 'ingest_token.revoke', { type: 'ingest_token', id }, { project_id: projectId, name: token.name, prefix: token.prefix })
  return presentIngestToken(requireToken(deps, projectId, id), deps.clock())
}
