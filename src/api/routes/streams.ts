import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { decodeJsonArray, decodeJsonEntry, isJsonArray } from '../../ingest/protocols/json.js'
import { decodeNdjson } from '../../ingest/protocols/ndjson.js'
import { ClaimInput } from '../../streams/claim.js'
import { MAX_STREAM_REQUEST_ENTRIES, TOKEN_PATTERN, TOKEN_RULE } from '../../streams/registry.js'
import type { AppContext } from '../app.js'
import { actorOf } from '../audit.js'
import { assertProjectAccess } from '../plugins/auth.js'
import { bodyOf, ingestBody, mediaType } from '../plugins/ingest-body.js'
import { ok } from '../respond.js'
import { NoQuery, write } from '../route-config.js'
import { AnonymousStreamClaim, AnonymousStreamInfo, envelope, errorResponses, IngestAnswer } from '../schemas/index.js'

const BODY_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines']
const ARRAY_TYPES = new Set(['application/json', 'application/jsonl'])
const open = { auth: { kind: 'none' } } as const
const TokenParams = z.object({ token: z.string().regex(TOKEN_PATTERN, TOKEN_RULE) }).strict()

/**
 * One entry (a JSON object: answered like POST /logs/ingest), a JSON array, or NDJSON (answered
 * like the batch endpoint); application/json that is not one JSON value is read as NDJSON.
 */
const streamBody = (request: FastifyRequest, body: Buffer) => {
  const type = mediaType(request)
  if (ARRAY_TYPES.has(type) && isJsonArray(body)) return { records: decodeJsonArray(body, MAX_STREAM_REQUEST_ENTRIES) }
  if (type === 'application/json') {
    try {
      return { one: decodeJsonEntry(body) }
    } catch {
      // Not one JSON value: lines of them, or nothing valid (decodeNdjson says which).
    }
  }
  return { records: decodeNdjson(body, MAX_STREAM_REQUEST_ENTRIES) }
}

/**
 * Anonymous streams (API.md): events and info take no token (the stream's token is the path,
 * rate-limited per client address); claim takes a team key with logs:write on the project.
 */
export const streamRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  const admit = (request: FastifyRequest) => deps.streams.admit(request.ip)

  await app.register(async (scope) => {
    ingestBody(scope, deps, { protocol: 'anonymous_stream', contentTypes: BODY_TYPES, rateLimit: admit })
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/streams/:token/events',
      { config: open, schema: { params: TokenParams, querystring: NoQuery, response: { 202: envelope(IngestAnswer), ...errorResponses } } },
      async (request, reply) => {
        const result = await deps.streams.ingest(request.params.token, streamBody(request, bodyOf(request)))
        return reply.status(202).send(ok(request, result))
      },
    )
  })

  await app.register(async (scope) => {
    const api = scope.withTypeProvider<ZodTypeProvider>()
    api.get(
      '/streams/:token/info',
      { config: open, onRequest: async (request) => admit(request), schema: { params: TokenParams, querystring: NoQuery, response: { 200: envelope(AnonymousStreamInfo), ...errorResponses } } },
      async (request) => ok(request, deps.streams.info(request.params.token)),
    )
    api.post(
      '/streams/claim',
      { config: write, schema: { body: ClaimInput, querystring: NoQuery, response: { 200: envelope(AnonymousStreamClaim), ...errorResponses } } },
      async (request) => {
        deps.streams.assertEnabled()
        const { teamId } = assertProjectAccess(request, request.body.project_id)
        return ok(request, await deps.claims.claim(teamId, request.body, actorOf(request)))
      },
    )
  })
}
