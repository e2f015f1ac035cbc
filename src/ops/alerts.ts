import { sendTestNotification } from '../alerts/evaluate.js'
import { Notifier } from '../alerts/notify.js'
import { getRule } from '../alerts/rules.js'
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
