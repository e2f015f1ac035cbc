import type { KeyView } from '../../src/access/keys.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { allKeys } from '../../src/ops/keys.js'
import { KEY_COLUMNS } from '../../src/cli/key-columns.js'
import { renderTable } from '../../src/cli/table.js'

export default class KeysList extends KrafterCommand {
  static override summary = 'List team API keys (prefixes only; revoked and expired included)'

  async run(): Promise<KeyView[]> {
    const { flags } = await this.parse(KeysList)
    const keys = await this.withContext(flags['data-dir'], (ctx) => allKeys(ctx))
    this.log(renderTable(keys.map((k) => ({ ...k, scopes: k.scopes.join(','), project_ids: k.project_ids?.join(',') ?? 'all' })), [...KEY_COLUMNS]))
    return keys
  }
}
