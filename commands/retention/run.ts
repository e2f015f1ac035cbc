import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderTable } from '../../src/cli/table.js'
import type { RetentionResult } from '../../src/logs/retention.js'
import type { Via } from '../../src/ops/engine-access.js'
import { retentionNow } from '../../src/ops/maintenance.js'

export default class RetentionRun extends KrafterCommand {
  static override summary = "Delete each project's entries older than its retention_days, now"
  static override description = 'serve runs the same cleanup every night (retention.run_at in krafter.yaml). --dry-run only counts.'
  static override flags = {
    project: Flags.string({ description: 'Only this project (id or exact name)' }),
    'dry-run': Flags.boolean({ description: 'Report what would be removed; remove nothing' }),
  }

  async run(): Promise<RetentionResult & { via: Via }> {
    const { flags } = await this.parse(RetentionRun)
    const result = await this.withContext(flags['data-dir'], (ctx) =>
      retentionNow(ctx, { project: flags.project, dry_run: flags['dry-run'] }),
    )
    const verb = result.dry_run ? 'would remove' : 'removed'
    this.log(
      renderTable(
        result.projects.map((p) => ({ ...p, entries: p.entries.toLocaleString('en-US') })),
        [
          { key: 'name', header: 'project' },
          { key: 'retention_days', header: 'retention days' },
          { key: 'cutoff', header: 'older than' },
          { key: 'entries', header: verb },
        ],
      ),
    )
    const outcome = result.dry_run ? 'would be removed' : 'removed'
    this.log(`\n${result.dry_run ? 'Dry run: ' : ''}${result.total_entries.toLocaleString('en-US')} entries ${outcome} in ${result.projects.length} project(s) (via ${result.via}).`)
    return result
  }
}
