import { existsSync, rmSync } from 'node:fs'
import type { ResultPromise } from 'execa'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, cliFor, json, startServe, stopServe } from '../helpers/cli.js'

// `krafter-logs search` as the real built CLI: directly on the engine (no serve), then through a
// running serve. The child's stdout is a pipe, so it prints NDJSON unless run under a pty.
const home = tempDir('search-cli')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env, { stdin: 'ignore' })

const TOTAL = 250
// One entry a second, the newest a minute ago: all inside the default range (the last 24 h).
const base = Date.now() - (TOTAL + 60) * 1000
const ENTRIES = Array.from({ length: TOTAL }, (_, n) => ({
  timestamp: new Date(base + n * 1000).toISOString(),
  message: n % 25 === 7 ? `upstream timeout after 30s (request ${n})` : `request ${n} served`,
  level: n % 10 === 0 ? 'error' : 'info',
  service: n % 2 === 0 ? 'api' : 'worker',
  metadata: { n },
}))
const ERRORS = ENTRIES.filter((e) => e.level === 'error').map((e) => e.metadata.n)
const TIMEOUTS = ENTRIES.filter((e) => e.message.includes('timeout')).map((e) => e.metadata.n)
const ENTRY_KEYS = ['id', 'timestamp', 'level', 'service', 'stream', 'message', 'trace_id', 'span_id', 'metadata', 'received_at']

interface Entry {
  id: string
  timestamp: string
  level: string
  service: string
  message: string
  metadata: { n: number }
}

/** NDJSON as printed: one JSON object a line (execa strips the final line break). */
const ndjson = (stdout: string): Entry[] => (stdout === '' ? [] : stdout.split('\n').map((line) => JSON.parse(line) as Entry))

const search = async (...args: string[]) => {
  const res = await cli('search', '--project', 'Search Test', ...args)
  expect(res.exitCode, res.stderr).toBe(0)
  return { ...res, entries: ndjson(res.stdout) }
}

