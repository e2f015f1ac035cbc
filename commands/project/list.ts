import { KrafterCommand } from '../../src/cli/base.js'
import { PROJECT_COLUMNS } from '../../src/cli/project-flags.js'
import { renderTable } from '../../src/cli/table.js'
import type { ProjectView } from '../../src/logs/projects.js'
import { allProjects } from '../../src/ops/projects.js'

export default class ProjectList extends KrafterCommand {
  static override summary = 'List all projects'

  async run(): Promise<ProjectView[]> {
    const { flags } = await this.parse(ProjectList)
    const projects = await this.withContext(flags['data-dir'], (ctx) => allProjects(ctx))
    this.log(projects.length ? renderTable(projects, [...PROJECT_COLUMNS]) : 'No projects yet: krafter-logs project create NAME')
    return projects
  }
}
