import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/

/** Reuses a well-formed incoming X-Request-Id so a request can be traced across systems. */
export const genReqId = (req: IncomingMessage): string => {
  const incoming = req.headers['x-request-id']
  if (typeof incoming === 'string' && CLIENT_ID.test(incoming)) return incoming
  return `req_${randomBytes(12).toString('hex')}`
}