/** The CLI on a pseudo-terminal (util-linux script), `cols` wide: what a person at a terminal sees. */
const onTerminal = async (args: string[], cols: number, extraEnv: Record<string, string> = {}) => {
  const command = [BIN, 'search', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const res = await execa('script', ['-qec', `stty cols ${cols} rows 50; node ${command}`, '/dev/null'], {
    env: { ...env, ...extraEnv },
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  })
  return { exitCode: res.exitCode, lines: res.stdout.split(/\r?\n/).filter(Boolean) }
}
const hasScript = existsSync('/usr/bin/script') || existsSync('/bin/script')

let serve: { proc: ResultPromise; url: string } | undefined

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  const created = await cli('project', 'create', 'Search Test', '--json')
  expect(created.exitCode, created.stderr).toBe(0)
  const other = await cli('project', 'create', 'Other', '--json')
  expect(other.exitCode, other.stderr).toBe(0)
  // Ingest goes through a serve (the only ingest door); it is stopped again before the tests.
  serve = await startServe(home, env)
  for (const [token, entries] of [
    [json(created.stdout).ingest_token as string, ENTRIES],
    [json(other.stdout).ingest_token as string, [{ message: 'request of another project', level: 'error' }]],
  ] as const) {
    const res = await fetch(`${serve.url}/api/v1/logs/ingest/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      body: entries.map((e) => JSON.stringify(e)).join('\n'),
    })
    expect(res.status).toBe(202)
    expect(((await res.json()) as { data: { accepted: number } }).data.accepted).toBe(entries.length)
  }
  await stopServe(serve)
  serve = undefined
})

afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

/** The checks both paths must pass alike. */
const sharedChecks = () => {
  it('prints NDJSON on a pipe: one page of 100, newest first, the API entry shape', async () => {
    const { entries, stderr } = await search()
    expect(entries).toHaveLength(100)
    expect(Object.keys(entries[0]!)).toEqual(ENTRY_KEYS)
    expect(entries.map((e) => e.metadata.n)).toEqual(Array.from({ length: 100 }, (_, i) => TOTAL - 1 - i))
    expect(entries[0]).toMatchObject({ level: 'info', service: 'worker', message: 'request 249 served' })
    expect(entries[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    expect(stderr).toContain('More entries match')
  })

  it('--json prints the same NDJSON (not one document), --order asc and --limit', async () => {
    const asc = await search('--order', 'asc', '--limit', '5', '--json')
    expect(asc.entries.map((e) => e.metadata.n)).toEqual([0, 1, 2, 3, 4])
    expect(asc.stderr).toBe('')
    const plain = await search('--order', 'asc', '--limit', '5')
    expect(plain.stdout).toBe(asc.stdout)
  })

  it('--all follows the cursors: every entry once, in order, page size --limit', async () => {
    const { entries, stderr } = await search('--all', '--limit', '100')
    expect(entries).toHaveLength(TOTAL)
    expect(new Set(entries.map((e) => e.id)).size).toBe(TOTAL)
    expect(entries.map((e) => e.metadata.n)).toEqual(Array.from({ length: TOTAL }, (_, i) => TOTAL - 1 - i))
    expect(stderr).toBe('')
    const asc = await search('--all', '--limit', '7', '--order', 'asc', '--json')
    expect(asc.entries.map((e) => e.metadata.n)).toEqual(Array.from({ length: TOTAL }, (_, i) => i))
  })

  it('filters: --level, --q, --service, --from/--to, and only the named project', async () => {
    const errors = await search('--level', 'error', '--all')
    expect(errors.entries.map((e) => e.metadata.n).sort((a, b) => a - b)).toEqual(ERRORS)
    expect(errors.entries.every((e) => e.level === 'error')).toBe(true)
    const timeouts = await search('--q', 'timeout', '--order', 'asc')
    expect(timeouts.entries.map((e) => e.metadata.n)).toEqual(TIMEOUTS)
    const both = await search('--q', 'request AND service:api', '--level', 'error', '--order', 'asc', '--limit', '1000')
    expect(both.entries.map((e) => e.metadata.n)).toEqual(ERRORS.filter((n) => n % 2 === 0))
    const range = await search('--from', ENTRIES[10]!.timestamp, '--to', ENTRIES[13]!.timestamp, '--order', 'asc')
    expect(range.entries.map((e) => e.metadata.n)).toEqual([10, 11, 12])
    const none = await search('--q', 'nothing-like-this')
    expect(none.stdout).toBe('')
    expect(none.stderr).toBe('')
  })

  it('a malformed query exits 2 and shows where it is wrong', async () => {
    const q = 'request AND (service:api'
    const res = await cli('search', '--project', 'Search Test', '--q', q)
    expect(res.exitCode).toBe(2)
    expect(res.stdout).toBe('')
    const lines = res.stderr.split('\n')
    expect(lines[0]).toMatch(/^Error: Invalid q at position 12: /)
    expect(lines[1]).toBe(`  ${q}`)
    expect(lines[2]).toBe(`  ${' '.repeat(12)}^`)
    expect(lines[3]).toMatch(/^Usage: krafter-logs search /)
    const viaJson = await cli('search', '--project', 'Search Test', '--q', 'level:loud', '--json')
    expect(viaJson.exitCode).toBe(2)
    const { error } = json(viaJson)
    expect(error.code).toBe('validation_error')
    expect(error.message).toMatch(/^Invalid q at position 6: unknown level/)
    expect(error.details).toEqual([{ field: 'q', message: expect.stringContaining('(position 6)') }])
    const badLimit = await cli('search', '--project', 'Search Test', '--limit', '1001', '--json')
    expect(badLimit.exitCode).toBe(2)
    expect(json(badLimit).error.details).toEqual([{ field: 'limit', message: 'must be an integer from 1 to 1000' }])
  })

  it('an unknown project is an error, exit 1', async () => {
    const res = await cli('search', '--project', 'no-such-project')
    expect(res.exitCode).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toContain('Project "no-such-project" not found')
    const viaJson = await cli('search', '--project', 'no-such-project', '--json')
    expect(viaJson.exitCode).toBe(1)
    expect(json(viaJson).error.code).toBe('not_found')
  })

  it.skipIf(!hasScript)('prints a table on a terminal: cut to the width, coloured unless NO_COLOR', async () => {
    const args = ['--project', 'Search Test', '--limit', '3', '--q', 'timeout']
    const colored = await onTerminal(args, 70)
    expect(colored.exitCode).toBe(0)
    const [header, ...rest] = colored.lines
    expect(header).toContain('TIME (UTC)')
    const rows = rest.slice(0, 3)
    // eslint-disable-next-line no-control-regex
    const plain = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '')
    expect(rows.every((r) => r.includes('\u001B['))).toBe(true)
    for (const row of rows) expect(plain(row).length).toBeLessThanOrEqual(70)
    expect(plain(rows[0]!)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}info {3}\S+\s+upstream timeout.*…$/)
    const uncolored = await onTerminal(args, 200, { NO_COLOR: '1' })
    expect(uncolored.exitCode).toBe(0)
    expect(uncolored.lines.some((l) => l.includes('\u001B['))).toBe(false)
    expect(uncolored.lines[1]).toContain(`upstream timeout after 30s (request ${TIMEOUTS[TIMEOUTS.length - 1]})`)
  })
}

describe('directly on the engine (no serve)', () => {
  sharedChecks()

  it('ends quietly when the reader goes away (| head)', async () => {
    const command = `set -o pipefail; node '${BIN}' search --project 'Search Test' --all --limit 10 | head -n 2`
    const res = await execa('bash', ['-c', command], { env, reject: false, stdin: 'ignore', timeout: 60_000 })
    expect(res.exitCode, res.stderr).toBe(0)
    expect(ndjson(res.stdout).map((e) => e.metadata.n)).toEqual([TOTAL - 1, TOTAL - 2])
    expect(res.stderr).toBe('')
  })

  it.skipIf(!hasScript)('says on a terminal that it read the engine itself', async () => {
    const { lines } = await onTerminal(['--project', 'Search Test', '--limit', '2'], 120, { NO_COLOR: '1' })
    expect(lines).toContain('2 entries (via direct)')
  })
})

describe('through a running serve', () => {
  let direct: string
  beforeAll(async () => {
    direct = (await search('--all', '--limit', '100')).stdout
    serve = await startServe(home, env)
  })
  afterAll(async () => {
    await stopServe(serve)
    serve = undefined
  })

  sharedChecks()

  it('gives what the engine gives directly', async () => {
    expect((await search('--all', '--limit', '100')).stdout).toBe(direct)
  })

  it.skipIf(!hasScript)('says on a terminal that it went through the server', async () => {
    const { lines } = await onTerminal(['--project', 'Search Test', '--limit', '2'], 120, { NO_COLOR: '1' })
    expect(lines).toContain('2 entries (via server)')
  })
})
