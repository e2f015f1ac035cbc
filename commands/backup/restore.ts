import { Args, Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { runSteps } from '../../src/cli/progress.js'
import { loadConfig } from '../../src/config/config.js'
import { dataPaths, resolveDataDir } from '../../src/config/paths.js'
import { planRestore, restoreRecorded, type Manifest } from '../../src/backup/backup.js'
import { openEngine } from '../../src/engine/engine.js'
import { UserError } from '../../src/errors.js'
import { readRuntime } from '../../src/ops/runtime.js'

export default class BackupRestore extends KrafterCommand {
  static override summary = 'Restore a backup into a stopped instance and verify it against its manifest'
  static override description =
    'Refused while serve runs on the data dir. Replaces the metadata and log entries (--force when the data dir already holds data); krafter.yaml comes from the backup only when the data dir has none.'
  static override args = { path: Args.string({ description: 'Backup directory (from backup create / backup list)', required: true }) }
  static override flags = { force: Flags.boolean({ description: 'Replace the data of an initialised data dir' }) }

  async run(): Promise<{ path: string; data_dir: string; manifest: Manifest; restored: { counts: Manifest['counts'] } }> {
    const { args, flags } = await this.parse(BackupRestore)
    const paths = dataPaths(resolveDataDir(flags['data-dir']))
    const running = readRuntime(paths)
    if (running) {
      throw new UserError(`krafter-logs serve is running on ${paths.root} (pid ${running.pid}); a restore needs it stopped.`, {
        suggestions: ['Stop serve (SIGTERM, or systemctl stop krafter-logs), restore, then start it again.'],
      })
    }
    const started = new Date()
    const { steps, state } = planRestore({
      dir: args.path,
      paths,
      force: flags.force,
      openEngine: () => openEngine(loadConfig(paths.config), paths),
    })
    try {
      await runSteps(steps, state, { quiet: this.jsonEnabled() })
    } finally {
      await state.engine?.close()
    }
    restoreRecorded(paths, state.manifest!, args.path, started, new Date())
    const counts = state.restored!.counts
    this.log(`\nRestored ${args.path} into ${paths.root}: ${counts.projects} projects, ${counts.api_keys} API keys, ${counts.alert_rules} alert rules, ${counts.entries.toLocaleString('en-US')} entries; all counts match the manifest.`)
    return { path: args.path, data_dir: paths.root, manifest: state.manifest!, restored: { counts } }
  }
}
