// The one way the console talks to serve: same-origin fetch with the session cookie (never a
// key in browser storage), the CSRF token on every state-changing call, errors as ApiError
// carrying the envelope's code, message and field details.

export interface FieldDetail {
  field: string
  message: string
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldDetail[] = [],
  ) {
    super(message)
  }
  /** The 0-based character offset of a malformed `q`, when the server named one. */
  get queryPosition(): number | undefined {
    const m = /at position (\d+)/.exec(this.message)
    return m ? Number(m[1]) : undefined
  }
}

export interface Page<T> {
  data: T[]
  has_more: boolean
  cursor: string | null
}

type Query = Record<string, string | number | boolean | undefined | null>

let csrfToken: string | undefined
/** Set after sign-in (POST /sessions) or on start (GET /sessions/current). */
export const setCsrfToken = (token: string | undefined): void => {
  csrfToken = token
}

/** A viewer token (the /embed page) is sent as a bearer token instead of the cookie. */
let bearerToken: string | undefined
export const setBearerToken = (token: string | undefined): void => {
  bearerToken = token
}

let onUnauthorized: (() => void) | undefined
/** Called when a request answers 401 (the session ended): the shell shows sign-in. */
export const setUnauthorizedHandler = (fn: () => void): void => {
  onUnauthorized = fn
}

export const queryString = (query: Query = {}): string => {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  const s = params.toString()
  return s ? `?${s}` : ''
}

export const apiUrl = (path: string, query?: Query): string => `/api/v1${path}${queryString(query)}`

const headersFor = (method: string, hasBody: boolean): Record<string, string> => {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (hasBody) headers['content-type'] = 'application/json'
  if (bearerToken) headers.authorization = `Bearer ${bearerToken}`
  else if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken
  return headers
}

/**
 * What the user waits for goes first. The engine answers one query at a time, so when a change
 * of filters sends the search, the histogram and the facets at once, the search would wait for
 * the other two. A `high` request (the first page of results) is sent as it is made; a `low` one
 * (histogram, facets) lets the requests of the same render go out first, then waits until no
 * `high` request is in flight (at most LOW_WAIT_MS, so a slow search never hides the rest).
 */
export type Priority = 'high' | 'low'
const LOW_WAIT_MS = 1500
const highInFlight = new Set<Promise<unknown>>()
const afterHigh = async (signal?: AbortSignal): Promise<void> => {
  await new Promise((r) => setTimeout(r, 0))
  if (highInFlight.size === 0 || signal?.aborted) return
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([Promise.allSettled([...highInFlight]), new Promise((r) => (timer = setTimeout(r, LOW_WAIT_MS)))])
  clearTimeout(timer)
}

type RequestOptions = { query?: Query; body?: unknown; signal?: AbortSignal; priority?: Priority }

/** The whole envelope of a call (for lists: data, has_more, cursor; for search also stats). */
export const request = async <T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> => {
  if (options.priority === 'low') {
    await afterHigh(options.signal)
    if (options.signal?.aborted) throw new DOMException('Aborted', 'AbortError')
  }
  const sent = send<T>(method, path, options)
  if (options.priority === 'high') {
    highInFlight.add(sent)
    void sent.finally(() => highInFlight.delete(sent)).catch(() => undefined)
  }
  return sent
}

const send = async <T>(method: string, path: string, options: RequestOptions): Promise<T> => {
  let res: Response
  try {
    res = await fetch(apiUrl(path, options.query), {
      priority: options.priority ?? 'auto',
      method,
      headers: headersFor(method, options.body !== undefined),
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError(0, 'network_error', 'Cannot reach the server')
  }
  if (res.status === 204) return undefined as T
  let body: any
  try {
    body = await res.json()
  } catch {
    throw new ApiError(res.status, 'bad_response', `The server answered ${res.status} without JSON`)
  }
  if (!res.ok) {
    const e = body?.error ?? {}
    if (res.status === 401 && onUnauthorized && !path.startsWith('/sessions')) onUnauthorized()
    throw new ApiError(res.status, e.code ?? 'error', e.message ?? `HTTP ${res.status}`, e.details ?? [])
  }
  return body as T
}

/** The `data` of a call. */
export const api = async <T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> =>
  (await request<{ data: T }>(method, path, options))?.data as T

/**
 * The URL of an event stream (live tail). EventSource cannot set headers: the cookie
 * authenticates the console, and the embed viewer's token goes as `?token=` (API.md).
 */
export const eventStreamUrl = (path: string, query: Query): string => apiUrl(path, bearerToken ? { ...query, token: bearerToken } : query)

/** A download link for GET endpoints that stream a file (export); the cookie authenticates it. */
export const downloadUrl = (path: string, query: Query): string => apiUrl(path, query)
