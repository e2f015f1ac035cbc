import { performance } from 'node:perf_hooks'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { ingestRecords, MAX_PROTOCOL_RECORDS } from '../../ingest/pipeline.js'
import { bulkAnswer, decodeBulk } from '../../ingest/protocols/elasticsearch.js'
import { ACKNOWLEDGED, catHealth, catText, clusterHealth, clusterInfo, licenseInfo } from '../../ingest/protocols/elasticsearch-cluster.js'
import type { AppContext } from '../app.js'
import { ingestOf } from '../plugins/auth.js'
import { sendError } from '../plugins/errors.js'
import { bodyOf, ingestBody } from '../plugins/ingest-body.js'
import { errorResponses } from '../schemas/index.js'
import {
  EsAcknowledged,
  EsBulkQuery,
  EsBulkResponse,
  EsCatHealth,
  EsCatQuery,
  EsClusterHealth,
  EsClusterInfo,
  EsIndexParams,
  EsLicense,
  EsNameParams,
  EsQuery,
} from '../schemas/elasticsearch.js'

/** What Elasticsearch's clients send a bulk body as (the JS client 8: the compatible-with types). */
const BULK_TYPES = ['application/x-ndjson', 'application/json', 'application/vnd.elasticsearch+x-ndjson', 'application/vnd.elasticsearch+json']
const config = { auth: { kind: 'ingest' } } as const

/**
 * Elasticsearch bulk ingest at /es (API.md, "Standard ingest protocols"): point a client or
 * shipper at `http://host:port/es` with the project's ingest token (`ApiKey`, or Basic with the
 * token as password). Every answer under /es carries `X-Elastic-Product: Elasticsearch`, which
 * the official clients, Logstash and Beats require of the server.
 */
export const elasticsearchRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  await app.register(
    async (es) => {
      es.addHook('onSend', (_request, reply, payload, done) => {
        void reply.header('x-elastic-product', 'Elasticsearch')
        done(null, payload)
      })
      // The lookups shippers make before creating a template, policy or data stream end here:
      // none is kept, and a 404 is how Elasticsearch says "not there yet".
      es.setNotFoundHandler((request, reply) =>
        sendError(reply, request, new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0]} (nothing but the bulk API and the calls shippers make before it is answered under /es)`)),
      )
      await es.register(bulkRoutes, deps)
      await es.register(clusterRoutes, deps)
    },
    { prefix: '/es' },
  )
}

/** POST|PUT /_bulk and /{index}/_bulk: the ingest scope (bytes, gzip, size and rate limits, metrics). */
const bulkRoutes = async (scope: FastifyInstance, deps: AppContext): Promise<void> => {
  ingestBody(scope, deps, { protocol: 'elasticsearch', contentTypes: BULK_TYPES })
  const bulk = async (request: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now()
    const { index } = (request.params ?? {}) as { index?: string }
    const { records, items } = decodeBulk(bodyOf(request), index, MAX_PROTOCOL_RECORDS)
    const result = await ingestRecords(deps.ingest, ingestOf(request).project, records, 'elasticsearch', { allErrors: true })
    return reply.send(bulkAnswer(items, result, Math.round(performance.now() - started)))
  }
  const response = { 200: EsBulkResponse, ...errorResponses }
  scope.route({ method: ['POST', 'PUT'], url: '/_bulk', config, schema: { querystring: EsBulkQuery, response }, handler: bulk })
  scope.route({ method: ['POST', 'PUT'], url: '/:index/_bulk', config, schema: { params: EsIndexParams, querystring: EsBulkQuery, response }, handler: bulk })
}

/**
 * The calls shippers make before they send, answered as Elasticsearch does (see
 * elasticsearch-cluster.ts); not ingest requests, so neither rate-limited nor counted as such.
 */
const clusterRoutes = async (scope: FastifyInstance, deps: AppContext): Promise<void> => {
  const startedAt = deps.clock()
  // Template, policy and data stream bodies are acknowledged unread, whatever their type or encoding.
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.config.server.body_limit_mb * 1024 * 1024 }, (_request, _body, done) => done(null, undefined))
  const storing = async () => (await deps.engine.ping()) && !deps.ingest.batcher.failingSince()

  scope.get('/', { config, schema: { querystring: EsQuery, response: { 200: EsClusterInfo, ...errorResponses } } }, async (request) =>
    clusterInfo(ingestOf(request).project.id, startedAt),
  )
  scope.get('/_license', { config, schema: { querystring: EsQuery, response: { 200: EsLicense, ...errorResponses } } }, async (request) => {
    const { project } = ingestOf(request)
    return licenseInfo(project.id, new Date(project.created_at))
  })
  scope.get('/_cluster/health', { config, schema: { querystring: EsQuery, response: { 200: EsClusterHealth, ...errorResponses } } }, async () => clusterHealth(await storing()))
  scope.get('/_cat/health', { config, schema: { querystring: EsCatQuery, response: { 200: EsCatHealth, ...errorResponses } } }, async (request, reply) => {
    const { v, format } = request.query as { v?: string; format?: string }
    const row = catHealth(await storing(), deps.clock())
    if (format === 'json') return [row]
    return reply.type('text/plain; charset=UTF-8').send(catText(row, v !== undefined && v !== 'false'))
  })
  for (const url of ['/_index_template/:name', '/_ilm/policy/:name', '/_data_stream/:name']) {
    scope.route({ method: url.startsWith('/_index_template') ? ['PUT', 'POST'] : ['PUT'], url, config, schema: { params: EsNameParams, querystring: EsQuery, response: { 200: EsAcknowledged, ...errorResponses } }, handler: async () => ACKNOWLEDGED })
  }
}
