import { Args } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import type { AlertRuleView } from '../../src/alerts/rules.js'
import { setAlertEnabled } from '../../src/ops/alerts.js'

export default class AlertDisable extends KrafterCommand {
  static override summary = 'Disable an alert rule (serve stops evaluating it at its next pass)'
  static override args = { id: Args.string({ description: 'Alert rule id (see alert list)', required: true }) }

  async run(): Promise<AlertRuleView & { changed: boolean }> {
    const { args, flags } = await this.parse(AlertDisable)
    const rule = await this.withContext(flags['data-dir'], (ctx) => setAlertEnabled(ctx, args.id, false))
    this.log(`${rule.changed ? 'Disabled' : 'Already disabled:'} alert rule "${rule.name}" (${rule.id}).`)
    return rule
  }
}
