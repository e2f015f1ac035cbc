import type { FastifyInstance } from 'fastify'
import { ingestRecords, MAX_PROTOCOL_RECORDS } from '../../ingest/pipeline.js'
import { decodeLokiJson, decodeLokiProtobuf, loadLokiSchema, lokiRefusal } from '../../ingest/protocols/loki.js'
import { inflateSnappy } from '../../ingest/snappy.js'
import type { AppContext } from '../app.js'
import { ingestOf } from '../plugins/auth.js'
import { bodyOf, ingestBody, mediaType } from '../plugins/ingest-body.js'
import { errorResponses, NoContent } from '../schemas/index.js'

const JSON_TYPE = 'application/json'
// Promtail and Alloy send application/x-protobuf; the body is always a snappy block.
const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf']
const SNAPPY = { name: 'snappy', inflate: inflateSnappy }

/**
 * Loki push (POST /loki/api/v1/push): API.md, "Standard ingest protocols". 204 once every
 * entry is stored; a push with refused entries stores the others and answers 400 naming the
 * refused ones, as Loki does (ingest/protocols/loki.ts, lokiRefusal). The tenant header
 * (X-Scope-OrgID) is ignored: the ingest token names the project.
 */
export const lokiRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  loadLokiSchema()
  ingestBody(app, deps, {
    protocol: 'loki',
    contentTypes: [JSON_TYPE, ...PROTOBUF_TYPES],
    impliedEncodings: Object.fromEntries(PROTOBUF_TYPES.map((type) => [type, SNAPPY])),
  })

  app.post(
    '/loki/api/v1/push',
    { config: { auth: { kind: 'ingest' } }, schema: { response: { 204: NoContent, ...errorResponses } } },
    async (request, reply) => {
      const body = bodyOf(request)
      const push = mediaType(request) === JSON_TYPE ? decodeLokiJson(body, MAX_PROTOCOL_RECORDS) : decodeLokiProtobuf(body, MAX_PROTOCOL_RECORDS)
      const result = await ingestRecords(deps.ingest, ingestOf(request).project, push.records, 'loki', { allErrors: true })
      if (result.rejected > 0) throw lokiRefusal(result, push)
      return reply.status(204).send()
    },
  )
}
