/** The shapes of API.md "Redaction rules". */
export type RedactionBehavior = 'mask' | 'hash' | 'remove'
export type RedactionScope = 'message' | 'metadata' | 'all'

/** A rule as the API shows it (built-in or custom). */
export interface RedactionRule {
  id: string
  name: string
  builtin: boolean
  /** A value pattern (for a built-in, a readable description of what it scans for), or null. */
  pattern: string | null
  /** Metadata keys whose whole value is replaced, or null. */
  field_names: string[] | null
  behavior: RedactionBehavior
  applies_to: RedactionScope
  enabled: boolean
  /** The project the rule belongs to; null for a team-wide rule (and every built-in). */
  project_id: string | null
}

/** What a custom rule needs to be compiled (the stored row; `id`/`project_id` only label it). */
export interface CustomRuleInput {
  id?: string
  name: string
  pattern?: string | null
  field_names?: string[] | null
  behavior: RedactionBehavior
  applies_to: RedactionScope
  enabled: boolean
  project_id?: string | null
}

/** The two fields of a built-in rule an operator may change (PUT /redaction/rules/:id). */
export interface BuiltinOverride {
  behavior?: RedactionBehavior
  enabled?: boolean
}
