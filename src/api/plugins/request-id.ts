import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/

// Random per process, then a counter: unique ids without a CSPRNG draw per request.
const PROCESS_PART = randomBytes(6).toString('hex')
let counter = 0

/** A fresh id, also for answers given before there is a request (a malformed one). */
export const newRequestId = (): string => {
  counter = (counter + 1) % 0xffffffffffff
  return `req_${PROCESS_PART}${counter.toString(16).padStart(12, '0')}`
}

/** Reuses a well-formed incoming X-Request-Id so a request can be traced across systems. */
export const genReqId = (req: IncomingMessage): string => {
  const incoming = req.headers['x-request-id']
  if (typeof incoming === 'string' && CLIENT_ID.test(incoming)) return incoming
  return newRequestId()
}
