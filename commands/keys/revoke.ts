import { Args } from '@oclif/core'
import type { KeyView } from '../../src/access/keys.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderRecord } from '../../src/cli/table.js'
import { revokeKeyNow } from '../../src/ops/keys.js'

export default class KeysRevoke extends KrafterCommand {
  static override summary = 'Revoke a team API key; requests with it are refused from the next one on'
  static override args = { id: Args.string({ description: 'Key id (see keys list)', required: true }) }

  async run(): Promise<KeyView> {
    const { args, flags } = await this.parse(KeysRevoke)
    const revoked = await this.withContext(flags['data-dir'], (ctx) => revokeKeyNow(ctx, args.id))
    this.log(renderRecord(revoked))
    return revoked
  }
}
