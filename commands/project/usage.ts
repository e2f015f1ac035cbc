import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg } from '../../src/cli/project-flags.js'
import { renderTable } from '../../src/cli/table.js'
import type { ProjectUsage } from '../../src/logs/projects.js'
import { usageOf } from '../../src/ops/projects.js'

export default class ProjectUsageCommand extends KrafterCommand {
  static override summary = "Show a project's ingest per UTC day against its daily limit"
  static override args = projectArg
  static override flags = { days: Flags.integer({ description: 'Days to show (1-90)', default: 7, min: 1, max: 90 }) }

  async run(): Promise<ProjectUsage> {
    const { args, flags } = await this.parse(ProjectUsageCommand)
    const usage = await this.withContext(flags['data-dir'], (ctx) => usageOf(ctx, args.project, flags.days))
    this.log(`Daily limit: ${usage.daily_limit_mb} MB; today ${usage.today.percent_of_limit}% used`)
    this.log(renderTable(usage.days, [
      { key: 'date', header: 'date (UTC)' },
      { key: 'entries', header: 'entries' },
      { key: 'bytes_in', header: 'bytes in' },
    ]))
    return usage
  }
}
