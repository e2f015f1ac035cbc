import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { AppError, STATUS_BY_CODE, UserError, validationError, type ErrorCode, type FieldError } from '../../errors.js'
import { fieldErrorsOf } from '../../validation.js'
import { newRequestId } from './request-id.js'

const CODE_BY_STATUS: Record<number, ErrorCode> = Object.fromEntries(
  Object.entries(STATUS_BY_CODE).map(([code, status]) => [status, code as ErrorCode]),
)
CODE_BY_STATUS[429] = 'rate_limited'
CODE_BY_STATUS[405] = 'not_found'

const CONTEXT_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' }

/** Fastify's default (router.maxParamLength); every id we route is far shorter. */
const MAX_PARAM_LENGTH = 100
const DISK_FULL_RETRY_SECONDS = 60
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC'])

/** SQLite or the file system out of space: the operator must act, and the client may retry. */
const isDiskFull = (err: unknown): boolean => {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (DISK_FULL_CODES.has(String((e as NodeJS.ErrnoException).code))) return true
  }
  return false
}

/** Zod issues from the type provider → our details, with the one converter (src/validation.ts). */
const fieldErrors = (err: FastifyError & { validation: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[] }): FieldError[] =>
  fieldErrorsOf(
    err.validation.map((v) => ({ path: v.instancePath.split('/').filter(Boolean), code: v.keyword, message: v.message, keys: v.params.keys as string[] | undefined })),
    CONTEXT_NAMES[err.validationContext ?? ''] || 'body',
  )

const fromFastifyError = (err: FastifyError): AppError => {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const details = fieldErrors(err as never)
    const where = CONTEXT_NAMES[err.validationContext ?? ''] ?? 'request'
    const summary = details.map((d) => `${d.field} ${d.message}`).join('; ')
    return new AppError('validation_error', `Invalid ${where}: ${summary}`, { details })
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'unsupported_media_type',
        'Unsupported Content-Type: send application/json (the batch endpoint also takes application/x-ndjson)',
      )
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'Request body is larger than the limit')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('validation_error', 'Request body is empty but Content-Type is application/json', {
        details: [{ field: 'body', message: 'is empty' }],
      })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('validation_error', 'Malformed JSON body', { details: [{ field: 'body', message: 'is not valid JSON' }] })
    case 'FST_ERR_BAD_URL':
      return validationError('path', 'is not valid percent-encoding')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // An over-long id is as wrong as any other malformed id: 400, not Fastify's 414.
      return validationError('path', `has a segment longer than ${MAX_PARAM_LENGTH} characters`)
  }
  // Body parsers mark their failures at the source (the codes above, validationError in the
  // ingest parser): any other SyntaxError is a JSON.parse of ours that failed, a bug.
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return new AppError(CODE_BY_STATUS[status] ?? 'validation_error', err.message)
  }
  return new AppError('internal_error', 'Internal server error', { cause: err })
}

/**
 * A UserError is written for the operator of the CLI. One that reaches the API (a backup or
 * restore asked for through it) is a request the server's current state refuses: its own
 * code when it has an API one, else 409 conflict, with its message (it names no internals).
 */
const fromUserError = (err: UserError): AppError => {
  const code = err.code in STATUS_BY_CODE ? (err.code as ErrorCode) : 'conflict'
  return new AppError(code, err.message, { cause: err })
}

/**
 * Every error by who must act: the client (AppError and the framework's 4xx), the operator
 * (a full disk: 503; a UserError), or us (anything else: a bug, 500 with nothing internal).
 * Engine failures arrive as AppErrors already (engineCall, the batcher: 503) or as bugs.
 */
const toAppError = (err: unknown): AppError => {
  if (err instanceof AppError) return err
  if (isDiskFull(err)) {
    return new AppError('engine_unavailable', 'The disk of the data directory is full: free space there, then retry', {
      headers: { 'retry-after': String(DISK_FULL_RETRY_SECONDS) },
      cause: err,
    })
  }
  if (err instanceof UserError) return fromUserError(err)
  if (typeof err !== 'object' || err === null) return new AppError('internal_error', 'Internal server error', { cause: err })
  return fromFastifyError(err as FastifyError)
}

export const sendError = (reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply => {
  if (error.headers) void reply.headers(error.headers)
  return reply.status(error.status).send({
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    },
    request_id: request.id,
  })
}

const handleError = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
  const appError = toAppError(err)
  // A bug is logged with its stack (pino's err serializer); the client sees only the request id.
  if (appError.code === 'internal_error') request.log.error({ err }, 'request failed: internal error')
  else if (appError.status >= 500) request.log.warn({ err, code: appError.code }, appError.message)
  else request.log.info({ code: appError.code, status: appError.status }, appError.message)
  return sendError(reply, request, appError)
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot route (bad percent-encoding, an over-long path
 * parameter) is answered before any hook runs, so the request id header is set here.
 */
export const frameworkErrors = (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
  void handleError(err, request, reply.header('X-Request-Id', request.id))
}

/** What the HTTP parser refused, by Node's error code: the status, and what to tell the client. */
const clientErrorAnswer = (err: NodeJS.ErrnoException & { reason?: string }): { status: number; message: string; details?: FieldError[] } => {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: 'The request line and headers are larger than 16 KiB; send long search filters as a JSON body to POST /api/v1/logs/search',
        details: [{ field: 'headers', message: 'request line and headers must be at most 16 KiB' }],
      }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request was not received completely in time' }
    default:
      return { status: 400, message: `Malformed HTTP request${err.reason ? `: ${err.reason}` : ''}` }
  }
}

/**
 * The server's 'clientError' (Fastify's `clientErrorHandler`): Node's parser refused the bytes
 * before there is a request (headers over 16 KiB, a control byte in a header), so the answer
 * is written on the socket by hand, with the envelope and a request id like any other.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { status, message, details } = clientErrorAnswer(err)
  const requestId = newRequestId()
  // Only the code: the error's rawPacket holds the request's bytes, tokens included.
  this.log.info({ code: err.code, status, request_id: requestId }, 'malformed request refused')
  // As Node does: once a response on this connection has begun, more bytes would corrupt it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage
  if (!socket.writable || inFlight?.headersSent) return void socket.destroy()
  const body = JSON.stringify({ error: { code: 'validation_error', message, ...(details ? { details } : {}) }, request_id: requestId })
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Connection: close',
  ]
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy())
}

/** How long a client should wait before retrying a request refused during shutdown. */
const SHUTDOWN_RETRY_SECONDS = 5

/**
 * The one place errors become responses: AppErrors as they are, framework errors mapped to
 * their API.md code, anything else logged in full and shown only as internal_error.
 */
export const registerErrorHandling = (app: FastifyInstance): void => {
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`)),
  )
  // Instead of Fastify's return503OnClosing, whose bare 503 has neither envelope nor request
  // id: requests that reach a closing server (on a kept-alive connection) are told to retry.
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    void reply.header('connection', 'close')
    done(
      new AppError('engine_unavailable', 'The server is shutting down; retry shortly', {
        headers: { 'retry-after': String(SHUTDOWN_RETRY_SECONDS) },
      }),
    )
  })
}
