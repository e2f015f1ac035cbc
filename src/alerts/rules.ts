import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { Config } from '../config/config.js'
import { AppError, notFound } from '../errors.js'
import { decodeCursor, pageOf, textKey, type Page } from '../logs/paging.js'
import { MAX_QUERY_LENGTH, parseQuery } from '../logs/query/parse.js'
import * as repo from '../meta/alerts.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { getProject } from '../meta/projects.js'
import { PRIVATE_WEBHOOK_HINT, privateTargetReason } from './webhook-target.js'

export interface AlertDeps {
  meta: MetaDb
  config: Pick<Config, 'alerts'>
  clock: () => Date
}

const windowMinutes = z
  .number({ error: 'must be an integer from 1 to 1440' })
  .int('must be an integer from 1 to 1440')
  .min(1, 'must be an integer from 1 to 1440')
  .max(1440, 'must be an integer from 1 to 1440')

export const ConditionInput = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('count'),
        threshold: z.number({ error: 'must be an integer ≥ 1' }).int('must be an integer ≥ 1').min(1, 'must be an integer ≥ 1').max(1e12),
        window_minutes: windowMinutes,
      })
      .strict(),
    z
      .object({
        type: z.literal('rate'),
        threshold_percent: z
          .number({ error: 'must be a number above 0 and at most 100' })
          .gt(0, 'must be a number above 0 and at most 100')
          .max(100, 'must be a number above 0 and at most 100'),
        window_minutes: windowMinutes,
        // A share of very few entries is noise: 1 error in 1 entry is not a 100 % error rate.
        min_entries: z.number({ error: 'must be an integer ≥ 1' }).int('must be an integer ≥ 1').min(1, 'must be an integer ≥ 1').default(10),
      })
      .strict(),
  ],
  { error: 'must be {"type": "count", …} or {"type": "rate", …}' },
)

/**
 * local@domain, the domain one label or dotted labels of 1+ letters, digits or inner hyphens
 * (API.md's own example is a@b.c; root@localhost is a fine address on a mail host).
 */
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const emailAddress = z
  .string()
  .max(254, 'must be email addresses')
  .regex(EMAIL, 'must be email addresses')
  .refine((address) => address.lastIndexOf('@') <= 64, 'must be email addresses')

const EmailChannelInput = z
  .object({
    type: z.literal('email'),
    to: z.array(emailAddress).min(1, 'must list 1 to 20 addresses').max(20, 'must list 1 to 20 addresses'),
  })
  .strict()

const WebhookChannelInput = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2048),
    // Omitted: kept from the rule's webhook with the same URL, or generated (shown once).
    secret: z.string().min(8, 'must be 8 to 256 characters').max(256, 'must be 8 to 256 characters').optional(),
  })
  .strict()

const ChannelInput = z.discriminatedUnion('type', [EmailChannelInput, WebhookChannelInput], {
  error: 'must be {"type": "email", "to": […]} or {"type": "webhook", "url": …}',
})

