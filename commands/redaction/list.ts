import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderTable } from '../../src/cli/table.js'
import { allProjects } from '../../src/ops/projects.js'
import { redactionRules } from '../../src/ops/redaction.js'
import type { RedactionRule } from '../../src/redaction/types.js'

export default class RedactionList extends KrafterCommand {
  static override summary = 'List redaction rules: the built-ins and the custom ones'
  static override description =
    'As GET /api/v1/redaction/rules (docs/redaction.md). With --project, the rules in effect for that project in the order they run; without it, the built-ins and every custom rule of the team.'
  static override examples = ['<%= config.bin %> redaction list', '<%= config.bin %> redaction list --project web --json']
  static override flags = {
    project: Flags.string({ char: 'p', description: 'Only the rules in effect for this project (id or exact name)' }),
  }

  async run(): Promise<RedactionRule[]> {
    const { flags } = await this.parse(RedactionList)
    const { rules, names } = await this.withContext(flags['data-dir'], (ctx) => ({
      rules: redactionRules(ctx, flags.project),
      names: new Map(allProjects(ctx).map((p) => [p.id, p.name])),
    }))
    this.log(
      renderTable(
        rules.map((r) => ({ ...r, state: r.enabled ? 'enabled' : 'disabled', project: r.project_id ? (names.get(r.project_id) ?? r.project_id) : 'all' })),
        [
          { key: 'id', header: 'id' },
          { key: 'name', header: 'name' },
          { key: 'builtin', header: 'builtin' },
          { key: 'behavior', header: 'behavior' },
          { key: 'applies_to', header: 'applies to' },
          { key: 'state', header: 'enabled' },
          { key: 'project', header: 'project' },
        ],
      ),
    )
    return rules
  }
}
