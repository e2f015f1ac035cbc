import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg, projectFieldFlags, projectFields } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import type { ProjectView } from '../../src/logs/projects.js'
import { updateProjectNow } from '../../src/ops/projects.js'

export default class ProjectUpdate extends KrafterCommand {
  static override summary = 'Change a project (only the given fields)'
  static override examples = ['<%= config.bin %> project update "My App" --retention-days 90']
  static override args = projectArg
  static override flags = { ...projectFieldFlags, name: Flags.string({ description: 'New name' }) }

  async run(): Promise<ProjectView> {
    const { args, flags } = await this.parse(ProjectUpdate)
    const body = { ...(flags.name !== undefined ? { name: flags.name } : {}), ...projectFields(flags) }
    const project = await this.withContext(flags['data-dir'], (ctx) => updateProjectNow(ctx, args.project, body))
    this.log(renderRecord(project))
    return project
  }
}
