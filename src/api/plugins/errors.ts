import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { AppError, STATUS_BY_CODE, type ErrorCode, type FieldError } from '../../errors.js'

const CODE_BY_STATUS: Record<number, ErrorCode> = Object.fromEntries(
  Object.entries(STATUS_BY_CODE).map(([code, status]) => [status, code as ErrorCode]),
)
CODE_BY_STATUS[429] = 'rate_limited'
CODE_BY_STATUS[405] = 'not_found'

const CONTEXT_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' }

/** Zod issues from the type provider → our details, naming the field at fault. */
const fieldErrors = (err: FastifyError & { validation: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[] }): FieldError[] =>
  err.validation.map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
    if (issue.keyword === 'unrecognized_keys') {
      const keys = (issue.params.keys as string[] | undefined) ?? []
      return { field: [path, keys.join(',')].filter(Boolean).join('.'), message: 'is not a known field' }
    }
    return { field: path || CONTEXT_NAMES[err.validationContext ?? ''] || 'body', message: issue.message ?? 'is invalid' }
  })

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
  }
  if (err instanceof SyntaxError || err.name === 'SyntaxError') {
    return new AppError('validation_error', 'Malformed JSON body', { details: [{ field: 'body', message: 'is not valid JSON' }] })
  }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return new AppError(CODE_BY_STATUS[status] ?? 'validation_error', err.message)
  }
  return new AppError('internal_error', 'Internal server error', { cause: err })
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

/**
 * The one place errors become responses: AppErrors as they are, framework errors mapped to
 * their API.md code, anything else logged in full and shown only as internal_error.
 */
export const registerErrorHandling = (app: FastifyInstance): void => {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const appError = err instanceof AppError ? err : fromFastifyError(err)
    if (appError.status >= 500) request.log.error({ err }, 'request failed')
    else request.log.info({ code: appError.code, status: appError.status }, appError.message)
    return sendError(reply, request, appError)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`)),
  )
}
