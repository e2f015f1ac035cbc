import { Flags } from '@oclif/core'
import type { KeyView } from '../../src/access/keys.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderRecord } from '../../src/cli/table.js'
import { SCOPES } from '../../src/meta/keys.js'
import { createKeyNow } from '../../src/ops/keys.js'

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean)

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
    const created = await this.withContext(flags['data-dir'], (ctx) =>
      createKeyNow(ctx, {
        name: flags.name,
        scopes: list(flags.scopes),
        projects: flags.projects?.split(',').map((p) => p.trim()),
        expires_at: flags['expires-at'],
        expires_in_days: flags['expires-in-days'],
      }),
    )
    const { key: token, ...shown } = created
    this.log(renderRecord(shown))
    this.log(`\nAPI key, shown only this once — store it now:\n  ${token}`)
    return created
  }
}
