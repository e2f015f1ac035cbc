import { Flags } from '@oclif/core'
import type { IngestTokenView } from '../../../src/access/ingest-tokens.js'
import { KrafterCommand } from '../../../src/cli/base.js'
import { projectArg } from '../../../src/cli/project-flags.js'
import { renderRecord } from '../../../src/cli/table.js'
import type { Via } from '../../../src/ops/engine-access.js'
import { createTokenNow } from '../../../src/ops/ingest-tokens.js'

export default class ProjectTokensCreate extends KrafterCommand {
  static override summary = 'Create an ingest token for a project (the token is printed once); --origin lets browsers on that origin use it'
  static override examples = [
    '<%= config.bin %> project tokens create shop --name checkout-api',
    '<%= config.bin %> project tokens create shop --name web --origin https://shop.example.com --expires-in-days 90',
  ]
  static override args = projectArg
  static override flags = {
    name: Flags.string({ description: 'What the token is for (1-100 chars)', required: true }),
    origin: Flags.string({ description: 'A browser origin (https://host[:port]) the token may send from; repeat, or a comma list (at most 20)', multiple: true }),
    'expires-at': Flags.string({ description: 'Expiry time (ISO 8601)', exclusive: ['expires-in-days'] }),
    'expires-in-days': Flags.integer({ description: 'Expiry in days from now', min: 1 }),
  }

  async run(): Promise<IngestTokenView & { token: string; via: Via }> {
    const { args, flags } = await this.parse(ProjectTokensCreate)
    const created = await this.withContext(flags['data-dir'], (ctx) =>
      createTokenNow(ctx, args.project, { name: flags.name, origins: flags.origin, expires_at: flags['expires-at'], expires_in_days: flags['expires-in-days'] }),
    )
    const { token, via: _via, ...shown } = created
    this.log(renderRecord({ ...shown, allowed_origins: shown.allowed_origins.join(', ') }))
    this.log(`\nIngest token, shown only this once — store it now:\n  ${token}`)
    return created
  }
}
