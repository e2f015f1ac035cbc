import { sendTestNotification } from '../alerts/evaluate.js'
import { Notifier } from '../alerts/notify.js'
import {
  AlertCreateInput,
  createRule,
  deleteRule,
  getRule,
  presentRule,
  updateRule,
  type AlertRuleView,
} from '../alerts/rules.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, type Via } from './engine-access.js'
import { callServer } from './runtime.js'
import { auditCli } from '../access/audit.js'

export type TestResult = Awaited<ReturnType<typeof sendTestNotification>>

/**
 * `alert test`: a marked test notification on every channel of the rule, through the running
 * serve when there is one (its engine supplies the sample entries), else from here.
 */
export const testAlertRule = async (ctx: OpsContext, ruleId: string): Promise<TestResult & { via: Via }> => {
  const rule = getRule(ctx, ctx.team.id, ruleId)
  const { result, via } = await viaServerOrEngine(ctx, {
    server: async (runtime) => (await callServer<TestResult>(runtime, 'POST', `/logs/alerts/${rule.id}/test`)).data!,
    direct: async (engine) => {
      const notifier = new Notifier({ meta: ctx.meta, config: ctx.config, clock: ctx.clock })
      try {
        const result = await sendTestNotification({ meta: ctx.meta, engine, clock: ctx.clock, notifier }, rule)
        auditCli(ctx, ctx.team.id, 'alert.test', { type: 'alert_rule', id: rule.id }, { ok: result.ok })
        return result
      } finally {
        await notifier.close()
      }
    },
  })
  return { ...result, via }
}

/*
 * Rule changes from the CLI. Rules live in SQLite, which serve re-reads on every evaluation,
 * so these write directly even while serve runs: the same validation as the API
 * (alerts/rules.ts) and the same audit actions, with actor `cli`.
 */

/** `alert create`: a body as POST /logs/alerts takes it. */
export const createAlertRule = (ctx: OpsContext, body: unknown): AlertRuleView => {
  const rule = createRule(ctx, ctx.team.id, parseInput(AlertCreateInput, body, 'alert rule'))
  auditCli(ctx, ctx.team.id, 'alert.create', { type: 'alert_rule', id: rule.id }, { name: rule.name, project_id: rule.project_id })
  return rule
}

/** `alert enable|disable`: a rule that is already so is left as it is (and not audited). */
export const setAlertEnabled = (ctx: OpsContext, ruleId: string, enabled: boolean): AlertRuleView & { changed: boolean } => {
  const current = getRule(ctx, ctx.team.id, ruleId)
  if (current.enabled === enabled) return { ...presentRule(current), changed: false }
  const updated = updateRule(ctx, ctx.team.id, current.id, { enabled })
  auditCli(ctx, ctx.team.id, 'alert.update', { type: 'alert_rule', id: updated.id }, { fields: ['enabled'] })
  return { ...updated, changed: true }
}

export const deleteAlertRule = (ctx: OpsContext, ruleId: string): { id: string; name: string; deleted: true } => {
  const rule = getRule(ctx, ctx.team.id, ruleId)
  deleteRule(ctx, ctx.team.id, rule.id)
  auditCli(ctx, ctx.team.id, 'alert.delete', { type: 'alert_rule', id: rule.id })
  return { id: rule.id, name: rule.name, deleted: true }
}