/** The fields of a rule, one schema each (also what a preview of a rule takes: preview.ts). */
export const ruleFields = {
  project_id: z.uuid('must be a project id (UUID)'),
  name: z.string().trim().min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters'),
  query: z.string().trim().min(1, 'must be a q-language query').max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`),
  condition: ConditionInput,
  channels: z.array(ChannelInput).min(1, 'must have 1 to 10 channels').max(10, 'must have 1 to 10 channels'),
  cooldown_minutes: z
    .number({ error: 'must be an integer from 0 to 10080' })
    .int('must be an integer from 0 to 10080')
    .min(0, 'must be an integer from 0 to 10080')
    .max(10_080, 'must be an integer from 0 to 10080'),
  enabled: z.boolean({ error: 'must be true or false' }),
}

export const RULE_DEFAULTS = { cooldown_minutes: 15, enabled: true } as const

export const AlertCreateInput = z
  .object({
    ...ruleFields,
    cooldown_minutes: ruleFields.cooldown_minutes.default(RULE_DEFAULTS.cooldown_minutes),
    enabled: ruleFields.enabled.default(RULE_DEFAULTS.enabled),
  })
  .strict()
export type AlertCreateInput = z.infer<typeof AlertCreateInput>

/** PUT is partial, as for projects: given fields replace the rule's (channels as a whole). */
export const AlertUpdateInput = z.object(ruleFields).partial().strict()
export type AlertUpdateInput = z.infer<typeof AlertUpdateInput>

export const EventPatchInput = z
  .object({ status: z.enum(['acknowledged', 'resolved'], { error: 'must be acknowledged or resolved' }) })
  .strict()
export type EventPatchInput = z.infer<typeof EventPatchInput>

export type ChannelView = { type: 'email'; to: string[] } | { type: 'webhook'; url: string; secret?: string }

/** A rule as the API shows it: webhook secrets only in the response that set them. */
export type AlertRuleView = Omit<repo.AlertRule, 'team_id' | 'channels'> & { channels: ChannelView[] }

export const presentRule = (rule: repo.AlertRule, options: { revealSecrets?: boolean } = {}): AlertRuleView => {
  const { team_id: _team, channels, ...rest } = rule
  return {
    ...rest,
    channels: channels.map((c) => (c.type === 'webhook' && !options.revealSecrets ? { type: 'webhook', url: c.url } : c)),
  }
}

export type AlertEventView = repo.AlertEvent & { deliveries: Omit<repo.DeliveryAttempt, 'rule_id' | 'event_id'>[] }

const presentEvents = (meta: MetaDb, events: repo.AlertEvent[]): AlertEventView[] => {
  const byEvent = new Map<string, AlertEventView['deliveries']>()
  for (const { rule_id: _r, event_id, ...attempt } of repo.deliveriesOfEvents(meta, events.map((e) => e.id))) {
    const list = byEvent.get(event_id!) ?? []
    list.push(attempt)
    byEvent.set(event_id!, list)
  }
  return events.map((e) => ({ ...e, deliveries: byEvent.get(e.id) ?? [] }))
}

const webhookSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`

/**
 * Webhooks given in a create or update must point to public addresses unless the config allows
 * private ones (the notifier checks again after DNS resolution, at every delivery).
 */
const assertWebhookTargets = (deps: AlertDeps, channels: z.infer<typeof ChannelInput>[]): void => {
  if (deps.config.alerts.allow_private_webhooks) return
  channels.forEach((c, i) => {
    const refused = c.type === 'webhook' ? privateTargetReason(c.url) : undefined
    if (refused) {
      throw new AppError('validation_error', `Invalid channels.${i}.url: ${refused}; ${PRIVATE_WEBHOOK_HINT}`, {
        details: [{ field: `channels.${i}.url`, message: `must not point to a loopback, link-local or private address (${refused})` }],
      })
    }
  })
}

/** A rule's query must parse; its error names the field `query` (the q language's own errors name `q`). */
export const assertRuleQuery = (query: string): void => {
  try {
    parseQuery(query)
  } catch (err) {
    if (err instanceof AppError) {
      throw new AppError('validation_error', err.message.replace(/^Invalid q/, 'Invalid query'), {
        details: [{ field: 'query', message: err.details?.[0]?.message ?? err.message }],
      })
    }
    throw err
  }
}

/** Checks what zod cannot: the query parses, the project is the team's, webhooks get a secret. */
const resolveFields = (
  deps: AlertDeps,
  teamId: string,
  input: Omit<repo.RuleFields, 'channels'> & { channels: z.infer<typeof ChannelInput>[] },
  previous?: repo.AlertRule,
): repo.RuleFields => {
  assertRuleQuery(input.query)
  if (!getProject(deps.meta, teamId, input.project_id)) {
    throw new AppError('validation_error', 'Invalid project_id: no such project', {
      details: [{ field: 'project_id', message: 'is not a project of this team' }],
    })
  }
  const channels: repo.Channel[] = input.channels.map((c) => {
    if (c.type === 'email') return { type: 'email', to: [...new Set(c.to)] }
    const kept = previous?.channels.find((p): p is Extract<repo.Channel, { type: 'webhook' }> => p.type === 'webhook' && p.url === c.url)
    return { type: 'webhook', url: c.url, secret: c.secret ?? kept?.secret ?? webhookSecret() }
  })
  return { ...input, channels }
}

const requireRule = (deps: AlertDeps, teamId: string, id: string): repo.AlertRule => {
  const rule = repo.getRule(deps.meta, teamId, id)
  if (!rule) throw notFound('Alert rule')
  return rule
}

export const createRule = (deps: AlertDeps, teamId: string, input: AlertCreateInput, by: Actor): AlertRuleView => {
  assertWebhookTargets(deps, input.channels)
  const fields = resolveFields(deps, teamId, input)
  const rule = repo.insertRule(deps.meta, teamId, fields, deps.clock())
  recordAction(deps, by, teamId, 'alert.create', { type: 'alert_rule', id: rule.id }, { name: rule.name, project_id: rule.project_id })
  return presentRule(rule, { revealSecrets: true })
}

export const getRule = (deps: AlertDeps, teamId: string, id: string): repo.AlertRule => requireRule(deps, teamId, id)

export const listRules = (
  deps: AlertDeps,
  teamId: string,
  options: { limit: number; cursor?: string; projectId?: string; projectIds?: string[] | null },
): Page<AlertRuleView> => {
  const after = options.cursor ? decodeCursor(options.cursor, textKey('at', 'id')) : undefined
  const rows = repo.listRules(deps.meta, teamId, { ...options, limit: options.limit + 1, after })
  return pageOf(rows, options.limit, (last) => ({ at: last.created_at, id: last.id }), (r) => presentRule(r))
}

export const updateRule = (deps: AlertDeps, teamId: string, id: string, input: AlertUpdateInput, by: Actor): AlertRuleView => {
  const current = requireRule(deps, teamId, id)
  if (input.channels) assertWebhookTargets(deps, input.channels)
  const merged = { ...current, ...input }
  const fields = resolveFields(deps, teamId, merged, current)
  const updated = repo.updateRuleRow(deps.meta, teamId, id, fields, deps.clock())
  if (!updated) throw notFound('Alert rule')
  recordAction(deps, by, teamId, 'alert.update', { type: 'alert_rule', id }, { fields: Object.keys(input) })
  return presentRule(updated, { revealSecrets: input.channels !== undefined })
}

export const deleteRule = (deps: AlertDeps, teamId: string, id: string, by: Actor): void => {
  if (!repo.deleteRuleRow(deps.meta, teamId, id)) throw notFound('Alert rule')
  recordAction(deps, by, teamId, 'alert.delete', { type: 'alert_rule', id })
}

export const listRuleEvents = (
  deps: AlertDeps,
  teamId: string,
  id: string,
  options: { limit: number; cursor?: string },
): Page<AlertEventView> => {
  requireRule(deps, teamId, id)
  const before = options.cursor ? decodeCursor(options.cursor, textKey('at', 'id')) : undefined
  const rows = repo.listEvents(deps.meta, id, { limit: options.limit + 1, before })
  const page = pageOf(rows, options.limit, (last) => ({ at: last.opened_at, id: last.id }))
  // Deliveries are read for the whole page at once.
  return { ...page, items: presentEvents(deps.meta, page.items) }
}

/** The event and its rule, if the rule is the team's (other teams' events are not found). */
export const findEvent = (deps: AlertDeps, teamId: string, eventId: string): { event: repo.AlertEvent; rule: repo.AlertRule } => {
  const event = repo.getEvent(deps.meta, eventId)
  const rule = event && repo.getRule(deps.meta, teamId, event.rule_id)
  if (!event || !rule) throw notFound('Alert event')
  return { event, rule }
}

export const getEventView = (deps: AlertDeps, teamId: string, eventId: string): AlertEventView =>
  presentEvents(deps.meta, [findEvent(deps, teamId, eventId).event])[0]!

/** Acknowledges an open firing, or resolves an open or acknowledged one, by hand. */
export const patchEvent = (deps: AlertDeps, teamId: string, eventId: string, input: EventPatchInput, by: Actor): AlertEventView => {
  const { event } = findEvent(deps, teamId, eventId)
  const allowed = input.status === 'acknowledged' ? event.status === 'open' : event.status !== 'resolved'
  if (!allowed) {
    throw new AppError('conflict', `The alert event is ${event.status}; it cannot become ${input.status}`, {
      details: [{ field: 'status', message: `cannot go from ${event.status} to ${input.status}` }],
    })
  }
  const updated = repo.setEventStatus(deps.meta, eventId, input.status, deps.clock(), 'manual')!
  recordAction(deps, by, teamId, 'alert_event.update', { type: 'alert_event', id: eventId }, { status: updated.status })
  return presentEvents(deps.meta, [updated])[0]!
}
