/**
 * One error family for the whole product. The API maps it to the envelope of API.md in one
 * error handler; the CLI maps it to a message and an exit code. Anything that is not an
 * AppError is a bug and is shown to clients only as `internal_error`.
 */
export type ErrorCode =
  | 'validation_error'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'daily_limit_exceeded'
  | 'engine_unavailable'
  | 'internal_error'

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_error: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  gone: 410,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  daily_limit_exceeded: 429,
  engine_unavailable: 503,
  internal_error: 500,
}

export interface FieldError {
  field: string
  message: string
}

export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details?: FieldError[]
  /** Extra response headers, e.g. Retry-After for rate_limited. */
  readonly headers?: Record<string, string>

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = STATUS_BY_CODE[code]
    this.details = options.details
    this.headers = options.headers
  }
}

export const validationError = (field: string, message: string): AppError =>
  new AppError('validation_error', `Invalid ${field}: ${message}`, { details: [{ field, message }] })

export const notFound = (what: string): AppError => new AppError('not_found', `${what} not found`)

/**
 * A mistake the operator can fix (bad flag, uninitialised data dir, serve already running).
 * The CLI prints its message and suggestions without a stack trace and exits with `exitCode`.
 */
export class UserError extends Error {
  readonly suggestions: string[]
  readonly exitCode: number
  /** The code --json output shows (`user_error` unless the mistake has a code of its own). */
  readonly code: string

  constructor(
    message: string,
    options: { suggestions?: string[]; exitCode?: number; code?: ErrorCode | 'user_error'; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'UserError'
    this.suggestions = options.suggestions ?? []
    this.exitCode = options.exitCode ?? 1
    this.code = options.code ?? 'user_error'
  }
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))
