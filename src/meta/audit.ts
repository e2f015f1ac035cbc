import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'
import { keysetQuery, type KeysetOrder } from './keyset.js'

/** Every management action the audit log knows; one name per action, `<target>.<verb>`. */
export const AUDIT_ACTIONS = [
  'project.create',
  'project.update',
  'project.delete',
  'project.rotate_token',
  'ingest_token.create',
  'ingest_token.revoke',
  'key.create',
  'key.revoke',
  'alert.create',
  'alert.update',
  'alert.delete',
  'alert.test',
  'alert_event.update',
  'retention.run',
  'backup.create',
  'backup.restore',
  'redaction_rule.create',
  'redaction_rule.update',
  'redaction_rule.delete',
  'session.create',
  'session.delete',
  'login_link.create',
  'viewer_token.create',
  'stream.claim',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

export interface AuditEntry {
  id: string
  at: string
  /** The key's display prefix (kr_live_xxxx), or `cli` for the CLI on this machine. */
  actor: string
  action: AuditAction
  target_type: string
  target_id: string | null
  request_id: string | null
  details: Record<string, unknown> | null
}

export interface AuditRecord {
  teamId: string
  actor: string
  action: AuditAction
  target: { type: string; id?: string | null }
  requestId?: string | null
  details?: Record<string, unknown>
}

/**
 * Who did a management action: a key's prefix, `cli` (the CLI on this machine, also through a
 * running serve) or `serve` (its own scheduled work), and the request id when it came over HTTP.
 * Domain operations take it as a parameter and record the action themselves, so the same action
 * records the same details whoever ran it.
 */
export interface Actor {
  name: string
  requestId?: string | null
}
export const CLI_ACTOR: Actor = { name: 'cli' }
export const SERVE_ACTOR: Actor = { name: 'serve' }

type Row = Omit<AuditEntry, 'details'> & { details: string | null; team_id: string }

const recordAudit = (db: MetaDb, record: AuditRecord, now: Date): void => {
  db.prepare(
    `INSERT INTO audit_logs (id, team_id, at, actor, action, target_type, target_id, request_id, details)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    randomUUID(),
    record.teamId,
    now.toISOString(),
    record.actor,
    record.action,
    record.target.type,
    record.target.id ?? null,
    record.requestId ?? null,
    record.details === undefined ? null : JSON.stringify(record.details),
  )
}

/** The audit write of a domain operation: `action` on `target` by `by`, at the deps' clock. */
export const recordAction = (
  deps: { meta: MetaDb; clock: () => Date },
  by: Actor,
  teamId: string,
  action: AuditAction,
  target: { type: string; id?: string | null },
  details?: Record<string, unknown>,
): void => recordAudit(deps.meta, { teamId, actor: by.name, action, target, requestId: by.requestId, details }, deps.clock())

const AUDIT_ORDER: KeysetOrder = { columns: ['at', 'rowid'], direction: 'DESC' }

export interface AuditPageKey {
  at: string
  r: number
}

/** Newest first, keyset on (at, rowid); optional action and time filters. */
export const listAudit = (
  db: MetaDb,
  teamId: string,
  options: { limit: number; before?: AuditPageKey; action?: string; from?: string; to?: string },
): (AuditEntry & { rowid: number })[] => {
  const q = keysetQuery({
    select: 'SELECT rowid, * FROM audit_logs',
    filters: [
      ['team_id = @teamId', { teamId }],
      options.action && ['action = @action', { action: options.action }],
      options.from && ['at >= @from', { from: options.from }],
      options.to && ['at < @to', { to: options.to }],
    ],
    order: AUDIT_ORDER,
    after: options.before && [options.before.at, options.before.r],
    limit: options.limit,
  })
  const rows = db.prepare(q.sql).all(q.params) as (Row & { rowid: number })[]
  return rows.map(({ team_id: _t, details, ...r }) => ({ ...r, details: details === null ? null : (JSON.parse(details) as Record<string, unknown>) }))
}
