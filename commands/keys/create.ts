import { Flags } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { createKey, KeyCreateInput, type KeyView } from '../../src/access/keys.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectByRef } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import { SCOPES } from '../../src/meta/keys.js'
import { parseInput } from '../../src/validation.js'

export default class KeysCreate extends KrafterCommand {
  static override summary = 'Create a team API key; the key is printed once'
  static override examples = [
    '<%= config.bin %> keys create --name grafana --scopes logs:read --projects checkout,payments --expires-in-days 90',
  ]
  static override flags = {
    name: Flags.string({ description: 'What the key is for', required: true }),
    scopes: Flags.string({ description: `Comma list of ${SCOPES.join(', ')}`, required: true }),
    projects: Flags.string({ description: 'Comma list of project ids or names the key is limited to [default: all]' }),
    'expires-at': Flags.string({ description: 'Expiry time (ISO 8601)', exclusive: ['expires-in-days'] }),
    'expires-in-days': Flags.integer({ description: 'Expiry in days from now', min: 1 }),
  }

  async run(): Promise<KeyView & { key: string }> {
    const { flags } = await this.parse(KeysCreate)
    const created = await this.withContext(flags['data-dir'], (ctx) => {
      const expiresAt =
        flags['expires-at'] ?? (flags['expires-in-days'] ? new Date(ctx.clock().getTime() + flags['expires-in-days'] * 86_400_000).toISOString() : undefined)
      const input = parseInput(
        KeyCreateInput,
        {
          name: flags.name,
          scopes: flags.scopes.split(',').map((s) => s.trim()).filter(Boolean),
          project_ids: flags.projects?.split(',').map((p) => projectByRef(ctx, p.trim()).id),
          expires_at: expiresAt,
        },
        'key',
      )
      const key = createKey(ctx, { teamId: ctx.team.id, scopes: SCOPES, keyId: null }, input)
      auditCli(ctx, ctx.team.id, 'key.create', { type: 'api_key', id: key.id }, { name: key.name, prefix: key.prefix, scopes: key.scopes, project_ids: key.project_ids })
      return key
    })
    const { key: token, ...shown } = created
    this.log(renderRecord(shown))
    this.log(`\nAPI key, shown only this once — store it now:\n  ${token}`)
    return created
  }
}
