import { Flags } from '@oclif/core'
import { KrafterCommand } from '../src/cli/base.js'
import { openConsole, type OpenResult } from '../src/ops/open.js'

export default class Open extends KrafterCommand {
  static override summary = 'Print a one-time login link to the web console of the running serve, and open it in the browser'
  static override description =
    'Asks the running serve for a login link that works once, within 5 minutes, and signs the browser in as the ' +
    'local admin (every scope, every project) for console.session_hours. Opens it with xdg-open where a desktop is ' +
    'available (DISPLAY or WAYLAND_DISPLAY set) unless --no-open; prints it either way, to copy into a browser ' +
    '(e.g. through an SSH tunnel to serve\'s port). serve must run.'

  static override examples = ['<%= config.bin %> open', '<%= config.bin %> open --no-open --json']

  static override flags = {
    open: Flags.boolean({ description: 'Open the link in the browser when a desktop is available', default: true, allowNo: true }),
  }

  async run(): Promise<OpenResult> {
    const { flags } = await this.parse(Open)
    const result = await this.withContext(flags['data-dir'], (ctx) => openConsole(ctx, { open: flags.open, env: process.env }))
    this.log(result.url)
    this.logToStderr(
      result.opened
        ? `Opened in the browser; the link works once, until ${result.expires_at}.`
        : `Open it in a browser; it works once, until ${result.expires_at}${result.not_opened_because === '--no-open' ? '' : ` (not opened: ${result.not_opened_because})`}.`,
    )
    return result
  }
}
