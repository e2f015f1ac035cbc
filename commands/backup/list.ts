import { KrafterCommand } from '../../src/cli/base.js'
import { renderTable } from '../../src/cli/table.js'
import type { BackupInfo } from '../../src/backup/backup.js'
import { backupsList } from '../../src/ops/maintenance.js'

export default class BackupList extends KrafterCommand {
  static override summary = 'List backups (newest first): the data dir backups/ and those written elsewhere with --out'

  async run(): Promise<Omit<BackupInfo, 'manifest'>[]> {
    const { flags } = await this.parse(BackupList)
    const backups = (await this.withContext(flags['data-dir'], (ctx) => backupsList(ctx))).map(({ manifest, ...b }) => ({
      ...b,
      valid: manifest !== null,
    }))
    this.log(
      backups.length
        ? renderTable(
            backups.map((b) => ({ ...b, size: `${(b.bytes / 1024 / 1024).toFixed(1)} MiB`, state: b.valid ? 'ok' : 'NO MANIFEST' })),
            [
              { key: 'created_at', header: 'created' },
              { key: 'path', header: 'path' },
              { key: 'projects', header: 'projects' },
              { key: 'entries', header: 'entries' },
              { key: 'size', header: 'size' },
              { key: 'version', header: 'version' },
              { key: 'state', header: 'state' },
            ],
          )
        : 'No backups yet: krafter-logs backup create',
    )
    return backups
  }
}
