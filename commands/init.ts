import { Flags } from '@oclif/core'
import { ENGINE_MODES } from '../src/config/config.js'
import { KrafterCommand } from '../src/cli/base.js'
import { runSteps } from '../src/cli/progress.js'
import { initialise, type InitialiseResult } from '../src/ops/init.js'
import { systemdNextSteps } from '../src/ops/systemd.js'

export default class Init extends KrafterCommand {
  static override summary = 'Create a data dir: config, metadata, first team API key and engine schema'
  static override description =
    'Refuses an already initialised data dir and never overwrites data. The team API key is printed once; store it.\n' +
    'With --engine external the log entries go to an existing ClickHouse server (26.2+), or with --cluster to a ClickHouse cluster (docs/operations.md).'
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --data-dir /var/lib/krafter --port 9000 --json',
    '<%= config.bin %> init --engine external --clickhouse-url http://clickhouse:8123 --user krafter --password … --cluster logs',
    '<%= config.bin %> init --data-dir /var/lib/krafter --systemd',
    '<%= config.bin %> init --engine managed --clickhouse-binary /usr/bin/clickhouse',
  ]

  static override flags = {
    port: Flags.integer({ description: 'Port serve listens on', min: 0, max: 65535, env: 'KRAFTER_SERVER_PORT' }),
    host: Flags.string({ description: 'Address serve listens on', env: 'KRAFTER_SERVER_HOST' }),
    engine: Flags.string({ description: 'Log engine mode', options: [...ENGINE_MODES], default: 'embedded' }),
    'clickhouse-url': Flags.string({ description: 'External engine: HTTP(S) URL of the ClickHouse server', helpGroup: 'EXTERNAL ENGINE' }),
    user: Flags.string({ description: 'External engine: ClickHouse user [default: default]', aliases: ['clickhouse-user'], helpGroup: 'EXTERNAL ENGINE' }),
    password: Flags.string({
      description: 'External engine: ClickHouse password (stored in krafter.yaml, mode 0600)',
      aliases: ['clickhouse-password'],
      env: 'KRAFTER_ENGINE_PASSWORD',
      helpGroup: 'EXTERNAL ENGINE',
    }),
    database: Flags.string({ description: 'ClickHouse database for the log tables [default: krafter]' }),
    cluster: Flags.string({
      description: 'External engine: create the schema ON CLUSTER (Replicated + Distributed tables)',
      helpGroup: 'EXTERNAL ENGINE',
    }),
    'clickhouse-binary': Flags.string({
      description: 'Managed engine: the clickhouse (or clickhouse-server) binary serve runs [default: found on PATH]',
      helpGroup: 'MANAGED ENGINE',
    }),
    'clickhouse-download': Flags.boolean({
      description: 'Managed engine: download the official static ClickHouse build into the data dir (SHA-512 verified)',
      helpGroup: 'MANAGED ENGINE',
    }),
    'clickhouse-sha512': Flags.string({
      description: 'Managed engine: the SHA-512 the download must have (else the one published as <url>.sha512 is required)',
      helpGroup: 'MANAGED ENGINE',
    }),
    systemd: Flags.boolean({ description: 'Also print a systemd unit that runs serve for this data dir', helpGroup: 'SYSTEMD' }),
    'systemd-write': Flags.string({ description: 'Write that unit to this file (0644; never overwrites)', helpGroup: 'SYSTEMD' }),
    'systemd-user': Flags.string({ description: 'Account the unit runs serve as [default: the current user]', helpGroup: 'SYSTEMD' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask questions (init asks none today; accepted for scripts)' }),
  }

  async run(): Promise<InitialiseResult> {
    const { flags } = await this.parse(Init)
    const wantUnit = flags.systemd || flags['systemd-write'] !== undefined || flags['systemd-user'] !== undefined
    const result = await initialise(
      {
        dataDir: flags['data-dir'],
        port: flags.port,
        host: flags.host,
        engine: flags.engine as (typeof ENGINE_MODES)[number],
        database: flags.database,
        clickhouseUrl: flags['clickhouse-url'],
        clickhouseUser: flags.user,
        clickhousePassword: flags.password,
        cluster: flags.cluster,
        clickhouseBinary: flags['clickhouse-binary'],
        clickhouseDownload: flags['clickhouse-download'],
        clickhouseSha512: flags['clickhouse-sha512'],
        systemd: wantUnit ? { user: flags['systemd-user'], write: flags['systemd-write'] } : undefined,
      },
      (steps, state) => runSteps(steps, state, { quiet: this.jsonEnabled() }),
    )
    this.log('')
    this.log(`Initialised ${result.data_dir} (engine: ${result.engine.mode} ClickHouse ${result.engine.version}).`)
    this.log('')
    this.log(`Team API key (all scopes), shown only this once — store it now:`)
    this.log(`  ${result.team_api_key}`)
    this.log('')
    this.log(`Next: krafter-logs serve${flags['data-dir'] ? ` --data-dir ${flags['data-dir']}` : ''}   (API at ${result.url})`)
    if (result.systemd !== undefined) this.printUnit(result.systemd)
    return result
  }

  private printUnit(systemd: NonNullable<InitialiseResult['systemd']>): void {
    this.log('')
    if (systemd.error !== undefined) {
      process.exitCode = 1
      this.logToStderr(`Could not write the systemd unit: ${systemd.error} (\`krafter-logs systemd\` prints it again).`)
    } else if (systemd.path === undefined) {
      this.log('systemd unit:')
      this.log(systemd.unit.trimEnd())
      this.log('')
      for (const line of systemdNextSteps(undefined)) this.log(line)
    } else {
      this.log(`Wrote the systemd unit ${systemd.path}. Then:`)
      for (const line of systemdNextSteps(systemd.path)) this.log(line)
    }
  }
}
