import { z } from 'zod'
import { decodeCursor, pageOf, type Page } from '../logs/paging.js'
import { parseTimeBound, TimeBound } from '../logs/search.js'
import { AUDIT_ACTIONS, listAudit, type AuditEntry } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'

export const AuditQuery = z
  .object({
    action: z.enum(AUDIT_ACTIONS, { error: `must be one of ${AUDIT_ACTIONS.join(', ')}` }).optional(),
    from: TimeBound.optional(),
    to: TimeBound.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict()
export type AuditQuery = z.infer<typeof AuditQuery>

const iso = (value: string | number | undefined, field: string): string | undefined =>
  value === undefined ? undefined : new Date(parseTimeBound(value, field) / 1000).toISOString()

/** (at, rowid) of the page's last entry. */
const AuditCursor = z.strictObject({ at: z.string().max(64), r: z.number().int().min(0) })

export const auditPage = (meta: MetaDb, teamId: string, query: AuditQuery): Page<AuditEntry> => {
  const before = query.cursor ? decodeCursor(query.cursor, AuditCursor) : undefined
  const rows = listAudit(meta, teamId, {
    limit: query.limit + 1,
    before,
    action: query.action,
    from: iso(query.from, 'from'),
    to: iso(query.to, 'to'),
  })
  return pageOf(rows, query.limit, (last) => ({ at: last.at, r: last.rowid }), ({ rowid: _r, ...entry }) => entry)
}
