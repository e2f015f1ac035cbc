import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError, validationError } from '../../errors.js'
import { ingestLines, ingestOne, MAX_BATCH_ENTRIES } from '../../ingest/pipeline.js'
import { parseNdjson, type Line } from '../../ingest/protocols/ndjson.js'
import { mayHoldSurrogates } from '../../ingest/entry.js'
import { TokenBucketLimiter } from '../../security/rate-limit.js'
import type { AppContext } from '../app.js'
import { ingestOf } from '../plugins/auth.js'
import { ok } from '../respond.js'

const gunzipAsync = promisify(gunzip)
const BODY_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines']
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The request body as bytes, gunzipped when Content-Encoding says so, limit applied after. */
const decodeBody = async (request: FastifyRequest, raw: Buffer, limit: number): Promise<Buffer> => {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase().trim()
  if (encoding === 'identity' || encoding === '') return raw
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new AppError('unsupported_media_type', `Unsupported Content-Encoding "${encoding.slice(0, 40)}"; send gzip or none`)
  }
  try {
    // maxOutputLength stops a gzip bomb at the limit instead of inflating it into memory.
    return await gunzipAsync(raw, { maxOutputLength: limit })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger|too large/i.test(String(err))) {
      throw new AppError('payload_too_large', `The decompressed body is larger than ${limit / 1024 / 1024} MiB`)
    }
    throw validationError('body', 'is not valid gzip')
  }
}

/** A whole body as one JSON value; the text is checked for surrogate escapes (entry.ts). */
const parseJsonBody = (body: Buffer): { value: unknown; surrogates: boolean } => {
  const text = utf8.decode(body)
  return { value: JSON.parse(text), surrogates: mayHoldSurrogates(text) }
}

const isJsonType = (request: FastifyRequest): boolean =>
  String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')

/** A JSON array body (application/json) becomes lines numbered by array position. */
const batchLines = (request: FastifyRequest, body: Buffer): Line[] => {
  const firstByte = body.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)
  if (isJsonType(request) && firstByte === 0x5b /* [ */) {
    let parsed: { value: unknown; surrogates: boolean }
    try {
      parsed = parseJsonBody(body)
    } catch {
      throw validationError('body', 'is not a valid JSON array')
    }
    const { surrogates } = parsed
    const array = parsed.value as unknown[]
    if (array.length > MAX_BATCH_ENTRIES) throw new AppError('payload_too_large', `A batch takes at most ${MAX_BATCH_ENTRIES} entries`)
    return array.map((value, i) => ({ number: i + 1, value, surrogates }))
  }
  return parseNdjson(body, MAX_BATCH_ENTRIES)
}

/**
 * Ingest API (project ingest tokens only). Bodies are read as bytes by our own parser so that
 * gzip, NDJSON, per-line errors and the post-decompression size limit are handled in one
 * place, and a bad line never costs the good ones.
 */
export const ingestRoutes = async (app: FastifyInstance, deps: AppContext): Promise<void> => {
  const limit = deps.config.server.body_limit_mb * 1024 * 1024
  const limiter = new TokenBucketLimiter(deps.config.ingest.rate_per_second, deps.config.ingest.burst, () => deps.clock().getTime())
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(BODY_TYPES, { parseAs: 'buffer', bodyLimit: limit }, (request, raw, done) => {
    decodeBody(request, raw as Buffer, limit).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    )
  })

  // Every ingest answer is counted by status, refusals (4xx) and engine failures (503) included.
  app.addHook('onResponse', (_request, reply, done) => {
    deps.metrics.ingestRequests.inc({ protocol: 'json', status: String(reply.statusCode) })
    done()
  })

  const config = { auth: { kind: 'ingest' } } as const
  const rateLimit = async (request: FastifyRequest) => {
    const wait = limiter.take(ingestOf(request).tokenHash)
    if (wait > 0) {
      throw new AppError('rate_limited', `Too many ingest requests for this token; retry in ${wait} s`, {
        headers: { 'retry-after': String(wait) },
      })
    }
  }
  const bodyOf = (request: FastifyRequest): Buffer => {
    const body = request.body as Buffer | undefined
    if (!body || body.length === 0) throw validationError('body', 'is empty')
    return body
  }

  app.post('/logs/ingest', { config, onRequest: rateLimit }, async (request, reply) => {
    let line: Line
    try {
      line = { number: 1, ...parseJsonBody(bodyOf(request)) }
    } catch (err) {
      if (err instanceof AppError) throw err
      throw validationError('body', 'is not valid JSON (UTF-8)')
    }
    const result = await ingestOne(deps.ingest, ingestOf(request).project, line)
    return reply.status(202).send(ok(request, result))
  })

  app.post('/logs/ingest/batch', { config, onRequest: rateLimit }, async (request, reply) => {
    const lines = batchLines(request, bodyOf(request))
    const result = await ingestLines(deps.ingest, ingestOf(request).project, lines)
    return reply.status(202).send(ok(request, result))
  })
}
