import { Args } from '@oclif/core'
import type { IngestTokenView } from '../../../src/access/ingest-tokens.js'
import { KrafterCommand } from '../../../src/cli/base.js'
import { projectArg } from '../../../src/cli/project-flags.js'
import { renderRecord } from '../../../src/cli/table.js'
import type { Via } from '../../../src/ops/engine-access.js'
import { revokeTokenNow } from '../../../src/ops/ingest-tokens.js'

export default class ProjectTokensRevoke extends KrafterCommand {
  static override summary = 'Revoke an ingest token; requests with it are refused from the next one on'
  static override args = { ...projectArg, token: Args.string({ description: 'Token id (see project tokens list)', required: true }) }

  async run(): Promise<IngestTokenView & { via: Via }> {
    const { args, flags } = await this.parse(ProjectTokensRevoke)
    const revoked = await this.withContext(flags['data-dir'], (ctx) => revokeTokenNow(ctx, args.project, args.token))
    const { via: _via, ...shown } = revoked
    this.log(renderRecord({ ...shown, allowed_origins: shown.allowed_origins.join(', ') }))
    return revoked
  }
}
