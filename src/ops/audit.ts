import { AuditQuery, auditPage } from '../access/audit.js'
import type { AuditEntry } from '../meta/audit.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'

/** `audit list`: a query as GET /audit-logs takes it; one page, newest first. */
export const auditEntries = (ctx: OpsContext, query: unknown): AuditEntry[] =>
  auditPage(ctx.meta, ctx.team.id, parseInput(AuditQuery, query, 'audit query')).items
