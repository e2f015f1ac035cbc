import { Args } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import type { AlertRuleView } from '../../src/alerts/rules.js'
import { setAlertEnabled } from '../../src/ops/alerts.js'

export default class AlertEnable extends KrafterCommand {
  static override summary = 'Enable an alert rule (serve evaluates it from its next pass on)'
  static override args = { id: Args.string({ description: 'Alert rule id (see alert list)', required: true }) }

  async run(): Promise<AlertRuleView & { changed: boolean }> {
    const { args, flags } = await this.parse(AlertEnable)
    const rule = await this.withContext(flags['data-dir'], (ctx) => setAlertEnabled(ctx, args.id, true))
    this.log(`${rule.changed ? 'Enabled' : 'Already enabled:'} alert rule "${rule.name}" (${rule.id}).`)
    return rule
  }
}
