import { Flags } from '@oclif/core'
import { KrafterCommand } from '../../src/cli/base.js'
import { readEntries, withEntrySource } from '../../src/cli/redaction-input.js'
import { UserError } from '../../src/errors.js'
import { testRedactionNow } from '../../src/ops/redaction.js'
import type { RedactionTestResult } from '../../src/redaction/rules.js'

export default class RedactionTest extends KrafterCommand {
  static override summary = "Show entries as a project's redaction rules would store them (nothing is stored)"
  static override description =
    'As POST /api/v1/redaction/test (docs/redaction.md): each entry is validated as ingest validates it, then redacted; the answer shows it as it would be stored and the names of the rules that changed it. --hash shows the text the hash behavior writes for a value, to search for a hashed field.'
  static override examples = [
    `<%= config.bin %> redaction test --project web --entry '{"message": "login with Bearer abcdefghijklmnop1234", "metadata": {"password": "hunter2"}}'`,
    '<%= config.bin %> redaction test -p web --file sample.ndjson --json',
    '<%= config.bin %> redaction test -p web --hash usr_ab12cd34',
  ]
  static override flags = {
    project: Flags.string({ char: 'p', description: 'Project id or exact name whose rules to run', required: true }),
    entry: Flags.string({ char: 'e', description: 'An entry as JSON, as POST /api/v1/logs/ingest takes it (repeatable)', multiple: true, exclusive: ['file'] }),
    file: Flags.string({ char: 'f', description: 'A file of entries: one JSON object a line (NDJSON) or a JSON array (- for stdin)', exclusive: ['entry'] }),
    hash: Flags.string({ description: 'Show the hash text of this value (repeatable)', multiple: true }),
  }

  async run(): Promise<RedactionTestResult> {
    const { flags } = await this.parse(RedactionTest)
    if (!flags.entry?.length && flags.file === undefined && !flags.hash?.length) {
      throw new UserError('Nothing to test: give --entry (repeatable), --file or --hash.', { exitCode: 2 })
    }
    const { entries, sources } = readEntries(flags)
    const result = await this.withContext(flags['data-dir'], (ctx) => {
      try {
        return testRedactionNow(ctx, { project: flags.project, entries, hash_values: flags.hash })
      } catch (err) {
        throw withEntrySource(err, sources)
      }
    })
    const blocks = result.entries.map(({ entry, matched }, i) =>
      [
        `${sources[i]}:`,
        `  message:  ${entry.message}`,
        `  metadata: ${JSON.stringify(entry.metadata)}`,
        `  ${matched.length ? `matched:  ${matched.join(', ')}` : 'no rule matched'}`,
      ].join('\n'),
    )
    const hashes = Object.entries(result.hashes)
    if (hashes.length) {
      const width = Math.max(...hashes.map(([v]) => JSON.stringify(v).length))
      blocks.push(['hashes:', ...hashes.map(([v, h]) => `  ${JSON.stringify(v).padEnd(width)}  ${h}`)].join('\n'))
    }
    this.log(blocks.join('\n\n'))
    return result
  }
}
