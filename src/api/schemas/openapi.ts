import type { FastifyInstance, FastifySchema } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import { VERSION } from '../../version.js'

type Json = Record<string, unknown>
interface RouteContract {
  method: string
  url: string
  schema: FastifySchema
  auth: { kind: string; scope?: string; teamWide?: boolean; openOnLoopback?: boolean } | undefined
}

const TOKEN_SECURITY = [{ bearer: [] }, { apiKeyHeader: [] }, { apiKeyQuery: [] }]
const OPENAPI = '3.1.0'
/** Ingest bodies are read as bytes (gzip, NDJSON per line), so no zod body schema describes them. */
const OTLP_BODIES: Json = {
  'application/x-protobuf': { schema: { type: 'string', format: 'binary', description: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest (proto/opentelemetry), gzip accepted' } },
  'application/json': { schema: { type: 'object', description: 'ExportLogsServiceRequest in OTLP JSON (hex ids, int64 as strings), gzip accepted' } },
}
const ES_BULK_BODIES: Json = Object.fromEntries(
  ['application/x-ndjson', 'application/json', 'application/vnd.elasticsearch+x-ndjson'].map((type) => [
    type,
    { schema: { type: 'string', description: 'Elasticsearch bulk NDJSON: action line ({"create":{}} or {"index":{}}) then the document, per item; gzip accepted' } },
  ]),
)

const INGEST_BODIES: Record<string, Json> = {
  '/api/v1/logs/ingest': {
    'application/json': { schema: { type: 'object', description: 'One log entry (docs/api.md "The log entry")' } },
    'text/plain': { schema: { type: 'string', description: 'The same JSON object, as navigator.sendBeacon sends a string' } },
  },
  '/api/v1/logs/ingest/batch': {
    'application/x-ndjson': { schema: { type: 'string', description: 'One log entry per line, up to 10,000 lines and 10 MiB (gzip accepted)' } },
    'application/json': { schema: { type: 'array', items: { type: 'object' } } },
    'text/plain': { schema: { type: 'string', description: 'NDJSON, or a JSON array when it starts with [, as navigator.sendBeacon sends a string' } },
  },
  '/v1/logs': OTLP_BODIES,
  '/otlp/v1/logs': OTLP_BODIES,
  '/loki/api/v1/push': {
    'application/json': { schema: { type: 'object', description: 'Loki push: {"streams":[{"stream":{labels},"values":[["<epoch ns>","line",{structured metadata}?]]}]} (gzip accepted)' } },
    'application/x-protobuf': { schema: { type: 'string', format: 'binary', description: 'logproto.PushRequest (proto/loki/push.proto), snappy block format' } },
  },
  '/es/_bulk': ES_BULK_BODIES,
  '/es/:index/_bulk': ES_BULK_BODIES,
}

/**
 * Drops `$schema` and `$id` from every schema: OpenAPI 3.1 sets the dialect once
 * (jsonSchemaDialect), and the converter leaves a placeholder `$id` that would rebase refs.
 */
const withoutSchemaIds = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutSchemaIds)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '$schema' && k !== '$id').map(([k, v]) => [k, withoutSchemaIds(v)]))
}

/** Components the operations reach through $ref: the converter adds an unused `…Input` twin of every named response schema. */
const reachableComponents = (paths: unknown, schemas: Record<string, unknown>): Record<string, unknown> => {
  const kept = new Set<string>()
  const visit = (value: unknown): void => {
    for (const [, name] of JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (kept.has(name!) || !schemas[name!]) continue
      kept.add(name!)
      visit(schemas[name!])
    }
  }
  visit(paths)
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => kept.has(name)).sort(([a], [b]) => a.localeCompare(b)))
}

const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}')

