import { Args } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { revokeKey, type KeyView } from '../../src/access/keys.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderRecord } from '../../src/cli/table.js'
import { SCOPES } from '../../src/meta/keys.js'

export default class KeysRevoke extends KrafterCommand {
  static override summary = 'Revoke a team API key; requests with it are refused from the next one on'
  static override args = { id: Args.string({ description: 'Key id (see keys list)', required: true }) }

  async run(): Promise<KeyView> {
    const { args, flags } = await this.parse(KeysRevoke)
    const revoked = await this.withContext(flags['data-dir'], (ctx) => {
      const key = revokeKey(ctx, { teamId: ctx.team.id, scopes: SCOPES, keyId: null }, args.id)
      auditCli(ctx, ctx.team.id, 'key.revoke', { type: 'api_key', id: key.id }, { prefix: key.prefix })
      return key
    })
    this.log(renderRecord(revoked))
    return revoked
  }
}
