import { createHmac } from 'node:crypto'
import { validationError } from '../errors.js'
import type { LogEntry } from '../ingest/entry.js'
import { BUILTIN_RULES, type Scanner } from './builtins.js'
import { compileLinearPattern } from './pattern.js'
import type { BuiltinOverride, CustomRuleInput, RedactionBehavior, RedactionRule } from './types.js'

/** One rule ready to run. */
export interface CompiledRule {
  name: string
  behavior: RedactionBehavior
  message: boolean
  metadata: boolean
  scanners: Scanner[]
  precheck: ((text: string) => boolean) | undefined
  fieldName: ((key: string) => boolean) | undefined
}

/**
 * A project's rule set compiled once (built-ins with their overrides, then its custom rules):
 * cache it per project and compile again when a rule changes.
 */
export interface CompiledRedaction {
  /** The rules in effect, as the API lists them (disabled ones too). */
  readonly rules: readonly RedactionRule[]
  /** @internal the enabled rules, in the order they run. */
  readonly active: readonly CompiledRule[]
  readonly messageRules: readonly CompiledRule[]
  readonly metadataRules: readonly CompiledRule[]
  readonly fieldRules: readonly CompiledRule[]
}

export interface RedactionResult {
  entry: LogEntry
  /** Names of the rules that changed something, in rule order, each once. */
  matched: string[]
}

const BEHAVIORS = new Set<RedactionBehavior>(['mask', 'hash', 'remove'])
const SCOPES = new Set(['message', 'metadata', 'all'])

/** `[hash:<12 hex>]`'s hex: the first 12 hex digits of HMAC-SHA256(key, value). */
export const hashValue = (key: Buffer, value: unknown): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
  return createHmac('sha256', key).update(text, 'utf8').digest('hex').slice(0, 12)
}

export const maskText = (ruleName: string): string => `[REDACTED:${ruleName}]`
export const hashText = (key: Buffer, value: unknown): string => `[hash:${hashValue(key, value)}]`

const customScanner = (source: string): Scanner => {
  const re = compileLinearPattern(source)
  return (text, replace) => (re.test(text) ? re.replace(text, replace) : text)
}

/**
 * Built-ins (with `overrides` by rule id: behavior and enabled only) followed by the custom
 * rules, in the order given (the lead passes team-wide then the project's). Throws
 * validationError('pattern' | 'field_names' | 'behavior' | 'applies_to' | 'name', …) for a
 * custom rule that cannot run, so the same function validates a rule before it is stored.
 */
export const compileRedaction = (
  options: { overrides?: Record<string, BuiltinOverride>; custom?: readonly CustomRuleInput[] } = {},
): CompiledRedaction => {
  const rules: RedactionRule[] = []
  const active: CompiledRule[] = []
  for (const b of BUILTIN_RULES) {
    const o = options.overrides?.[b.rule.id]
    if (o?.behavior !== undefined && !BEHAVIORS.has(o.behavior)) throw validationError('behavior', 'must be mask, hash or remove')
    const rule: RedactionRule = {
      ...b.rule,
      field_names: b.rule.field_names ? [...b.rule.field_names] : null,
      behavior: o?.behavior ?? b.rule.behavior,
      enabled: o?.enabled ?? b.rule.enabled,
    }
    rules.push(rule)
    if (!rule.enabled) continue
    active.push({
      name: rule.name,
      behavior: rule.behavior,
      message: rule.applies_to !== 'metadata',
      metadata: rule.applies_to !== 'message',
      scanners: b.scanners,
      precheck: b.precheck,
      fieldName: b.fieldName,
    })
  }
  ;(options.custom ?? []).forEach((c, i) => {
    const compiled = compileCustomRule(c)
    rules.push({
      id: c.id ?? `custom:${i}`,
      name: c.name,
      builtin: false,
      pattern: c.pattern ?? null,
      field_names: c.field_names ? [...c.field_names] : null,
      behavior: c.behavior,
      applies_to: c.applies_to,
      enabled: c.enabled,
      project_id: c.project_id ?? null,
    })
    if (c.enabled) active.push(compiled)
  })
  return {
    rules,
    active,
    messageRules: active.filter((r) => r.message && r.scanners.length > 0),
    metadataRules: active.filter((r) => r.metadata && r.scanners.length > 0),
    fieldRules: active.filter((r) => r.metadata && r.fieldName !== undefined),
  }
}

