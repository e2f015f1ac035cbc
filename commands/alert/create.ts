import { KrafterCommand } from '../../src/cli/base.js'
import { ruleBody, ruleFlags } from '../../src/cli/rule-input.js'
import { renderRecord } from '../../src/cli/table.js'
import type { AlertRuleView } from '../../src/alerts/rules.js'
import { createAlertRule } from '../../src/ops/alerts.js'

export default class AlertCreate extends KrafterCommand {
  static override summary = 'Create an alert rule from flags or from a JSON/YAML file'
  static override description =
    'Validated as POST /api/v1/logs/alerts validates it (docs/alerts.md) and audited. Works while serve runs: serve reads the rules at every evaluation. A generated webhook secret is shown only this once.'
  static override examples = [
    "<%= config.bin %> alert create --project web --name 'Errors' --query 'level:error OR level:fatal' --threshold 10 --window-minutes 5 --email oncall@example.com",
    "<%= config.bin %> alert create -p web --name 'Error rate' --query level:error --threshold-percent 5 --window-minutes 10 --webhook https://hooks.example.com/krafter",
    '<%= config.bin %> alert create --from-file rule.yaml --project web --json',
  ]
  static override flags = ruleFlags

  async run(): Promise<AlertRuleView> {
    const { flags } = await this.parse(AlertCreate)
    const rule = await this.withContext(flags['data-dir'], (ctx) => createAlertRule(ctx, ruleBody(flags), flags.project))
    this.log(renderRecord(rule))
    if (rule.channels.some((c) => c.type === 'webhook' && c.secret)) {
      this.log('\nThe webhook secret is shown only this once: the receiver checks X-Krafter-Signature with it.')
    }
    return rule
  }
}
