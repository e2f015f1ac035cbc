import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { ingestRecords } from '../../ingest/pipeline.js'
import { decodeOtlpLogs, encodeOtlpResponse, otlpJsonResponse, partialSuccessOf } from '../../ingest/protocols/otlp.js'
import { otlpSchema } from '../../ingest/protocols/otlp-schema.js'
import type { AppContext } from '../app.js'
import { ingestOf } from '../plugins/auth.js'
import { answerPreflights } from '../plugins/cors.js'
import { ingestBody, mediaType } from '../plugins/ingest-body.js'
import { errorResponses } from '../schemas/envelope.js'
import { OtlpExportLogsResponse } from '../schemas/otlp.js'

const PROTOBUF_TYPES = ['application/x-protobuf', 'application/protobuf']
const JSON_TYPES = ['application/json']
const EMPTY = Buffer.alloc(0)

/**
 * OTLP/HTTP logs (POST /v1/logs, /otlp/v1/logs): API.md, "Standard ingest protocols". Decode
 * (protocols/otlp.ts) → the shared pipeline → ExportLogsServiceResponse in the request's
 * encoding, with partial_success naming the refused records. Body bytes, gzip, the size and
 * rate limits and the metrics are ingestBody's; auth is the project ingest token.
 */
export const otlpRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  // Read the vendored .proto files now: a package without them fails at startup, not on the first export.
  otlpSchema()
  // A browser endpoint too: OpenTelemetry's browser SDK exports logs with fetch (plugins/cors.ts).
  ingestBody(app, deps, { protocol: 'otlp', contentTypes: [...PROTOBUF_TYPES, ...JSON_TYPES], browser: true })
  answerPreflights(app, deps, ['/v1/logs', '/otlp/v1/logs'])
  // Any other Content-Type: a 415 that says what these routes take.
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(new AppError('unsupported_media_type', 'Unsupported Content-Type: OTLP/HTTP takes application/x-protobuf or application/json'), undefined)
  })

  const exportLogs = async (request: FastifyRequest, reply: FastifyReply) => {
    const type = mediaType(request)
    const protobuf = PROTOBUF_TYPES.includes(type)
    // An empty protobuf body is a valid (empty) ExportLogsServiceRequest.
    const payload = decodeOtlpLogs((request.body as Buffer | undefined) ?? EMPTY, protobuf ? 'protobuf' : 'json')
    const result = payload.records.length > 0 ? await ingestRecords(deps.ingest, ingestOf(request).project, payload.records, 'otlp') : undefined
    const partial = partialSuccessOf(payload, result)
    if (protobuf) return reply.status(200).type(type).send(encodeOtlpResponse(partial))
    return reply.status(200).send(otlpJsonResponse(partial))
  }

  const options = { config: { auth: { kind: 'ingest' } } as const, schema: { response: { 200: OtlpExportLogsResponse, ...errorResponses } } }
  app.post('/v1/logs', options, exportLogs)
  app.post('/otlp/v1/logs', options, exportLogs)
}
