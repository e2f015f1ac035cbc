import type { FastifyRequest } from 'fastify'
import type { Actor } from '../meta/audit.js'
import { teamOf } from './plugins/auth.js'

/** Who made a request, for the domain operation to record: the token's actor and the request id. */
export const actorOf = (request: FastifyRequest): Actor => ({ name: teamOf(request).actor, requestId: request.id })
