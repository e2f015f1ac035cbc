import { Args } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderTable } from '../../src/cli/table.js'
import { testAlertRule, type TestResult } from '../../src/ops/alerts.js'
import type { Via } from '../../src/ops/engine-access.js'

export default class AlertTest extends KrafterCommand {
  static override summary = 'Send a test notification on every channel of an alert rule and report each delivery'
  static override description = 'Exits 1 when any channel failed, so scripts and CI can check alert plumbing.'
  static override args = { id: Args.string({ description: 'Alert rule id', required: true }) }

  async run(): Promise<TestResult & { via: Via }> {
    const { args, flags } = await this.parse(AlertTest)
    const result = await this.withContext(flags['data-dir'], (ctx) => testAlertRule(ctx, args.id))
    this.log(
      renderTable(
        result.deliveries.map((d) => ({ ...d, result: d.ok ? 'delivered' : 'FAILED' })),
        [
          { key: 'channel', header: 'channel' },
          { key: 'target', header: 'target' },
          { key: 'result', header: 'result' },
          { key: 'status_code', header: 'status' },
          { key: 'duration_ms', header: 'ms' },
          { key: 'error', header: 'error' },
        ],
      ),
    )
    if (!result.ok) {
      this.logToStderr(`${result.deliveries.filter((d) => !d.ok).length} of ${result.deliveries.length} deliveries failed.`)
      process.exitCode = 1
    }
    return result
  }
}
