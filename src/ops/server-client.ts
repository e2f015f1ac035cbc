import { z } from 'zod'
import { AppError, errorMessage, STATUS_BY_CODE, UserError, type ErrorCode } from '../errors.js'
import { VERSION } from '../version.js'
import type { RuntimeInfo } from './runtime.js'

/*
 * The one client of the running serve: every CLI call to it goes through requestServer, so
 * reaching it, its error envelope and an answer this CLI cannot read are handled once.
 */

const ErrorEnvelope = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
})

const DataEnvelope = z.object({ data: z.unknown() })

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(STATUS_BY_CODE, code)

/** An answer of another shape: most likely a serve of another version than this CLI. */
const unreadable = (runtime: RuntimeInfo, what: string, problem: string): UserError =>
  new UserError(
    `The running serve (version ${runtime.version}, pid ${runtime.pid}) answered ${what} in a form this CLI (version ${VERSION}) cannot read: ${problem}.`,
    {
      suggestions:
        runtime.version === VERSION
          ? ['This is a bug of krafter-logs: please report it with this message.']
          : [`Run the krafter-logs ${runtime.version} that serve runs, or restart serve with this version (${VERSION}).`],
    },
  )

const problemOf = (error: z.ZodError): string =>
  error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(answer)'} ${i.message}`)
    .join('; ')

/**
 * A request to the running serve's API as the local admin. A 2xx response comes back unread
 * (a caller may stream it); any other answer becomes the AppError of its error envelope.
 * `signal` replaces the timeout: a stream read for as long as the caller wants (live tail).
 */
export const requestServer = async (
  runtime: RuntimeInfo,
  method: string,
  path: string,
  options: { body?: unknown; timeoutMs?: number; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Response> => {
  const what = `${method} ${path.split('?')[0]}`
  let response: Response
  try {
    response = await fetch(new URL(`/api/v1${path}`, runtime.url), {
      method,
      headers: {
        authorization: `Bearer ${runtime.admin_token}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 120_000),
    })
  } catch (err) {
    throw new AppError('engine_unavailable', `Could not reach the running server at ${runtime.url}: ${errorMessage(err)}`)
  }
  if (response.ok) return response
  const envelope = ErrorEnvelope.safeParse(await response.json().catch(() => undefined))
  if (!envelope.success) throw unreadable(runtime, what, `HTTP ${response.status} without an error envelope`)
  const { code, message, details } = envelope.data.error
  if (!isErrorCode(code)) throw unreadable(runtime, what, `HTTP ${response.status} with the unknown error code ${code} (${message})`)
  throw new AppError(code, message, { details })
}

/** A JSON call whose `data` must match `answer` (204: no data, `answer` must accept undefined). */
export const callServer = async <T>(
  runtime: RuntimeInfo,
  method: string,
  path: string,
  answer: z.ZodType<T>,
  body?: unknown,
): Promise<T> => {
  const what = `${method} ${path.split('?')[0]}`
  const response = await requestServer(runtime, method, path, { body })
  let data: unknown
  if (response.status !== 204) {
    const envelope = DataEnvelope.safeParse(await response.json().catch(() => undefined))
    if (!envelope.success) throw unreadable(runtime, what, 'no JSON `data` envelope')
    data = envelope.data.data
  }
  const parsed = answer.safeParse(data)
  if (!parsed.success) throw unreadable(runtime, what, problemOf(parsed.error))
  return parsed.data
}

/**
 * A JSON call whose whole answer must match `answer`: for the paged reads (GET /logs/search),
 * whose `has_more` and `cursor` sit beside `data`.
 */
export const callServerAnswer = async <T>(runtime: RuntimeInfo, method: string, path: string, answer: z.ZodType<T>): Promise<T> => {
  const what = `${method} ${path.split('?')[0]}`
  const response = await requestServer(runtime, method, path)
  const parsed = answer.safeParse(await response.json().catch(() => undefined))
  if (!parsed.success) throw unreadable(runtime, what, problemOf(parsed.error))
  return parsed.data
}

/** A query string of the defined values (the CLI's validated input as an API query). */
export const queryString = (input: Record<string, string | number | undefined>): URLSearchParams => {
  const qs = new URLSearchParams()
  for (const [key, value] of Object.entries(input)) if (value !== undefined) qs.set(key, String(value))
  return qs
}
