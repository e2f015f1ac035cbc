import { sendTestNotification } from '../alerts/evaluate.js'
import { Notifier } from '../alerts/notify.js'
import {
  AlertCreateInput,
  createRule,
  deleteRule,
  getRule,
  listRules,
  presentRule,
  updateRule,
  type AlertRuleView,
} from '../alerts/rules.js'
import { allPages } from '../logs/paging.js'
import { CLI_ACTOR } from '../meta/audit.js'
import { parseInput } from '../validation.js'
import { AlertTestAnswer } from './answers.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, type Via } from './engine-access.js'
import { projectIdOf } from './projects.js'
import { callServer } from './server-client.js'

export type TestResult = Awaited<ReturnType<typeof sendTestNotification>>

/**
 * `alert test`: a marked test notification on every channel of the rule, through the running
 * serve when there is one (its engine supplies the sample entries), else from here.
 */
export const testAlertRule = async (ctx: OpsContext, ruleId: string): Promise<TestResult & { via: Via }> => {
  const rule = getRule(ctx, ctx.team.id, ruleId)
  const { result, via } = await viaServerOrEngine(ctx, {
    server: (runtime) => callServer(runtime, 'POST', `/logs/alerts/${rule.id}/test`, AlertTestAnswer),
    direct: async (engine) => {
      const notifier = new Notifier({ meta: ctx.meta, config: ctx.config, clock: ctx.clock })
      try {
        return await sendTestNotification({ meta: ctx.meta, engine, clock: ctx.clock, notifier }, rule, CLI_ACTOR)
      } finally {
        await notifier.close()
      }
    },
  })
  return { ...result, via }
}

/*
 * Rule changes from the CLI. Rules live in SQLite, which serve re-reads on every evaluation,
 * so these write directly even while serve runs: the same validation and audit as the API
 * (alerts/rules.ts), with actor `cli`.
 */

/** `alert list`: every rule, or those of one project (id or exact name). */
export const allAlertRules = (ctx: OpsContext, projectRef?: string): AlertRuleView[] => {
  const projectId = projectIdOf(ctx, projectRef)
  return allPages((cursor) => listRules(ctx, ctx.team.id, { limit: 100, cursor, projectId }))
}

/** `alert create`: a body as POST /logs/alerts takes it; a project reference replaces its project_id. */
export const createAlertRule = (ctx: OpsContext, body: Record<string, unknown>, projectRef?: string): AlertRuleView => {
  const projectId = projectIdOf(ctx, projectRef)
  const input = parseInput(AlertCreateInput, projectId === undefined ? body : { ...body, project_id: projectId }, 'alert rule')
  return createRule(ctx, ctx.team.id, input, CLI_ACTOR)
}

/** `alert enable|disable`: a rule that is already so is left as it is (and not audited). */
export const setAlertEnabled = (ctx: OpsContext, ruleId: string, enabled: boolean): AlertRuleView & { changed: boolean } => {
  const current = getRule(ctx, ctx.team.id, ruleId)
  if (current.enabled === enabled) return { ...presentRule(current), changed: false }
  return { ...updateRule(ctx, ctx.team.id, current.id, { enabled }, CLI_ACTOR), changed: true }
}

export const deleteAlertRule = (ctx: OpsContext, ruleId: string): { id: string; name: string; deleted: true } => {
  const rule = getRule(ctx, ctx.team.id, ruleId)
  deleteRule(ctx, ctx.team.id, rule.id, CLI_ACTOR)
  return { id: rule.id, name: rule.name, deleted: true }
}
