import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { canAsk, confirm } from '../../src/cli/prompt.js'
import { projectArg } from '../../src/cli/project-flags.js'
import { UserError } from '../../src/errors.js'
import type { ProjectView } from '../../src/logs/projects.js'
import type { Via } from '../../src/ops/engine-access.js'
import { deleteProjectNow } from '../../src/ops/projects.js'

export default class ProjectDelete extends KrafterCommand {
  static override summary = 'Delete a project with all its log entries, streams, alerts and usage'
  static override description =
    'Irreversible. On a terminal it asks first; elsewhere (scripts, pipes) it needs --yes. While serve runs, the deletion goes through it (the engine belongs to that process).'
  static override args = projectArg
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'Delete without asking (required when not on a terminal)' }) }

  async run(): Promise<{ id: string; name: string; deleted: true; via: Via }> {
    const { args, flags } = await this.parse(ProjectDelete)
    const confirmed = async (project: ProjectView): Promise<void> => {
      if (flags.yes) return
      const what = `project "${project.name}" (${project.id}) with all its log entries, streams, alerts and usage`
      if (!canAsk()) {
        throw new UserError(`Not deleted: deleting ${what} needs --yes when no terminal can confirm it.`, {
          exitCode: 2,
          suggestions: ['Re-run with --yes to confirm.'],
        })
      }
      if (!(await confirm(`Delete ${what}?`))) {
        throw new UserError('Not deleted: the deletion was not confirmed.', { suggestions: ['Answer y, or pass --yes.'] })
      }
    }
    const deleted = await this.withContext(flags['data-dir'], (ctx) => deleteProjectNow(ctx, args.project, confirmed))
    this.log(`Deleted project "${deleted.name}" (${deleted.id}).`)
    return deleted
  }
}
