import { Flags } from '@oclif/core'
import { ENGINE_MODES } from '../src/config/config.js'
import { KrafterCommand } from '../src/cli/base.js'
import { runSteps } from '../src/cli/progress.js'
import { planInit, type InitResult } from '../src/ops/init.js'

export default class Init extends KrafterCommand {
  static override summary = 'Create a data dir: config, metadata, first team API key and engine schema'
  static override description =
    'Refuses an already initialised data dir and never overwrites data. The team API key is printed once; store it.'
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --data-dir /var/lib/krafter --port 9000 --json']

  static override flags = {
    port: Flags.integer({ description: 'Port serve listens on', min: 0, max: 65535, env: 'KRAFTER_SERVER_PORT' }),
    host: Flags.string({ description: 'Address serve listens on', env: 'KRAFTER_SERVER_HOST' }),
    engine: Flags.string({ description: 'Log engine mode', options: [...ENGINE_MODES], default: 'embedded' }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask questions (init asks none today; accepted for scripts)' }),
  }

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init)
    const { steps, state } = planInit({
      dataDir: flags['data-dir'],
      port: flags.port,
      host: flags.host,
      engine: flags.engine as (typeof ENGINE_MODES)[number],
    })
    await runSteps(steps, state, { quiet: this.jsonEnabled() })
    const result = state.result as InitResult
    this.log('')
    this.log(`Initialised ${result.data_dir} (engine: ${result.engine.mode} ClickHouse ${result.engine.version}).`)
    this.log('')
    this.log(`Team API key (all scopes), shown only this once — store it now:`)
    this.log(`  ${result.team_api_key}`)
    this.log('')
    this.log(`Next: krafter-logs serve${flags['data-dir'] ? ` --data-dir ${flags['data-dir']}` : ''}   (API at ${result.url})`)
    return result
  }
}