/** Validates and compiles one custom rule (exported so the create/update route can refuse early). */
export const compileCustomRule = (c: CustomRuleInput): CompiledRule => {
  if (typeof c.name !== 'string' || c.name.trim() === '' || c.name.length > 100) {
    throw validationError('name', 'must be 1 to 100 characters')
  }
  if (!BEHAVIORS.has(c.behavior)) throw validationError('behavior', 'must be mask, hash or remove')
  if (!SCOPES.has(c.applies_to)) throw validationError('applies_to', 'must be message, metadata or all')
  const hasPattern = c.pattern != null
  const names = c.field_names ?? []
  if (!hasPattern && names.length === 0) throw validationError('pattern', 'or field_names is required')
  if (names.some((n) => typeof n !== 'string' || n.length === 0 || n.length > 200)) {
    throw validationError('field_names', 'must be names of 1 to 200 characters')
  }
  const scanners = hasPattern ? [customScanner(c.pattern!)] : []
  const wanted = new Set(names.map((n) => n.toLowerCase()))
  return {
    name: c.name,
    behavior: c.behavior,
    message: c.applies_to !== 'metadata',
    // A field-name rule reads metadata keys whatever applies_to says... unless it says message only.
    metadata: c.applies_to !== 'message',
    scanners,
    precheck: undefined,
    fieldName: wanted.size > 0 ? (key) => wanted.has(key.toLowerCase()) : undefined,
  }
}

const setOwn = (out: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}

/** The per-entry state: the key and the matched rule names. */
class Run {
  readonly matched = new Set<string>()
  constructor(readonly key: Buffer) {}

  replacement(rule: CompiledRule, value: unknown): string {
    this.matched.add(rule.name)
    return rule.behavior === 'hash' ? hashText(this.key, value) : maskText(rule.name)
  }

  /** A string through the value rules; `removed` is set when a `remove` rule matched it. */
  scan(text: string, rules: readonly CompiledRule[], inField: boolean): { text: string; removedBy?: CompiledRule } {
    let out = text
    for (const rule of rules) {
      if (rule.precheck && !rule.precheck(out)) continue
      for (const scanner of rule.scanners) {
        const next = scanner(out, (secret) => this.replacement(rule, secret))
        if (next !== out) {
          if (inField && rule.behavior === 'remove') return { text: next, removedBy: rule }
          out = next
        }
      }
    }
    return { text: out }
  }

  /**
   * A metadata value → its redacted copy, or the same reference when nothing in it changed
   * (inputs are never written to: the OTLP decoder shares objects between entries).
   * `REMOVE` means the caller drops the field.
   */
  value(value: unknown, c: CompiledRedaction, inArray: boolean): unknown {
    if (typeof value === 'string') {
      if (c.metadataRules.length === 0) return value
      const r = this.scan(value, c.metadataRules, !inArray)
      return r.removedBy ? REMOVE : r.text
    }
    if (value === null || typeof value !== 'object') return value
    if (Array.isArray(value)) {
      let out: unknown[] | undefined
      for (let i = 0; i < value.length; i++) {
        const v = value[i]
        const next = this.value(v, c, true)
        if (next !== v) (out ??= value.slice())[i] = next
      }
      return out ?? value
    }
    return this.object(value as Record<string, unknown>, c)
  }

  object(obj: Record<string, unknown>, c: CompiledRedaction): Record<string, unknown> {
    let out: Record<string, unknown> | undefined
    const keys = Object.keys(obj)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const v = obj[key]
      let next: unknown = v
      const byName = c.fieldRules.find((r) => r.fieldName!(key))
      if (byName) {
        next = byName.behavior === 'remove' ? (this.matched.add(byName.name), REMOVE) : this.replacement(byName, v)
      } else {
        next = this.value(v, c, false)
      }
      if (next === v && !out) continue
      if (!out) {
        out = {}
        for (let j = 0; j < i; j++) setOwn(out, keys[j]!, obj[keys[j]!])
      }
      if (next !== REMOVE) setOwn(out, key, next)
    }
    if (!out) return obj
    return out
  }
}

const REMOVE = Symbol('remove')

/**
 * The redaction stage: validateEntry → buildEntry → **redactEntry** → encodeEntry. Returns a
 * new entry (the input and its nested objects are never modified; unchanged nested objects
 * are shared with it) and the names of the rules that matched. Scans the message and the
 * metadata values (strings; a field-name rule replaces a value of any type); keys, service,
 * stream and ids are not scanned.
 */
export const redactEntry = (c: CompiledRedaction, entry: LogEntry, key: Buffer): RedactionResult => {
  if (c.active.length === 0) return { entry: { ...entry }, matched: [] }
  const run = new Run(key)
  const message = c.messageRules.length > 0 ? run.scan(entry.message, c.messageRules, false).text : entry.message
  const metadata =
    entry.metadata && (c.metadataRules.length > 0 || c.fieldRules.length > 0) ? run.object(entry.metadata, c) : entry.metadata
  // Keep the matched names in rule order.
  const matched = run.matched.size === 0 ? [] : c.active.filter((r) => run.matched.has(r.name)).map((r) => r.name)
  return { entry: { ...entry, message, metadata }, matched: [...new Set(matched)] }
}
