import { Flags } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg } from '../../src/cli/project-flags.js'
import { UserError } from '../../src/errors.js'
import { deleteProject, resolveProject } from '../../src/logs/projects.js'
import { viaServerOrEngine, type Via } from '../../src/ops/engine-access.js'
import { callServer } from '../../src/ops/runtime.js'

export default class ProjectDelete extends KrafterCommand {
  static override summary = 'Delete a project with all its log entries, streams, alerts and usage'
  static override description =
    'Irreversible. While serve runs, the deletion goes through it (the engine belongs to that process).'
  static override args = projectArg
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'Confirm the deletion' }) }

  async run(): Promise<{ id: string; name: string; deleted: true; via: Via }> {
    const { args, flags } = await this.parse(ProjectDelete)
    return this.withContext(flags['data-dir'], async (ctx) => {
      const project = resolveProject(ctx, ctx.team.id, args.project)
      if (!flags.yes) {
        throw new UserError(`This deletes project "${project.name}" (${project.id}) and all its log entries.`, {
          suggestions: ['Re-run with --yes to confirm.'],
        })
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
