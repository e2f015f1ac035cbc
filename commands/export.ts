import { Flags } from '@oclif/core'
import { KrafterCommand } from '../src/cli/base.js'
import { filtersOf, searchFilterFlags } from '../src/cli/search-flags.js'
import { UserError } from '../src/errors.js'
import { runExport, STDOUT, type ExportResult } from '../src/ops/export.js'

export default class Export extends KrafterCommand {
  static override summary = "Export a project's log entries to a CSV or JSON file"
  static override description =
    'Takes the filters of GET /logs/export (same rules, same file format). The file is named as the API names the ' +
    'download (krafter-<project>-<UTC time>Z.<format>) in the current directory unless --out is given; an existing ' +
    'file is kept unless --force. One export holds at most 10,000 entries; when more match, the count is printed on ' +
    'stderr (matched/truncated in --json). While serve runs, the export goes through it (the engine belongs to that process).'

  static override examples = [
    '<%= config.bin %> export --project web',
    '<%= config.bin %> export --project web --q "level:error OR level:fatal" --from 2026-11-27T00:00:00Z --format json --out errors.json',
    '<%= config.bin %> export --project web --service api --limit 100 --out - | head',
  ]

  static override flags = {
    ...searchFilterFlags,
    format: Flags.string({ description: 'csv or json [default: csv]' }),
    limit: Flags.string({ description: 'At most this many entries, 1-10000 [default: 10000]' }),
    order: Flags.string({ description: 'desc (newest first) or asc [default: desc]' }),
    out: Flags.string({ char: 'o', description: 'File to write, or - for standard output [default: the API download name]' }),
    force: Flags.boolean({ description: 'Overwrite --out if it exists' }),
  }

  async run(): Promise<ExportResult> {
    const { flags } = await this.parse(Export)
    if (flags.out === STDOUT && this.jsonEnabled()) {
      throw new UserError('--out - writes the export to standard output, where --json would write its result too.', {
        exitCode: 2,
        suggestions: ['Drop --json, or write to a file with --out FILE.'],
      })
    }
    const result = await this.withContext(flags['data-dir'], (ctx) =>
      runExport(ctx, {
        project: flags.project,
        filters: {
          ...filtersOf(flags),
          format: flags.format,
          limit: flags.limit,
          order: flags.order,
        },
        out: flags.out,
        force: flags.force,
      }),
    )
    if (result.file !== STDOUT) {
      this.log(`Exported ${result.entries} ${result.entries === 1 ? 'entry' : 'entries'} to ${result.file} (via ${result.via})`)
    }
    if (result.truncated) {
      const cut = flags.limit === undefined ? `the export maximum of ${result.limit.toLocaleString('en-US')}` : `--limit ${result.limit}`
      this.logToStderr(
        `${result.matched.toLocaleString('en-US')} entries matched; ${cut} kept ${result.entries.toLocaleString('en-US')}. ` +
          'Export the rest with narrower --from/--to ranges or filters.',
      )
    }
    return result
  }
}
