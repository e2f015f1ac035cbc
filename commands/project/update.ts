import { Flags } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg, projectByRef, projectFieldFlags, projectFields } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import { ProjectUpdateInput, updateProject, type ProjectView } from '../../src/logs/projects.js'
import { parseInput } from '../../src/validation.js'

export default class ProjectUpdate extends KrafterCommand {
  static override summary = 'Change a project (only the given fields)'
  static override examples = ['<%= config.bin %> project update "My App" --retention-days 90']
  static override args = projectArg
  static override flags = { ...projectFieldFlags, name: Flags.string({ description: 'New name' }) }

  async run(): Promise<ProjectView> {
    const { args, flags } = await this.parse(ProjectUpdate)
    const input = parseInput(
      ProjectUpdateInput,
      { ...(flags.name !== undefined ? { name: flags.name } : {}), ...projectFields(flags) },
      'project',
    )
    const project = await this.withContext(flags['data-dir'], (ctx) =>
      {
        const updated = updateProject(ctx, ctx.team.id, projectByRef(ctx, args.project).id, input)
        auditCli(ctx, ctx.team.id, 'project.update', { type: 'project', id: updated.id }, { changes: input })
        return updated
      },
    )
    this.log(renderRecord(project))
    return project
  }
}
