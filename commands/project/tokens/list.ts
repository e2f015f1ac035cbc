import type { IngestTokenView } from '../../../src/access/ingest-tokens.js'
import { KrafterCommand } from '../../../src/cli/base.js'
import { projectArg } from '../../../src/cli/project-flags.js'
import { renderTable } from '../../../src/cli/table.js'
import { TOKEN_COLUMNS } from '../../../src/cli/token-columns.js'
import { listTokensNow } from '../../../src/ops/ingest-tokens.js'

export default class ProjectTokensList extends KrafterCommand {
  static override summary = "List a project's ingest tokens (prefixes only; revoked and expired included)"
  static override args = projectArg

  async run(): Promise<IngestTokenView[]> {
    const { args, flags } = await this.parse(ProjectTokensList)
    const tokens = await this.withContext(flags['data-dir'], (ctx) => listTokensNow(ctx, args.project))
    this.log(renderTable(tokens.map((t) => ({ ...t, primary: t.primary ? 'yes' : '', allowed_origins: t.allowed_origins.join(',') })), [...TOKEN_COLUMNS]))
    return tokens
  }
}
