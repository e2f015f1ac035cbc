import { z } from 'zod'
import { AppError, notFound } from '../errors.js'
import { decodeCursor, pageOf, textKey, type Page } from '../logs/paging.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import * as repo from '../meta/keys.js'
import { getProject } from '../meta/projects.js'
import { deleteSessionsOfKey } from '../meta/sessions.js'

export interface KeyDeps {
  meta: MetaDb
  clock: () => Date
}

/**
 * Who is creating or revoking: a key can hand out at most the scopes it has. Key management
 * spans the team, so only unlimited keys get here (the routes refuse keys limited to projects).
 */
export interface Grantor {
  teamId: string
  scopes: readonly repo.Scope[]
  keyId: string | null
}

export const KeyCreateInput = z
  .object({
    name: z.string().trim().min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters'),
    scopes: z
      .array(z.enum(repo.SCOPES, { error: `must be among ${repo.SCOPES.join(', ')}` }))
      .min(1, `must list at least one of ${repo.SCOPES.join(', ')}`)
      .max(repo.SCOPES.length),
    project_ids: z.array(z.uuid('must be project ids (UUID)')).min(1, 'must list at least one project, or be null for all').max(1000).nullable().optional(),
    expires_at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2027-01-31T00:00:00Z' }).nullable().optional(),
  })
  .strict()
export type KeyCreateInput = z.infer<typeof KeyCreateInput>

export type KeyStatus = 'active' | 'revoked' | 'expired'
export type KeyView = Omit<repo.ApiKey, 'team_id'> & { status: KeyStatus }

export const presentKey = (key: repo.ApiKey, now: Date): KeyView => {
  const { team_id: _team, ...rest } = key
  const status: KeyStatus = key.revoked_at ? 'revoked' : key.expires_at && Date.parse(key.expires_at) <= now.getTime() ? 'expired' : 'active'
  return { ...rest, status }
}

const invalid = (field: string, message: string) => new AppError('validation_error', `Invalid ${field}: ${message}`, { details: [{ field, message }] })

export const createKey = (deps: KeyDeps, grantor: Grantor, input: KeyCreateInput, by: Actor): KeyView & { key: string } => {
  const now = deps.clock()
  const scopes = [...new Set(input.scopes)]
  const missing = scopes.filter((s) => !grantor.scopes.includes(s))
  if (missing.length > 0) throw new AppError('forbidden', `A key cannot grant scopes it lacks itself: ${missing.join(', ')}`)
  const projectIds = input.project_ids ? [...new Set(input.project_ids)] : null
  for (const [i, id] of (projectIds ?? []).entries()) {
    if (!getProject(deps.meta, grantor.teamId, id)) throw invalid(`project_ids.${i}`, 'is not a project of this team')
  }
  if (input.expires_at && Date.parse(input.expires_at) <= now.getTime()) throw invalid('expires_at', 'must be in the future')
  const { key, token } = repo.createApiKey(
    deps.meta,
    {
      teamId: grantor.teamId,
      name: input.name,
      scopes,
      projectIds,
      expiresAt: input.expires_at ? new Date(input.expires_at).toISOString() : null,
    },
    now,
  )
  recordAction(deps, by, grantor.teamId, 'key.create', { type: 'api_key', id: key.id }, { name: key.name, prefix: key.prefix, scopes: key.scopes, project_ids: key.project_ids })
  return { ...presentKey(key, now), key: token }
}

export const listKeys = (deps: KeyDeps, teamId: string, options: { limit: number; cursor?: string }): Page<KeyView> => {
  const after = options.cursor ? decodeCursor(options.cursor, textKey('at', 'id')) : undefined
  const rows = repo.listApiKeys(deps.meta, teamId, { limit: options.limit + 1, after })
  const now = deps.clock()
  return pageOf(rows, options.limit, (last) => ({ at: last.created_at, id: last.id }), (k) => presentKey(k, now))
}

/**
 * Revokes a key; the next request with it is refused (keys are looked up on every request).
 * The team's last unrestricted admin key stays: without it nobody could manage keys over the
 * API (the CLI on the machine still can).
 */
export const revokeKey = (deps: KeyDeps, grantor: Grantor, id: string, by: Actor): KeyView => {
  const now = deps.clock()
  const key = repo.getApiKey(deps.meta, grantor.teamId, id)
  if (!key) throw notFound('API key')
  if (!key.revoked_at) {
    const isAdmin = key.scopes.includes('admin') && key.project_ids === null
    const active = !key.expires_at || Date.parse(key.expires_at) > now.getTime()
    if (isAdmin && active && repo.otherActiveAdminKeys(deps.meta, grantor.teamId, key.id, now) === 0) {
      throw new AppError('conflict', 'This is the last active admin key of the team; create another admin key before revoking it', {
        details: [{ field: 'id', message: 'is the last active admin key' }],
      })
    }
    repo.revokeApiKey(deps.meta, key.id, now)
  }
  // Its browser sessions end with it (each request checks the key too; this drops them at once).
  deleteSessionsOfKey(deps.meta, key.id)
  // Revoking a revoked key is recorded too (a no-op, but someone asked for it).
  recordAction(deps, by, grantor.teamId, 'key.revoke', { type: 'api_key', id: key.id }, { prefix: key.prefix })
  return presentKey(repo.getApiKey(deps.meta, grantor.teamId, id)!, now)
}
