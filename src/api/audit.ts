import type { FastifyRequest } from 'fastify'
import type { AuditAction } from '../meta/audit.js'
import { recordAudit } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { teamOf } from './plugins/auth.js'

/** Records a management action done through the API: actor from the token, the request id. */
export const audit = (
  request: FastifyRequest,
  deps: { meta: MetaDb; clock: () => Date },
  action: AuditAction,
  target: { type: string; id?: string | null },
  details?: Record<string, unknown>,
): void => {
  const principal = teamOf(request)
  recordAudit(deps.meta, { teamId: principal.teamId, actor: principal.actor, action, target, requestId: request.id, details }, deps.clock())
}
