import { z } from 'zod'
import { AppError, notFound, validationError } from '../errors.js'
import { buildEntry, timestampWindow, validateEntry, type LogEntry } from '../ingest/entry.js'
import { isoMicros, type LogEntry as StoredEntryView } from '../logs/search.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { getProject } from '../meta/projects.js'
import * as repo from '../meta/redaction.js'
import { BUILTIN_RULES } from './builtins.js'
import { MAX_PATTERN_CHARS } from './pattern.js'
import { compileCustomRule, compileRedaction, hashText, redactEntry, type CompiledRedaction } from './redact.js'
import type { RedactionRule } from './types.js'

/** The rules API (API.md "Redaction rules"): inputs, the operations, and the per-project cache serve runs. */

export interface RedactionDeps {
  meta: MetaDb
  clock: () => Date
}

const behavior = z.enum(['mask', 'hash', 'remove'], { error: 'must be mask, hash or remove' })
const appliesTo = z.enum(['message', 'metadata', 'all'], { error: 'must be message, metadata or all' })
const name = z.string({ error: 'must be 1 to 100 characters' }).trim().min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters')
const pattern = z
  .string({ error: `must be a regular expression of 1 to ${MAX_PATTERN_CHARS} characters` })
  .min(1, `must be a regular expression of 1 to ${MAX_PATTERN_CHARS} characters`)
  .max(MAX_PATTERN_CHARS, `must be a regular expression of 1 to ${MAX_PATTERN_CHARS} characters`)
const fieldNames = z
  .array(z.string().min(1, 'must be names of 1 to 200 characters').max(200, 'must be names of 1 to 200 characters'), { error: 'must be a list of metadata key names' })
  .min(1, 'must list 1 to 100 names')
  .max(100, 'must list 1 to 100 names')

export const RedactionRuleCreateInput = z
  .object({
    project_id: z.uuid('must be a project id (UUID)').nullish(),
    name,
    pattern: pattern.nullish(),
    field_names: fieldNames.nullish(),
    behavior: behavior.default('mask'),
    applies_to: appliesTo.default('all'),
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
  })
  .strict()
export type RedactionRuleCreateInput = z.infer<typeof RedactionRuleCreateInput>

