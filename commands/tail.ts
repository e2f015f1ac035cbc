import { KrafterCommand } from '../src/cli/base.js'
import { colorWanted, formatEntryLine, formatHeader } from '../src/cli/entry-format.js'
import { LineWriter } from '../src/cli/line-writer.js'
import { withQueryCaret } from '../src/cli/query-caret.js'
import { searchFilterFlags } from '../src/cli/search-flags.js'
import { runTail } from '../src/ops/tail.js'

const { project, q, level, service, stream } = searchFilterFlags

export default class Tail extends KrafterCommand {
  static override summary = "Follow a project's new log entries as they arrive, like tail -f (through the running serve)"
  static override description =
    'Prints each newly stored entry matching the filters (the filters of search, without a time range), in the order ' +
    'serve stored them: a line per entry on a terminal (as search prints them, colour unless NO_COLOR), one entry JSON ' +
    'per line (NDJSON, the API\'s entry shape) on a pipe or with --json. Reads GET /logs/tail of the running serve, so ' +
    'serve must run. When the stream drops or serve restarts it reconnects by itself (0.5 s doubling to 5 s) and ' +
    'resumes after the last entry it printed: none lost, none twice; the notes about it go to stderr. Runs until ' +
    'SIGINT (Ctrl-C) or SIGTERM, then exits 0; ends quietly, also 0, when the reader of its output goes away ' +
    '(| head, noticed at the next entry). A malformed --q exits 2 showing where.'

  static override examples = [
    '<%= config.bin %> tail --project web',
    '<%= config.bin %> tail --project web --level error,fatal --q "timeout service:api"',
    '<%= config.bin %> tail --project web | jq -r .message',
  ]

  static override flags = {
    project,
    q,
    level,
    service,
    stream,
    'trace-id': searchFilterFlags['trace-id'],
    'span-id': searchFilterFlags['span-id'],
  }

  /** Prints entries as they come and returns nothing: --json output is NDJSON, not one document. */
  async run(): Promise<void> {
    const { flags } = await this.parse(Tail)
    const table = process.stdout.isTTY === true && !this.jsonEnabled()
    const options = { width: process.stdout.columns, color: colorWanted(process.stdout, process.env) }
    const out = new LineWriter(process.stdout)
    let printed = 0
    const stopping = new AbortController()
    const stop = () => stopping.abort()
    // Once: a second Ctrl-C while stopping ends the process at once (the default action).
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      await this.withContext(flags['data-dir'], (ctx) =>
        runTail(
          ctx,
          {
            project: flags.project,
            filters: { q: flags.q, level: flags.level, service: flags.service, stream: flags.stream, trace_id: flags['trace-id'], span_id: flags['span-id'] },
          },
          {
            entry: (entry, raw) => {
              const line = table ? formatEntryLine(entry, options) : raw
              const header = table && printed === 0 ? `${formatHeader(options)}\n` : ''
              printed++
              return out.write(`${header}${line}\n`)
            },
            note: (text) => this.logToStderr(text),
          },
          { signal: stopping.signal },
        ),
      ).catch((err: unknown) => {
        throw this.jsonEnabled() ? err : withQueryCaret(err, flags.q, process.stderr.columns)
      })
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }
}