const responseEntry = (status: string, schema: Json): Json => {
  if (status === '204') return { description: 'No content' }
  const { 'x-media-types': mediaTypes, ...body } = schema as Json & { 'x-media-types'?: string[] }
  const description = status.startsWith('2') ? 'Success' : 'Error envelope (API.md "Envelope")'
  return { description, content: Object.fromEntries((mediaTypes ?? ['application/json']).map((type) => [type, { schema: body }])) }
}

const parameters = (where: 'query' | 'path', schema: Json | undefined): Json[] => {
  const properties = (schema?.properties ?? {}) as Record<string, Json>
  const required = new Set((schema?.required ?? []) as string[])
  return Object.entries(properties).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s }))
}

/**
 * The OpenAPI 3.1 document of the API, built from the routes' own zod schemas (what they
 * validate and serialize with), so the contract cannot drift from the code. It uses the JSON
 * Schema conversion of fastify-type-provider-zod without @fastify/swagger: a route table and
 * a small assembly are all that is needed.
 */
export class ApiContract {
  private readonly routes: RouteContract[] = []
  private built: Json | undefined

  /** Records every route registered after this call (call before registering routes). */
  collect(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue
        this.routes.push({ method, url: route.url, schema: route.schema ?? {}, auth: route.config?.auth })
      }
    })
  }

  /** The zod schema a route answers `status` with (exact status, then `4xx`/`5xx`). */
  responseSchema(method: string, url: string, status: number): z.ZodType | undefined {
    const route = this.routes.find((r) => r.method === method && r.url === url)
    const response = (route?.schema.response ?? {}) as Record<string, z.ZodType>
    return response[String(status)] ?? response[`${String(status)[0]}xx`]
  }

  /** The zod schema a route validates its JSON body with, if it takes one. */
  bodySchema(method: string, url: string): z.ZodType | undefined {
    return this.routes.find((r) => r.method === method && r.url === url)?.schema.body as z.ZodType | undefined
  }

  document(): Json {
    this.built ??= this.build()
    return this.built
  }

  private build(): Json {
    const openapiObject = {
      openapi: OPENAPI,
      jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
      info: { title: 'Krafter Logs API', version: VERSION, description: 'Generated from the routes; docs/api.md is the prose reference.' },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-KEY' },
          apiKeyQuery: { type: 'apiKey', in: 'query', name: 'api_key' },
        },
      },
    }
    const paths: Record<string, Record<string, Json>> = {}
    for (const route of [...this.routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
      const { schema } = jsonSchemaTransform({ schema: route.schema, url: route.url, route: route as never, openapiObject } as never) as unknown as { schema: Json }
      const response = (schema.response ?? {}) as Record<string, Json>
      const auth = route.auth
      const open = !auth || auth.kind === 'none'
      const operation: Json = {
        operationId: `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
        parameters: [...parameters('path', schema.params as Json), ...parameters('query', schema.querystring as Json)],
        security: open ? [] : TOKEN_SECURITY,
        ...(open ? {} : { 'x-token-kind': auth.kind, ...(auth.scope ? { 'x-scope': auth.scope } : {}), ...(auth.openOnLoopback ? { 'x-open-on-loopback': true } : {}) }),
        responses: Object.fromEntries(Object.entries(response).map(([status, s]) => [status.toUpperCase(), responseEntry(status, s)])),
      }
      if (schema.body) operation.requestBody = { content: { 'application/json': { schema: schema.body } } }
      if (INGEST_BODIES[route.url]) operation.requestBody = { required: true, content: INGEST_BODIES[route.url] }
      ;(paths[openApiPath(route.url)] ??= {})[route.method.toLowerCase()] = operation
    }
    const { components } = jsonSchemaTransformObject({ openapiObject } as never) as unknown as { components: { schemas: Record<string, unknown> } }
    const cleanPaths = withoutSchemaIds(paths)
    const schemas = reachableComponents(cleanPaths, withoutSchemaIds(components.schemas) as Record<string, unknown>)
    return { ...openapiObject, components: { ...openapiObject.components, schemas }, paths: cleanPaths }
  }
}
