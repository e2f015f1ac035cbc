import { Args, Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderRecord } from '../../src/cli/table.js'
import type { Via } from '../../src/ops/engine-access.js'
import { claimStreamNow } from '../../src/ops/streams.js'
import type { ClaimResult } from '../../src/streams/claim.js'

export default class StreamClaim extends KrafterCommand {
  static override summary = 'Move every event of an anonymous stream into a project (POST /streams/claim)'
  static override description =
    'The events keep their timestamps and land in the stream anonymous-<hash of the token>. Claiming again into the same project answers the same result.'
  static override args = { token: Args.string({ description: 'The token the events were sent with (22-64 characters of A-Z a-z 0-9 _ -)', required: true }) }
  static override flags = { project: Flags.string({ description: 'Project id or exact name', required: true }) }

  async run(): Promise<ClaimResult & { via: Via }> {
    const { args, flags } = await this.parse(StreamClaim)
    const claimed = await this.withContext(flags['data-dir'], (ctx) => claimStreamNow(ctx, args.token, flags.project))
    this.log(renderRecord(claimed))
    return claimed
  }
}
