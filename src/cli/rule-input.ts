import { readFileSync } from 'node:fs'
import { Flags } from '@oclif/core'
import YAML from 'yaml'
import { errorMessage, UserError } from '../errors.js'

const RULE_FLAGS = ['name', 'query', 'type', 'threshold', 'threshold-percent', 'window-minutes', 'min-entries', 'cooldown-minutes', 'email', 'webhook', 'disabled']

/** `alert create`: the rule as flags, or a file with the body of POST /logs/alerts. */
export const ruleFlags = {
  project: Flags.string({ char: 'p', description: "Project id or exact name (with --from-file: replaces the file's project_id)" }),
  name: Flags.string({ description: 'Rule name (1-100 chars)' }),
  query: Flags.string({ char: 'q', description: "Entries that count, in the q language, e.g. 'level:error OR level:fatal'" }),
  type: Flags.string({ description: 'count: matching entries in the window >= --threshold; rate: their share of all entries >= --threshold-percent [default: rate with --threshold-percent, else count]', options: ['count', 'rate'] }),
  threshold: Flags.integer({ description: 'count: fire at this many matching entries (>= 1)' }),
  'threshold-percent': Flags.string({ description: 'rate: fire at this share of matching entries (0-100, e.g. 5 or 2.5)' }),
  'window-minutes': Flags.integer({ description: 'Window the condition looks back over (1-1440)' }),
  'min-entries': Flags.integer({ description: 'rate: only with at least this many entries in the window [default: 10]' }),
  'cooldown-minutes': Flags.integer({ description: 'Minutes between two firings of the rule (0-10080) [default: 15]' }),
  email: Flags.string({ description: 'Send to this address (repeatable)', multiple: true }),
  webhook: Flags.string({ description: 'POST a signed JSON notification to this http(s) URL' }),
  'webhook-secret': Flags.string({ description: 'HMAC secret for --webhook (8-256 chars) [default: generated, shown once]', dependsOn: ['webhook'] }),
  disabled: Flags.boolean({ description: 'Create the rule disabled' }),
  'from-file': Flags.string({
    description: 'JSON or YAML file with the rule as POST /api/v1/logs/alerts takes it (- for stdin)',
    exclusive: RULE_FLAGS,
  }),
}

type RuleFlagValues = {
  name?: string
  query?: string
  type?: string
  threshold?: number
  'threshold-percent'?: string
  'window-minutes'?: number
  'min-entries'?: number
  'cooldown-minutes'?: number
  email?: string[]
  webhook?: string
  'webhook-secret'?: string
  disabled?: boolean
  'from-file'?: string
}

const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined))

/** A number flag kept as typed when it is not one, so validation names the field. */
const numeric = (value: string | undefined): number | string | undefined =>
  value === undefined || value.trim() === '' || !Number.isFinite(Number(value)) ? value : Number(value)

const readRuleFile = (file: string): unknown => {
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (err) {
    throw new UserError(`Could not read ${file}: ${errorMessage(err)}`, { exitCode: 2 })
  }
  try {
    // YAML is a superset of JSON: one parser for both.
    return YAML.parse(text)
  } catch (err) {
    throw new UserError(`${file} is neither JSON nor YAML: ${errorMessage(err).split('\n')[0]}`, { exitCode: 2 })
  }
}

/**
 * The body for the rules API, from the file or the flags (--project is applied by the ops
 * service); its validation is the API's (alerts/rules.ts), so a missing --threshold is
 * reported as condition.threshold.
 */
export const ruleBody = (flags: RuleFlagValues): Record<string, unknown> => {
  if (flags['from-file'] !== undefined) {
    const body = readRuleFile(flags['from-file'])
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new UserError(`${flags['from-file']} must hold one rule (a JSON object or YAML mapping).`, { exitCode: 2 })
    }
    return body as Record<string, unknown>
  }
  const type = flags.type ?? (flags['threshold-percent'] !== undefined ? 'rate' : 'count')
  const channels = [
    ...(flags.email?.length ? [{ type: 'email', to: flags.email }] : []),
    ...(flags.webhook !== undefined ? [defined({ type: 'webhook', url: flags.webhook, secret: flags['webhook-secret'] })] : []),
  ]
  return defined({
    name: flags.name,
    query: flags.query,
    condition: defined({
      type,
      threshold: flags.threshold,
      threshold_percent: numeric(flags['threshold-percent']),
      window_minutes: flags['window-minutes'],
      min_entries: flags['min-entries'],
    }),
    channels,
    cooldown_minutes: flags['cooldown-minutes'],
    enabled: flags.disabled ? false : undefined,
  })
}
