import { Flags } from '@oclif/core'
import { KrafterCommand } from '../src/cli/base.js'
import { startServer } from '../src/ops/serve.js'

const SHUTDOWN_DEADLINE_MS = 10_000

export default class Serve extends KrafterCommand {
  static override summary = 'Run the HTTP API and the log engine in the foreground'
  static override description =
    'Stops on SIGTERM or SIGINT: no new requests are accepted, in-flight ones finish, the engine is closed.'
  static override enableJsonFlag = false

  static override flags = {
    port: Flags.integer({ description: 'Port to listen on [default: server.port]', min: 0, max: 65535 }),
    host: Flags.string({ description: 'Address to listen on [default: server.host]' }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve)
    const server = await startServer({ dataDir: flags['data-dir'], port: flags.port, host: flags.host })
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        server.logger.info({ signal }, 'shutting down')
        const deadline = setTimeout(() => {
          server.logger.error('shutdown took longer than 10 s; exiting')
          process.exit(1)
        }, SHUTDOWN_DEADLINE_MS)
        deadline.unref()
        server.close().then(resolve, (err: unknown) => {
          server.logger.error({ err }, 'error while shutting down')
          process.exitCode = 1
          resolve()
        })
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
  }
}
