import type { FastifyRequest } from 'fastify'

/** The browser session's cookie (API.md "Web console and browser sessions"). */
export const SESSION_COOKIE = 'krafter_session'

/**
 * One cookie of the request's Cookie header (RFC 6265 `name=value; name2=value2`), or
 * undefined. The first one of the name wins, as browsers send the most specific path first.
 */
export const readCookie = (request: FastifyRequest, name: string): string | undefined => {
  const header = request.headers.cookie
  if (typeof header !== 'string' || header.length === 0) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() !== name) continue
    let value = part.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    return value.length > 0 ? value : undefined
  }
  return undefined
}

/** Secure only where the request came over HTTPS (directly, or via a trusted proxy): a plain-HTTP loopback console must still work. */
const attributes = (request: FastifyRequest, maxAgeSeconds: number): string =>
  `Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${request.protocol === 'https' ? '; Secure' : ''}`

/** The session cookie; its value is URL-safe base64 already, nothing to encode. */
export const sessionCookie = (request: FastifyRequest, sessionId: string, maxAgeSeconds: number): string =>
  `${SESSION_COOKIE}=${sessionId}; ${attributes(request, maxAgeSeconds)}`

export const clearedSessionCookie = (request: FastifyRequest): string => `${SESSION_COOKIE}=; ${attributes(request, 0)}`
