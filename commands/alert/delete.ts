import { Args } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { deleteAlertRule } from '../../src/ops/alerts.js'

export default class AlertDelete extends KrafterCommand {
  static override summary = 'Delete an alert rule with its firings and delivery records'
  static override args = { id: Args.string({ description: 'Alert rule id (see alert list)', required: true }) }

  async run(): Promise<{ id: string; name: string; deleted: true }> {
    const { args, flags } = await this.parse(AlertDelete)
    const deleted = await this.withContext(flags['data-dir'], (ctx) => deleteAlertRule(ctx, args.id))
    this.log(`Deleted alert rule "${deleted.name}" (${deleted.id}).`)
    return deleted
  }
}
