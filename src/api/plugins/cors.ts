import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { originAllowedByLiveToken } from '../../meta/ingest-tokens.js'
import type { AppContext } from '../app.js'
import { errorResponses, NoContent } from '../schemas/index.js'
import { ingestOf } from './auth.js'

/*
 * Browser ingestion (API.md "Browser ingestion (CORS)", docs/api.md "CORS"). Only the browser
 * ingest endpoints (the JSON ones and OTLP/HTTP) ever answer CORS headers, and only for an
 * origin an ingest token lists: a preflight for an origin at least one live token allows, and a
 * request whose own token allows its origin. Team routes, team keys and every other endpoint
 * never do.
 */

/** What a page's fetch may send: a token header, a JSON (or gzip) body, a request id. */
const ALLOW_HEADERS = 'Authorization, Content-Type, Content-Encoding, X-API-KEY, X-Request-Id'
const EXPOSE_HEADERS = 'X-Request-Id, Retry-After'
/** Chromium caps a preflight's cache at 2 h; each request is still checked against its own token. */
export const PREFLIGHT_MAX_AGE_S = 7200

/** The request's Origin as browsers write it (lower case); undefined for clients that send none. */
const originOf = (request: FastifyRequest): string | undefined => {
  const origin = request.headers.origin
  return typeof origin === 'string' ? origin.toLowerCase() : undefined
}

const allowOrigin = (reply: FastifyReply, origin: string): FastifyReply => reply.header('access-control-allow-origin', origin).header('vary', 'Origin')

/**
 * onRequest of every ingest route, after authentication: a request with an Origin (a browser's)
 * is accepted only if its own token lists that origin; requests without one (shippers, SDKs,
 * curl) are not affected. On a browser endpoint, an accepted one's answer (errors included)
 * carries the CORS headers, so the page can read it.
 */
export const checkIngestOrigin = (browser: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
  const origin = originOf(request)
  if (origin === undefined) return
  if (!ingestOf(request).allowedOrigins.includes(origin)) {
    throw new AppError('forbidden', "This ingest token does not allow requests from this origin: list the page's origin in the token's allowed_origins")
  }
  if (browser) void allowOrigin(reply, origin).header('access-control-expose-headers', EXPOSE_HEADERS)
}

/**
 * `OPTIONS <url>` for each browser ingest endpoint: 204 always; with the CORS headers when the
 * Origin is listed by at least one live ingest token of the team (an in-memory set, refreshed
 * when tokens change), without any otherwise, so the browser refuses to send. No token is
 * looked at: a preflight carries none.
 */
export const answerPreflights = (app: FastifyInstance, deps: AppContext, urls: string[]): void => {
  const options = { config: { auth: { kind: 'none' } } as const, schema: { response: { 204: NoContent, ...errorResponses } } }
  for (const url of urls) {
    app.options(url, options, async (request, reply) => {
      const origin = originOf(request)
      void reply.header('vary', 'Origin')
      if (origin !== undefined && originAllowedByLiveToken(deps.meta, deps.teamId, origin, deps.clock())) {
        void allowOrigin(reply, origin)
          .header('access-control-allow-methods', 'POST')
          .header('access-control-allow-headers', ALLOW_HEADERS)
          .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S))
      }
      return reply.status(204).send()
    })
  }
}
