import path from 'node:path'
import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { runSteps } from '../../src/cli/progress.js'
import type { BackupResult } from '../../src/backup/backup.js'
import type { Via } from '../../src/ops/engine-access.js'
import { backupNow } from '../../src/ops/maintenance.js'

export default class BackupCreate extends KrafterCommand {
  static override summary = 'Back up the metadata and the log entries into one directory with a manifest'
  static override description =
    'Consistent while serve runs (it makes the backup). The directory holds meta.sqlite, the entries in ClickHouse Native format, krafter.yaml and manifest.json (versions, counts, SHA-256 checksums).'
  static override flags = {
    out: Flags.string({ description: 'Directory that receives the backup [default: <data dir>/backups]' }),
    keep: Flags.integer({ description: 'Afterwards keep only the newest N backups in that directory', min: 1 }),
  }

  async run(): Promise<BackupResult & { via: Via }> {
    const { flags } = await this.parse(BackupCreate)
    // Resolved here: a running serve would resolve a relative path against its own directory.
    const body = { out: flags.out && path.resolve(flags.out), keep: flags.keep }
    const result = await this.withContext(flags['data-dir'], (ctx) =>
      backupNow(ctx, body, (steps, state) => runSteps(steps, state, { quiet: this.jsonEnabled() })),
    )
    const bytes = result.manifest.files.reduce((n, f) => n + f.bytes, 0)
    this.log(`\nBackup written to ${result.path} (via ${result.via})`)
    this.log(`  ${result.manifest.counts.projects} projects, ${result.manifest.counts.entries.toLocaleString('en-US')} entries, ${(bytes / 1024 / 1024).toFixed(1)} MiB`)
    for (const removed of result.removed) this.log(`  removed old backup ${removed}`)
    return result
  }
}
