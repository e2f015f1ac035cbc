import { Args, Flags } from '@oclif/core'
import { auditCli } from '../../src/access/audit.js'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectFieldFlags, projectFields } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import { createProject, ProjectCreateInput, type ProjectWithToken } from '../../src/logs/projects.js'
import { parseInput } from '../../src/validation.js'

export default class ProjectCreate extends KrafterCommand {
  static override summary = 'Create a project and print its ingest token (shown once)'
  static override examples = ['<%= config.bin %> project create "My App" --retention-days 30 --json']
  static override args = { name: Args.string({ description: 'Project name (unique, 1-100 chars)', required: true }) }
  static override flags = { ...projectFieldFlags, name: Flags.string({ hidden: true }) }

  async run(): Promise<ProjectWithToken> {
    const { args, flags } = await this.parse(ProjectCreate)
    const input = parseInput(ProjectCreateInput, { name: args.name, ...projectFields(flags) }, 'project')
    const project = await this.withContext(flags['data-dir'], (ctx) => {
      const created = createProject(ctx, ctx.team.id, input)
      auditCli(ctx, ctx.team.id, 'project.create', { type: 'project', id: created.id }, { name: created.name })
      return created
    })
    this.log(renderRecord(project))
    this.log('\nThe ingest_token is shown only this once: store it where your services read it.')
    return project
  }
}
