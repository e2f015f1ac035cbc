import { z } from 'zod'
import { createIngestToken, IngestTokenCreateInput, listIngestTokens, revokeIngestToken, type IngestTokenView } from '../access/ingest-tokens.js'
import { AppError, UserError } from '../errors.js'
import { allPages } from '../logs/paging.js'
import { CLI_ACTOR } from '../meta/audit.js'
import { parseInput } from '../validation.js'
import { IngestTokenCreatedAnswer, IngestTokenPageAnswer } from './answers.js'
import type { OpsContext } from './context.js'
import { viaServerOrLocal, type Via } from './engine-access.js'
import type { RuntimeInfo } from './runtime.js'
import { callServer, callServerAnswer } from './server-client.js'
import { projectByRef } from './projects.js'

/*
 * `project tokens list|create|revoke`. Through a running serve while it runs: it caches tokens
 * and the origins they allow (a revoked token must be refused on the very next request) and
 * holds their last use in memory; directly on the data dir otherwise.
 */

export interface TokenRequest {
  name: string
  expires_at?: string
  expires_in_days?: number
  /** Origins, each flag value possibly a comma list. */
  origins?: string[]
}

const serverPages = async (runtime: RuntimeInfo, projectId: string): Promise<IngestTokenView[]> => {
  const all: IngestTokenView[] = []
  let cursor: string | null = null
  do {
    const page: z.infer<typeof IngestTokenPageAnswer> = await callServerAnswer(
      runtime,
      'GET',
      `/logs/projects/${projectId}/tokens?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      IngestTokenPageAnswer,
    )
    all.push(...page.data)
    cursor = page.cursor
  } while (cursor)
  return all
}

/** `project tokens list`: every token of the project, revoked and expired ones included. */
export const listTokensNow = async (ctx: OpsContext, ref: string): Promise<IngestTokenView[]> => {
  const id = projectByRef(ctx, ref).id
  const { result } = await viaServerOrLocal(ctx, {
    server: (runtime) => serverPages(runtime, id),
    local: () => allPages((cursor) => listIngestTokens(ctx, ctx.team.id, id, { limit: 100, cursor })),
  })
  return result
}

/** `project tokens create`: as POST /logs/projects/:id/tokens, with the expiry in days if asked so. */
export const createTokenNow = async (ctx: OpsContext, ref: string, request: TokenRequest): Promise<IngestTokenView & { token: string; via: Via }> => {
  const input = parseInput(
    IngestTokenCreateInput,
    {
      name: request.name,
      expires_at: request.expires_at,
      expires_in: request.expires_in_days === undefined ? undefined : request.expires_in_days * 86_400,
      allowed_origins: request.origins?.flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean),
    },
    'token',
  )
  const id = projectByRef(ctx, ref).id
  const { result, via } = await viaServerOrLocal(ctx, {
    server: (runtime) => callServer(runtime, 'POST', `/logs/projects/${id}/tokens`, IngestTokenCreatedAnswer, input),
    local: () => createIngestToken(ctx, ctx.team.id, id, input, CLI_ACTOR),
  })
  return { ...result, via }
}

const TokenId = z.uuid('must be an ingest token id (UUID): see `krafter-logs project tokens list`')

/** `project tokens revoke`: the token is refused from the next request on (again: no change). */
export const revokeTokenNow = async (ctx: OpsContext, ref: string, tokenId: string): Promise<IngestTokenView & { via: Via }> => {
  const tokenIdValue = parseInput(z.object({ token_id: TokenId }), { token_id: tokenId }, 'token').token_id
  const project = projectByRef(ctx, ref)
  try {
    const { result, via } = await viaServerOrLocal(ctx, {
      server: async (runtime) => {
        await callServer(runtime, 'DELETE', `/logs/projects/${project.id}/tokens/${tokenIdValue}`, z.undefined())
        return (await serverPages(runtime, project.id)).find((t) => t.id === tokenIdValue)!
      },
      local: () => revokeIngestToken(ctx, ctx.team.id, project.id, tokenIdValue, CLI_ACTOR),
    })
    return { ...result, via }
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'not_found') throw err
    throw new UserError(`Project "${project.name}" has no ingest token ${tokenIdValue}.`, {
      code: 'not_found',
      suggestions: [`\`krafter-logs project tokens list ${JSON.stringify(project.name)}\` shows its tokens and their ids.`],
    })
  }
}
