import { createKey, KeyCreateInput, listKeys, revokeKey, type Grantor, type KeyView } from '../access/keys.js'
import { allPages } from '../logs/paging.js'
import { CLI_ACTOR } from '../meta/audit.js'
import { SCOPES } from '../meta/keys.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'
import { projectByRef } from './projects.js'

/** The CLI on this machine may grant every scope, as the local admin of serve may. */
const cliGrantor = (ctx: OpsContext): Grantor => ({ teamId: ctx.team.id, scopes: SCOPES, keyId: null })

export interface KeyRequest {
  name: string
  scopes: string[]
  /** Project ids or exact names; none: all projects. */
  projects?: string[]
  expires_at?: string
  expires_in_days?: number
}

/** `keys create`: as POST /keys, with projects named by id or name and an expiry in days. */
export const createKeyNow = (ctx: OpsContext, request: KeyRequest): KeyView & { key: string } => {
  const expiresAt =
    request.expires_at ??
    (request.expires_in_days ? new Date(ctx.clock().getTime() + request.expires_in_days * 86_400_000).toISOString() : undefined)
  const input = parseInput(
    KeyCreateInput,
    {
      name: request.name,
      scopes: request.scopes,
      project_ids: request.projects?.map((p) => projectByRef(ctx, p).id),
      expires_at: expiresAt,
    },
    'key',
  )
  return createKey(ctx, cliGrantor(ctx), input, CLI_ACTOR)
}

export const revokeKeyNow = (ctx: OpsContext, id: string): KeyView => revokeKey(ctx, cliGrantor(ctx), id, CLI_ACTOR)

export const allKeys = (ctx: OpsContext): KeyView[] => allPages((cursor) => listKeys(ctx, ctx.team.id, { limit: 100, cursor }))
