import { KrafterCommand } from '../../src/cli/base.js'
import { projectArg } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import type { ProjectView } from '../../src/logs/projects.js'
import { projectByRef } from '../../src/ops/projects.js'

export default class ProjectShow extends KrafterCommand {
  static override summary = 'Show one project'
  static override args = projectArg

  async run(): Promise<ProjectView> {
    const { args, flags } = await this.parse(ProjectShow)
    const project = await this.withContext(flags['data-dir'], (ctx) => projectByRef(ctx, args.project))
    this.log(renderRecord(project))
    return project
  }
}