export const RedactionRuleUpdateInput = z
  .object({
    project_id: z.uuid('must be a project id (UUID)').nullish(),
    name: name.optional(),
    pattern: pattern.nullish(),
    field_names: fieldNames.nullish(),
    behavior: behavior.optional(),
    applies_to: appliesTo.optional(),
    enabled: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict()
export type RedactionRuleUpdateInput = z.infer<typeof RedactionRuleUpdateInput>

export const MAX_TEST_ENTRIES = 100
export const RedactionTestInput = z
  .object({
    project_id: z.uuid('must be a project id (UUID)'),
    entries: z.array(z.unknown(), { error: `must be a list of 1 to ${MAX_TEST_ENTRIES} entries` }).min(1, `must be a list of 1 to ${MAX_TEST_ENTRIES} entries`).max(MAX_TEST_ENTRIES, `must be a list of 1 to ${MAX_TEST_ENTRIES} entries`),
    /** Values whose `hash` text to show, e.g. a user id to search for. */
    hash_values: z.array(z.string().max(4096, 'must be strings of at most 4,096 characters'), { error: 'must be a list of strings' }).max(100, 'must list at most 100 values').optional(),
  })
  .strict()
export type RedactionTestInput = z.infer<typeof RedactionTestInput>

const BUILTIN_IDS = new Set(BUILTIN_RULES.map((b) => b.rule.id))
const CUSTOM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** What a rule id names: a built-in, a custom rule (UUID), or nothing (404). */
const kindOf = (id: string): 'builtin' | 'custom' => {
  if (BUILTIN_IDS.has(id)) return 'builtin'
  if (CUSTOM_ID.test(id)) return 'custom'
  throw notFound('Redaction rule')
}

const overridesOf = (meta: MetaDb, teamId: string) =>
  Object.fromEntries(
    repo.builtinOverrides(meta, teamId).map((o) => [o.rule_id, { ...(o.behavior ? { behavior: o.behavior } : {}), ...(o.enabled !== null ? { enabled: o.enabled } : {}) }]),
  )

/** A project's rule set (or the team-wide one): built-ins with the team's changes, team-wide rules, the project's. */
export const compileFor = (meta: MetaDb, teamId: string, projectId: string | null): CompiledRedaction =>
  compileRedaction({ overrides: overridesOf(meta, teamId), custom: repo.customRulesFor(meta, teamId, projectId) })

const presentCustom = (r: repo.StoredCustomRule): RedactionRule => ({
  id: r.id,
  name: r.name,
  builtin: false,
  pattern: r.pattern,
  field_names: r.field_names,
  behavior: r.behavior,
  applies_to: r.applies_to,
  enabled: r.enabled,
  project_id: r.project_id,
})

const requireProject = (deps: RedactionDeps, teamId: string, projectId: string): void => {
  if (!getProject(deps.meta, teamId, projectId)) throw notFound('Project')
}

/**
 * The rules in effect for a project, in the order they run; without one, the built-ins and every
 * custom rule of the team the caller may see (`projectIds`: a key limited to some projects).
 */
export const listRedactionRules = (deps: RedactionDeps, teamId: string, options: { projectId?: string; projectIds?: readonly string[] | null }): RedactionRule[] => {
  if (options.projectId) {
    requireProject(deps, teamId, options.projectId)
    return [...compileFor(deps.meta, teamId, options.projectId).rules]
  }
  const builtins = compileFor(deps.meta, teamId, null).rules.filter((r) => r.builtin)
  const visible = repo
    .allCustomRules(deps.meta, teamId)
    .filter((r) => r.project_id === null || !options.projectIds || options.projectIds.includes(r.project_id))
  return [...builtins, ...visible.map(presentCustom)]
}

export const getRedactionRule = (deps: RedactionDeps, teamId: string, id: string): RedactionRule => {
  if (kindOf(id) === 'builtin') return compileFor(deps.meta, teamId, null).rules.find((r) => r.id === id)!
  const found = repo.findCustomRule(deps.meta, teamId, id)
  if (!found) throw notFound('Redaction rule')
  return presentCustom(found)
}

/** Refuses a rule the linear engine cannot run (400 naming `pattern`) before it is stored. */
const checked = (fields: repo.CustomRuleFields): repo.CustomRuleFields => {
  compileCustomRule(fields)
  return fields
}

export const createRedactionRule = (deps: RedactionDeps, teamId: string, input: RedactionRuleCreateInput, by: Actor): RedactionRule => {
  if (input.project_id) requireProject(deps, teamId, input.project_id)
  const fields = checked({
    project_id: input.project_id ?? null,
    name: input.name,
    pattern: input.pattern ?? null,
    field_names: input.field_names ?? null,
    behavior: input.behavior,
    applies_to: input.applies_to,
    enabled: input.enabled,
  })
  const rule = presentCustom(repo.insertCustomRule(deps.meta, teamId, fields, deps.clock()))
  recordAction(deps, by, teamId, 'redaction_rule.create', { type: 'redaction_rule', id: rule.id }, { name: rule.name, project_id: rule.project_id, behavior: rule.behavior })
  return rule
}

const BUILTIN_FIXED = ['project_id', 'name', 'pattern', 'field_names', 'applies_to'] as const

export const updateRedactionRule = (deps: RedactionDeps, teamId: string, id: string, input: RedactionRuleUpdateInput, by: Actor): RedactionRule => {
  if (kindOf(id) === 'builtin') {
    const fixed = BUILTIN_FIXED.find((f) => input[f] !== undefined)
    if (fixed) throw validationError(fixed, 'cannot be changed on a built-in rule: only behavior and enabled can')
    const current = getRedactionRule(deps, teamId, id)
    const behaviorNext = input.behavior ?? current.behavior
    const enabledNext = input.enabled ?? current.enabled
    repo.upsertBuiltinOverride(deps.meta, teamId, { rule_id: id, behavior: behaviorNext, enabled: enabledNext }, deps.clock())
    recordAction(deps, by, teamId, 'redaction_rule.update', { type: 'redaction_rule', id }, { behavior: behaviorNext, enabled: enabledNext })
    return getRedactionRule(deps, teamId, id)
  }
  const current = repo.findCustomRule(deps.meta, teamId, id)
  if (!current) throw notFound('Redaction rule')
  if (input.project_id) requireProject(deps, teamId, input.project_id)
  const fields = checked({
    project_id: input.project_id === undefined ? current.project_id : input.project_id,
    name: input.name ?? current.name,
    pattern: input.pattern === undefined ? current.pattern : input.pattern,
    field_names: input.field_names === undefined ? current.field_names : input.field_names,
    behavior: input.behavior ?? current.behavior,
    applies_to: input.applies_to ?? current.applies_to,
    enabled: input.enabled ?? current.enabled,
  })
  const rule = presentCustom(repo.replaceCustomRule(deps.meta, teamId, id, fields, deps.clock()))
  recordAction(deps, by, teamId, 'redaction_rule.update', { type: 'redaction_rule', id }, { changed: Object.keys(input) })
  return rule
}

export const deleteRedactionRule = (deps: RedactionDeps, teamId: string, id: string, by: Actor): void => {
  if (kindOf(id) === 'builtin') {
    throw new AppError('validation_error', 'A built-in rule cannot be deleted: disable it instead (PUT with {"enabled": false})', {
      details: [{ field: 'id', message: 'is a built-in rule: disable it instead of deleting it' }],
    })
  }
  const current = repo.findCustomRule(deps.meta, teamId, id)
  if (!current) throw notFound('Redaction rule')
  repo.deleteCustomRule(deps.meta, teamId, id)
  recordAction(deps, by, teamId, 'redaction_rule.delete', { type: 'redaction_rule', id }, { name: current.name, project_id: current.project_id })
}

/** An entry as it would be stored: search's entry shape without the id and receipt time. */
export type RedactedEntryView = Omit<StoredEntryView, 'id' | 'received_at'>

const viewOf = (e: LogEntry): RedactedEntryView => ({
  timestamp: isoMicros(e.timestamp),
  level: e.level,
  service: e.service,
  stream: e.stream,
  message: e.message,
  trace_id: e.traceId,
  span_id: e.spanId,
  metadata: e.metadata ?? {},
})

export interface RedactionTestResult {
  /** Each entry as it would be stored, with the names of the rules that changed it. */
  entries: { entry: RedactedEntryView; matched: string[] }[]
  /** `hash_values` → the text `hash` writes for each. */
  hashes: Record<string, string>
}

/** POST /redaction/test: the project's rules on the given entries; nothing is stored or counted. */
export const testRedaction = (deps: RedactionDeps & { redaction: RedactionRegistry }, teamId: string, input: RedactionTestInput): RedactionTestResult => {
  const project = getProject(deps.meta, teamId, input.project_id)
  if (!project) throw notFound('Project')
  const receivedUs = deps.clock().getTime() * 1000
  const ctx = { window: timestampWindow(receivedUs, project.retention_days), receivedUs }
  const compiled = deps.redaction.compiled(teamId, project.id)
  const entries = input.entries.map((value, i) => {
    const valid = validateEntry(value, { ...ctx, projectId: project.id, nextId: () => '' })
    if ('error' in valid) throw validationError(`entries[${i}].${valid.error.field}`, valid.error.message)
    const { entry, matched } = redactEntry(compiled, buildEntry(valid.fields, valid.timestamp), deps.redaction.key)
    return { entry: viewOf(entry), matched }
  })
  const hashes: Record<string, string> = {}
  for (const v of input.hash_values ?? []) Object.defineProperty(hashes, v, { value: hashText(deps.redaction.key, v), enumerable: true })
  return { entries, hashes }
}

/** How often serve looks at the stored rule-set version (a change by another process applies by then). */
export const VERSION_CHECK_MS = 250

/**
 * The compiled rule sets serve runs, one per project, built on first use and thrown away when
 * the stored rule-set version moves (every rule write bumps it, from this process or any other):
 * a change applies to the next request, at most VERSION_CHECK_MS later for another process's.
 */
export class RedactionRegistry {
  readonly key: Buffer
  private readonly cache = new Map<string, CompiledRedaction>()
  private version: number
  private checkedAt = -Infinity
  private defaults: CompiledRedaction | undefined

  constructor(
    private readonly meta: MetaDb,
    private readonly now: () => number = Date.now,
  ) {
    this.key = repo.ensureRedactionKey(meta)
    this.version = repo.redactionVersion(meta)
  }

  compiled(teamId: string, projectId: string): CompiledRedaction {
    const at = this.now()
    if (at - this.checkedAt >= VERSION_CHECK_MS) {
      this.checkedAt = at
      const version = repo.redactionVersion(this.meta)
      if (version !== this.version) {
        this.version = version
        this.cache.clear()
      }
    }
    const cacheKey = `${teamId}/${projectId}`
    let compiled = this.cache.get(cacheKey)
    if (!compiled) {
      compiled = compileFor(this.meta, teamId, projectId)
      this.cache.set(cacheKey, compiled)
    }
    return compiled
  }

  /** After a write through this process: the next request compiles anew, without waiting for the check. */
  invalidate(): void {
    this.checkedAt = -Infinity
  }

  /**
   * The stage for entries no team owns yet (anonymous streams): the built-in rules at their
   * defaults, the project-independent part of every rule set. Compiled once (it never changes).
   */
  defaultStage(): ((entry: LogEntry) => { entry: LogEntry; matched: string[] }) | undefined {
    this.defaults ??= compileRedaction()
    const compiled = this.defaults
    if (compiled.active.length === 0) return undefined
    return (entry) => redactEntry(compiled, entry, this.key)
  }

  /** The pipeline's redaction stage for a project (undefined when no rule is enabled). */
  stageFor(project: { id: string; team_id: string }): ((entry: LogEntry) => { entry: LogEntry; matched: string[] }) | undefined {
    const compiled = this.compiled(project.team_id, project.id)
    if (compiled.active.length === 0) return undefined
    return (entry) => redactEntry(compiled, entry, this.key)
  }
}
