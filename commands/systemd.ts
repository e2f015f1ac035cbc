import { Flags } from '@oclif/core'
import { KrafterCommand } from '../src/cli/base.js'
import { systemdNextSteps, systemdUnit, type SystemdUnitResult } from '../src/ops/systemd.js'

export default class Systemd extends KrafterCommand {
  static override summary = 'Print (or write) a systemd unit that runs serve for this data dir'
  static override description =
    'The unit starts this krafter-logs with this node binary, as the current user unless --user, restarts it on failure and may write only the data dir. --write never replaces an existing file.'
  static override examples = [
    '<%= config.bin %> systemd --data-dir /var/lib/krafter-logs --user krafter | sudo tee /etc/systemd/system/krafter-logs.service',
    'sudo <%= config.bin %> systemd --data-dir /var/lib/krafter-logs --user krafter --write /etc/systemd/system/krafter-logs.service',
  ]

  static override flags = {
    write: Flags.string({ description: 'Write the unit to this file (mode 0644) instead of only printing it' }),
    user: Flags.string({ description: 'Account the service runs as (User=) [default: the current user]' }),
    bin: Flags.string({ description: 'krafter-logs executable for ExecStart [default: this CLI, started with this node]' }),
  }

  async run(): Promise<SystemdUnitResult> {
    const { flags } = await this.parse(Systemd)
    const result = systemdUnit({ dataDir: flags['data-dir'], user: flags.user, bin: flags.bin, write: flags.write }, { warn: (m) => this.warn(m) })
    if (result.path === undefined) {
      this.log(result.unit.trimEnd())
    } else {
      this.log(`Wrote ${result.path}. Then:`)
      for (const line of systemdNextSteps(result.path)) this.log(line)
    }
    return result
  }
}
