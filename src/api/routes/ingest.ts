import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ingestOne, ingestRecords, MAX_BATCH_ENTRIES } from '../../ingest/pipeline.js'
import { decodeJsonArray, decodeJsonEntry, isJsonArray } from '../../ingest/protocols/json.js'
import { decodeNdjson } from '../../ingest/protocols/ndjson.js'
import type { AppContext } from '../app.js'
import { ingestOf } from '../plugins/auth.js'
import { answerPreflights } from '../plugins/cors.js'
import { bodyOf, ingestBody, mediaType } from '../plugins/ingest-body.js'
import { ok } from '../respond.js'
import { envelope, errorResponses, IngestAnswer } from '../schemas/index.js'

// text/plain: what navigator.sendBeacon sends a string as (it cannot set a type a preflight would
// guard), read as JSON here and as NDJSON or a JSON array on /batch.
const BODY_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'text/plain']
// Types whose body is read as one JSON array when it starts with `[` (jsonl too, as it always was).
const ARRAY_TYPES = new Set(['application/json', 'application/jsonl', 'text/plain'])

const batchRecords = (request: FastifyRequest, body: Buffer) =>
  ARRAY_TYPES.has(mediaType(request)) && isJsonArray(body) ? decodeJsonArray(body, MAX_BATCH_ENTRIES) : decodeNdjson(body, MAX_BATCH_ENTRIES)

/**
 * Ingest API (project ingest tokens only): API.md's own JSON and NDJSON. A bad line never
 * costs the good ones. Browsers may call it (plugins/cors.ts): preflights, and CORS headers for
 * the origins a token lists.
 */
export const ingestRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  ingestBody(app, deps, { protocol: 'json', contentTypes: BODY_TYPES, browser: true })
  const config = { auth: { kind: 'ingest' } } as const
  answerPreflights(app, deps, ['/logs/ingest', '/logs/ingest/batch'])

  app.post('/logs/ingest', { config, schema: { response: { 202: envelope(IngestAnswer), ...errorResponses } } }, async (request, reply) => {
    const result = await ingestOne(deps.ingest, ingestOf(request).project, decodeJsonEntry(bodyOf(request)), 'json')
    return reply.status(202).send(ok(request, result))
  })

  app.post('/logs/ingest/batch', { config, schema: { response: { 202: envelope(IngestAnswer), ...errorResponses } } }, async (request, reply) => {
    const result = await ingestRecords(deps.ingest, ingestOf(request).project, batchRecords(request, bodyOf(request)), 'json')
    return reply.status(202).send(ok(request, result))
  })
}
