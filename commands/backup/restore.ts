import { Args, Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { runSteps } from '../../src/cli/progress.js'
import { restoreBackup, type RestoreResult } from '../../src/ops/maintenance.js'

export default class BackupRestore extends KrafterCommand {
  static override summary = 'Restore a backup into a stopped instance and verify it against its manifest'
  static override description =
    'Refused while serve runs on the data dir. Replaces the metadata and log entries (--force when the data dir already holds data); krafter.yaml comes from the backup only when the data dir has none.'
  static override args = { path: Args.string({ description: 'Backup directory (from backup create / backup list)', required: true }) }
  static override flags = { force: Flags.boolean({ description: 'Replace the data of an initialised data dir' }) }

  async run(): Promise<RestoreResult> {
    const { args, flags } = await this.parse(BackupRestore)
    const result = await restoreBackup({ dataDir: flags['data-dir'], dir: args.path, force: flags.force }, (steps, state) =>
      runSteps(steps, state, { quiet: this.jsonEnabled() }),
    )
    const { counts } = result.restored
    this.log(`\nRestored ${result.path} into ${result.data_dir}: ${counts.projects} projects, ${counts.api_keys} API keys, ${counts.alert_rules} alert rules, ${counts.entries.toLocaleString('en-US')} entries; all counts match the manifest.`)
    return result
  }
}
