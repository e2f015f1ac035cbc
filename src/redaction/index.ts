/** Redaction (issue 14): built-in and custom rules applied to an entry before it is encoded. */
export { BUILTIN_RULES, luhn, secretFieldName } from './builtins.js'
export { compileLinearPattern, MAX_PATTERN_CHARS, type LinearPattern } from './pattern.js'
export {
  compileCustomRule,
  compileRedaction,
  hashText,
  hashValue,
  maskText,
  redactEntry,
  type CompiledRedaction,
  type RedactionResult,
} from './redact.js'
export type { BuiltinOverride, CustomRuleInput, RedactionBehavior, RedactionRule, RedactionScope } from './types.js'
