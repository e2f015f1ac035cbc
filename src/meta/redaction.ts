import { randomBytes, randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'

/** Redaction rules as stored (API.md "Redaction rules"); the rules themselves live in src/redaction/. */

export type Behavior = 'mask' | 'hash' | 'remove'
export type AppliesTo = 'message' | 'metadata' | 'all'

export interface CustomRuleFields {
  project_id: string | null
  name: string
  pattern: string | null
  field_names: string[] | null
  behavior: Behavior
  applies_to: AppliesTo
  enabled: boolean
}

export interface StoredCustomRule extends CustomRuleFields {
  id: string
  team_id: string
  created_at: string
  updated_at: string
}

export interface StoredOverride {
  rule_id: string
  behavior: Behavior | null
  enabled: boolean | null
}

type RuleRow = Omit<StoredCustomRule, 'field_names' | 'enabled'> & { field_names: string | null; enabled: number }

const toRule = (row: RuleRow): StoredCustomRule => ({
  ...row,
  field_names: row.field_names === null ? null : (JSON.parse(row.field_names) as string[]),
  enabled: row.enabled === 1,
})

const bumpVersion = (db: MetaDb): void => {
  db.prepare(`UPDATE install_state SET value = value + 1 WHERE name = 'redaction_version'`).run()
}

/** The rule-set version: changes with every rule write, from any process. */
export const redactionVersion = (db: MetaDb): number =>
  Number((db.prepare(`SELECT value FROM install_state WHERE name = 'redaction_version'`).get() as { value: number } | undefined)?.value ?? 0)

/**
 * The team's custom rules that apply to a project: team-wide first, then the project's, each in
 * creation order (the order they run). Without a project: team-wide only.
 */
export const customRulesFor = (db: MetaDb, teamId: string, projectId: string | null): StoredCustomRule[] =>
  (
    db
      .prepare(
        `SELECT * FROM redaction_rules WHERE team_id = ? AND (project_id IS NULL OR project_id = ?)
         ORDER BY project_id IS NOT NULL, created_at, id`,
      )
      .all(teamId, projectId) as RuleRow[]
  ).map(toRule)

/** Every custom rule of the team: team-wide first, then per project, in creation order. */
export const allCustomRules = (db: MetaDb, teamId: string): StoredCustomRule[] =>
  (db.prepare('SELECT * FROM redaction_rules WHERE team_id = ? ORDER BY project_id IS NOT NULL, created_at, id').all(teamId) as RuleRow[]).map(toRule)

export const findCustomRule = (db: MetaDb, teamId: string, id: string): StoredCustomRule | undefined => {
  const row = db.prepare('SELECT * FROM redaction_rules WHERE team_id = ? AND id = ?').get(teamId, id) as RuleRow | undefined
  return row && toRule(row)
}

export const insertCustomRule = (db: MetaDb, teamId: string, fields: CustomRuleFields, now: Date): StoredCustomRule => {
  const at = now.toISOString()
  const id = randomUUID()
  db.transaction(() => {
    db.prepare(
      `INSERT INTO redaction_rules (id, team_id, project_id, name, pattern, field_names, behavior, applies_to, enabled, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, teamId, fields.project_id, fields.name, fields.pattern, fields.field_names && JSON.stringify(fields.field_names), fields.behavior, fields.applies_to, fields.enabled ? 1 : 0, at, at)
    bumpVersion(db)
  })()
  return findCustomRule(db, teamId, id)!
}

export const replaceCustomRule = (db: MetaDb, teamId: string, id: string, fields: CustomRuleFields, now: Date): StoredCustomRule => {
  db.transaction(() => {
    db.prepare(
      `UPDATE redaction_rules SET project_id = ?, name = ?, pattern = ?, field_names = ?, behavior = ?, applies_to = ?, enabled = ?, updated_at = ?
       WHERE team_id = ? AND id = ?`,
    ).run(fields.project_id, fields.name, fields.pattern, fields.field_names && JSON.stringify(fields.field_names), fields.behavior, fields.applies_to, fields.enabled ? 1 : 0, now.toISOString(), teamId, id)
    bumpVersion(db)
  })()
  return findCustomRule(db, teamId, id)!
}

export const deleteCustomRule = (db: MetaDb, teamId: string, id: string): boolean =>
  db.transaction(() => {
    const deleted = db.prepare('DELETE FROM redaction_rules WHERE team_id = ? AND id = ?').run(teamId, id).changes > 0
    if (deleted) bumpVersion(db)
    return deleted
  })()

export const builtinOverrides = (db: MetaDb, teamId: string): StoredOverride[] =>
  (db.prepare('SELECT rule_id, behavior, enabled FROM redaction_builtin_overrides WHERE team_id = ?').all(teamId) as { rule_id: string; behavior: Behavior | null; enabled: number | null }[]).map(
    (r) => ({ rule_id: r.rule_id, behavior: r.behavior, enabled: r.enabled === null ? null : r.enabled === 1 }),
  )

export const upsertBuiltinOverride = (db: MetaDb, teamId: string, override: StoredOverride, now: Date): void => {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO redaction_builtin_overrides (team_id, rule_id, behavior, enabled, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (team_id, rule_id) DO UPDATE SET behavior = excluded.behavior, enabled = excluded.enabled, updated_at = excluded.updated_at`,
    ).run(teamId, override.rule_id, override.behavior, override.enabled === null ? null : override.enabled ? 1 : 0, now.toISOString())
    bumpVersion(db)
  })()
}

/** The install's HMAC key for `hash`: 32 random bytes, made once, kept in meta.sqlite (0600, backed up). */
export const ensureRedactionKey = (db: MetaDb): Buffer => {
  db.prepare(`INSERT INTO install_state (name, value) VALUES ('redaction_key', ?) ON CONFLICT (name) DO NOTHING`).run(randomBytes(32))
  const row = db.prepare(`SELECT value FROM install_state WHERE name = 'redaction_key'`).get() as { value: Buffer }
  return Buffer.from(row.value)
}
