import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderTable } from '../../src/cli/table.js'
import type { AlertRuleView } from '../../src/alerts/rules.js'
import { allAlertRules } from '../../src/ops/alerts.js'

export default class AlertList extends KrafterCommand {
  static override summary = 'List alert rules with their last evaluation'
  static override flags = { project: Flags.string({ description: 'Only the rules of this project (id or exact name)' }) }

  async run(): Promise<AlertRuleView[]> {
    const { flags } = await this.parse(AlertList)
    const rules = await this.withContext(flags['data-dir'], (ctx) => allAlertRules(ctx, flags.project))
    this.log(
      rules.length
        ? renderTable(
            rules.map((r) => ({ ...r, channels: r.channels.map((c) => c.type).join(','), state: r.enabled ? 'enabled' : 'disabled' })),
            [
              { key: 'id', header: 'id' },
              { key: 'name', header: 'name' },
              { key: 'query', header: 'query' },
              { key: 'channels', header: 'channels' },
              { key: 'state', header: 'state' },
              { key: 'last_evaluated_at', header: 'last evaluated' },
              { key: 'last_value', header: 'value' },
              { key: 'last_fired_at', header: 'last fired' },
            ],
          )
        : 'No alert rules yet: krafter-logs alert create (or POST /api/v1/logs/alerts, docs/alerts.md).',
    )
    return rules
  }
}
