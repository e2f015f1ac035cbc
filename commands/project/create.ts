import { Args, Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { projectFieldFlags, projectFields } from '../../src/cli/project-flags.js'
import { renderRecord } from '../../src/cli/table.js'
import type { ProjectWithToken } from '../../src/logs/projects.js'
import { createProjectNow } from '../../src/ops/projects.js'

export default class ProjectCreate extends KrafterCommand {
  static override summary = 'Create a project and print its ingest token (shown once)'
  static override examples = ['<%= config.bin %> project create "My App" --retention-days 30 --json']
  static override args = { name: Args.string({ description: 'Project name (unique, 1-100 chars)', required: true }) }
  static override flags = { ...projectFieldFlags, name: Flags.string({ hidden: true }) }

  async run(): Promise<ProjectWithToken> {
    const { args, flags } = await this.parse(ProjectCreate)
    const body = { name: args.name, ...projectFields(flags) }
    const project = await this.withContext(flags['data-dir'], (ctx) => createProjectNow(ctx, body))
    this.log(renderRecord(project))
    this.log('\nThe ingest_token is shown only this once: store it where your services read it.')
    return project
  }
}
