import { Flags } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { canAsk, confirm } from '../../src/cli/prompt.js'
import { projectArg, projectByRef } from '../../src/cli/project-flags.js'
import { UserError } from '../../src/errors.js'
import { deleteProject } from '../../src/logs/projects.js'
import { viaServerOrEngine, type Via } from '../../src/ops/engine-access.js'
import { callServer } from '../../src/ops/runtime.js'

export default class ProjectDelete extends KrafterCommand {
  static override summary = 'Delete a project with all its log entries, streams, alerts and usage'
  static override description =
    'Irreversible. On a terminal it asks first; elsewhere (scripts, pipes) it needs --yes. While serve runs, the deletion goes through it (the engine belongs to that process).'
  static override args = projectArg
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'Delete without asking (required when not on a terminal)' }) }

  async run(): Promise<{ id: string; name: string; deleted: true; via: Via }> {
    const { args, flags } = await this.parse(ProjectDelete)
    return this.withContext(flags['data-dir'], async (ctx) => {
      const project = projectByRef(ctx, args.project)
      const what = `project "${project.name}" (${project.id}) with all its log entries, streams, alerts and usage`
      if (!flags.yes && !canAsk()) {
        throw new UserError(`Not deleted: deleting ${what} needs --yes when no terminal can confirm it.`, {
          exitCode: 2,
          suggestions: ['Re-run with --yes to confirm.'],
        })
      }
      if (!flags.yes && !(await confirm(`Delete ${what}?`))) {
        throw new UserError('Not deleted: the deletion was not confirmed.', { suggestions: ['Answer y, or pass --yes.'] })
      }
      const { via } = await viaServerOrEngine(ctx, {
        server: async (runtime) => void (await callServer(runtime, 'DELETE', `/logs/projects/${project.id}`)),
        direct: async (engine) => {
          await deleteProject({ ...ctx, engine }, ctx.team.id, project.id)
          auditCli(ctx, ctx.team.id, 'project.delete', { type: 'project', id: project.id })
        },
      })
      this.log(`Deleted project "${project.name}" (${project.id}).`)
      return { id: project.id, name: project.name, deleted: true, via }
    })
  }
}
