import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError, validationError } from '../../errors.js'
import type { Protocol } from '../../ingest/pipeline.js'
import type { AppContext } from '../app.js'
import { ingestOf } from './auth.js'
import { checkIngestOrigin } from './cors.js'

const gunzipAsync = promisify(gunzip)

/** Inflates a body, stopping at `limit` bytes of output. */
export type Inflate = (raw: Buffer, limit: number) => Promise<Buffer>

const gunzipLimited: Inflate = async (raw, limit) => {
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

/** Content-Encodings every ingest protocol takes (a protocol's own compression: IngestBodyOptions.impliedEncodings). */
const ENCODINGS: Record<string, Inflate> = { gzip: gunzipLimited, 'x-gzip': gunzipLimited }

/** The request body as bytes, inflated when Content-Encoding says so, the size limit applied after. */
export const decodeBody = async (request: FastifyRequest, raw: Buffer, limit: number): Promise<Buffer> => {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase().trim()
  if (encoding === 'identity' || encoding === '') return raw
  const inflate = ENCODINGS[encoding]
  if (!inflate) {
    throw new AppError('unsupported_media_type', `Unsupported Content-Encoding "${encoding.slice(0, 40)}"; send gzip or none`)
  }
  return inflate(raw, limit)
}

/** The request's media type, lowercase, without parameters (`application/json; charset=utf-8` → `application/json`). */
export const mediaType = (request: FastifyRequest): string =>
  String(request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase()

/** The decoded body of an ingest request; an empty one is a 400 naming it. */
export const bodyOf = (request: FastifyRequest): Buffer => {
  const body = request.body as Buffer | undefined
  if (!body || body.length === 0) throw validationError('body', 'is empty')
  return body
}

export interface IngestBodyOptions {
  /** The label of this protocol's requests in the metrics. */
  protocol: Protocol
  /** The Content-Types its routes take; any other is 415. */
  contentTypes: string[]
  /**
   * Compression a media type always has, whatever Content-Encoding says (Loki's protobuf bodies
   * are snappy blocks with no Content-Encoding). It is applied after any Content-Encoding, with
   * the same limit; a Content-Encoding naming it (some Loki clients send `snappy`) is the same
   * compression, not a second one.
   */
  impliedEncodings?: Record<string, { name: string; inflate: Inflate }>
  /**
   * A browser endpoint (plugins/cors.ts): its answers to requests from an origin their token
   * allows carry the CORS headers; the scope answers preflights (answerPreflights). Any ingest
   * endpoint refuses a request whose Origin its token does not list.
   */
  browser?: boolean
  /**
   * The scope's rate limit, run on each route's onRequest (throws to refuse). Default: the
   * ingest token's `log_ingest` bucket; routes without a token (anonymous streams) bring their own.
   */
  rateLimit?: (request: FastifyRequest) => void
}

/** The body after Content-Encoding and then the media type's implied compression. */
const decodeProtocolBody = async (request: FastifyRequest, raw: Buffer, limit: number, options: IngestBodyOptions): Promise<Buffer> => {
  const implied = options.impliedEncodings?.[mediaType(request)]
  if (!implied) return decodeBody(request, raw, limit)
  const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase().trim()
  return implied.inflate(encoding === implied.name ? raw : await decodeBody(request, raw, limit), limit)
}

/**
 * Makes every route of this (encapsulated) scope an ingest endpoint of one protocol: bodies
 * are read as bytes by our own parser, so compression and the post-decompression size limit
 * are handled in one place, whatever the protocol; the token's `log_ingest` bucket (shared by
 * all protocols) is taken after authentication; every answer is counted by protocol and status.
 */
export const ingestBody = (scope: FastifyInstance, deps: AppContext, options: IngestBodyOptions): void => {
  const limit = deps.config.server.body_limit_mb * 1024 * 1024
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser(options.contentTypes, { parseAs: 'buffer', bodyLimit: limit }, (request, raw, done) => {
    decodeProtocolBody(request, raw as Buffer, limit, options).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    )
  })

  // Refusals (4xx) and engine failures (503) included; CORS preflights are not ingest requests.
  scope.addHook('onResponse', (request, reply, done) => {
    if (request.method !== 'OPTIONS') deps.metrics.ingestRequests.inc({ protocol: options.protocol, status: String(reply.statusCode) })
    done()
  })

  const rateLimit = async (request: FastifyRequest) => {
    if (options.rateLimit) return options.rateLimit(request)
    const wait = deps.ingestLimiter.take(ingestOf(request).tokenHash)
    if (wait > 0) {
      throw new AppError('rate_limited', `Too many ingest requests for this token; retry in ${wait} s`, {
        headers: { 'retry-after': String(wait) },
      })
    }
  }
  // On each ingest route rather than the scope, so the 404 handler and the preflights never ask
  // for an ingest token. The origin first: a page the token does not serve spends no bucket.
  const originCheck = checkIngestOrigin(options.browser ?? false)
  // Routes without an ingest token (anonymous streams) bring their own limit and have no
  // token whose origins could be checked; preflights have neither.
  scope.addHook('onRoute', (route) => {
    if (route.config?.auth?.kind === 'ingest') route.onRequest = [route.onRequest ?? []].flat().concat(originCheck, rateLimit)
    else if (options.rateLimit && route.method !== 'OPTIONS') route.onRequest = [route.onRequest ?? []].flat().concat(rateLimit)
  })
}
