import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { renderTable } from '../../src/cli/table.js'
import { AUDIT_ACTIONS, type AuditEntry } from '../../src/meta/audit.js'
import { auditEntries } from '../../src/ops/audit.js'

export default class AuditList extends KrafterCommand {
  static override summary = 'Show the audit log of management actions, newest first'
  static override flags = {
    action: Flags.string({ description: 'Only this action', options: [...AUDIT_ACTIONS] }),
    from: Flags.string({ description: 'From this time (ISO 8601 or epoch ms)' }),
    to: Flags.string({ description: 'Before this time (ISO 8601 or epoch ms)' }),
    limit: Flags.integer({ description: 'At most this many entries (1-500)', default: 50 }),
  }

  async run(): Promise<AuditEntry[]> {
    const { flags } = await this.parse(AuditList)
    const query = { action: flags.action, from: flags.from, to: flags.to, limit: flags.limit }
    const entries = await this.withContext(flags['data-dir'], (ctx) => auditEntries(ctx, query))
    this.log(
      entries.length
        ? renderTable(entries, [
            { key: 'at', header: 'time' },
            { key: 'actor', header: 'actor' },
            { key: 'action', header: 'action' },
            { key: 'target_type', header: 'target' },
            { key: 'target_id', header: 'target id' },
            { key: 'request_id', header: 'request' },
          ])
        : 'No audit entries match.',
    )
    return entries
  }
}
