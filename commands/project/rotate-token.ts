import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import type { ProjectWithToken } from '../../src/logs/projects.js'
import type { Via } from '../../src/ops/engine-access.js'
import { rotateTokenNow } from '../../src/ops/projects.js'

export default class ProjectRotateToken extends KrafterCommand {
  static override summary = 'Issue a new ingest token; the old one stops working (now, or after --grace-seconds)'
  static override args = projectArg
  static override flags = {
    'grace-seconds': Flags.integer({ description: 'Keep the old token valid this long (0-86400)', default: 0 }),
  }

  async run(): Promise<ProjectWithToken & { via: Via }> {
    const { args, flags } = await this.parse(ProjectRotateToken)
    const rotated = await this.withContext(flags['data-dir'], (ctx) => rotateTokenNow(ctx, args.project, { grace_seconds: flags['grace-seconds'] }))
    const { via: _via, ...shown } = rotated
    this.log(renderRecord(shown))
    this.log('\nThe new ingest_token is shown only this once.')
    return rotated
  }
}
