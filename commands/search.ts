import { Flags } from '@oclif/core'
import { KrafterCommand } from '../src/cli/base.js'
import { colorWanted, formatEntryLine, formatHeader } from '../src/cli/entry-format.js'
import { LineWriter } from '../src/cli/line-writer.js'
import { withQueryCaret } from '../src/cli/query-caret.js'
import { filtersOf, searchFilterFlags } from '../src/cli/search-flags.js'
import type { LogEntry } from '../src/logs/search.js'
import { runSearch } from '../src/ops/search.js'

export default class Search extends KrafterCommand {
  static override summary = "Search a project's log entries: a table on a terminal, NDJSON on a pipe or with --json"
  static override description =
    'Takes the filters of GET /logs/search (same rules, same entries). On a terminal it prints a table (time in UTC, ' +
    'level, service, message cut to the width; colour unless NO_COLOR is set); on a pipe, or with --json, one entry ' +
    'JSON per line (NDJSON, the API\'s entry shape). One page of --limit entries unless --all, which follows the ' +
    'cursors to the last page, printing each page as it comes. A malformed --q exits 2 showing where. While serve ' +
    'runs, the search goes through it (the engine belongs to that process).'

  static override examples = [
    '<%= config.bin %> search --project web --q "timeout service:api"',
    '<%= config.bin %> search --project web --level error,fatal --from 2026-11-27T00:00:00Z --limit 20',
    '<%= config.bin %> search --project web --q "metadata.status:>=500" --all | jq -r .message',
  ]

  static override flags = {
    ...searchFilterFlags,
    limit: Flags.string({ description: 'Entries per page, 1-1000; with --all the page size [default: 100]' }),
    order: Flags.string({ description: 'desc (newest first) or asc [default: desc]' }),
    all: Flags.boolean({ description: 'Follow the cursors until no more entries match (printed page by page)' }),
  }

  /**
   * Prints the entries itself, page by page, and returns nothing: --json output is NDJSON
   * (a line per entry, as a pipe gets), which oclif's one rendered document cannot be.
   */
  async run(): Promise<void> {
    const { flags } = await this.parse(Search)
    const table = process.stdout.isTTY === true && !this.jsonEnabled()
    const options = { width: process.stdout.columns, color: colorWanted(process.stdout, process.env) }
    const out = new LineWriter(process.stdout)
    let printed = 0
    const render = (entries: LogEntry[]): string => {
      const lines = entries.map((e) => (table ? formatEntryLine(e, options) : JSON.stringify(e)))
      if (table && printed === 0 && lines.length > 0) lines.unshift(formatHeader(options))
      printed += entries.length
      return lines.map((line) => `${line}\n`).join('')
    }
    const summary = await this.withContext(flags['data-dir'], (ctx) =>
      runSearch(
        ctx,
        { project: flags.project, filters: { ...filtersOf(flags), limit: flags.limit, order: flags.order }, all: flags.all },
        (entries) => out.write(render(entries)),
      ),
    ).catch((err: unknown) => {
      throw this.jsonEnabled() ? err : withQueryCaret(err, flags.q, process.stderr.columns)
    })
    if (table) {
      const count = `${summary.entries.toLocaleString('en-US')} ${summary.entries === 1 ? 'entry' : 'entries'}`
      this.logToStderr(summary.entries === 0 ? `No entries match (via ${summary.via}).` : `${count} (via ${summary.via})`)
    }
    if (summary.has_more && !flags.all) this.logToStderr('More entries match: --all prints them all, or narrow the search.')
  }
}
