import { Flags } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg, projectByRef } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import { rotateProjectToken, RotateTokenInput, type ProjectWithToken } from '../../src/logs/projects.js'
import { parseInput } from '../../src/validation.js'
import { viaServerOrLocal, type Via } from '../../src/ops/engine-access.js'
import { callServer } from '../../src/ops/runtime.js'

export default class ProjectRotateToken extends KrafterCommand {
  static override summary = 'Issue a new ingest token; the old one stops working (now, or after --grace-seconds)'
  static override args = projectArg
  static override flags = {
    'grace-seconds': Flags.integer({ description: 'Keep the old token valid this long (0-86400)', default: 0 }),
  }

  async run(): Promise<ProjectWithToken & { via: Via }> {
    const { args, flags } = await this.parse(ProjectRotateToken)
    const input = parseInput(RotateTokenInput, { grace_seconds: flags['grace-seconds'] }, 'rotation')
    const { result, via } = await this.withContext(flags['data-dir'], (ctx) => {
      const id = projectByRef(ctx, args.project).id
      // Through a running serve, so that its token cache drops the old token at once.
      return viaServerOrLocal(ctx, {
        server: async (runtime) => (await callServer<ProjectWithToken>(runtime, 'POST', `/logs/projects/${id}/rotate_token`, input)).data!,
        local: () => {
          const rotated = rotateProjectToken(ctx, ctx.team.id, id, input)
          auditCli(ctx, ctx.team.id, 'project.rotate_token', { type: 'project', id }, { grace_seconds: input.grace_seconds, ingest_token_prefix: rotated.ingest_token_prefix })
          return rotated
        },
      })
    })
    this.log(renderRecord(result))
    this.log('\nThe new ingest_token is shown only this once.')
    return { ...result, via }
  }
}
