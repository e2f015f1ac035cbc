import { readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, startServe, cliFor, json, stopServe } from '../helpers/cli.js'

// Bad command lines against the real built CLI: one clear line and the usage line on stderr
// (or one small JSON error on stdout with --json), exit 2, for every command.
const home = tempDir('cli-errors')
const outDir = tempDir('cli-errors-out')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env, { cwd: outDir, stdin: 'ignore' })

const RULE = '00000000-0000-4000-8000-000000000000'

/** Every command with a missing argument or required flag (where it has one) and a bad flag value. */
const COMMANDS: { command: string; missing?: string[]; bad: string[] }[] = [
  { command: 'export', missing: [], bad: ['--project', 'x', '--format'] },
  { command: 'init', bad: ['--port', 'abc'] },
  { command: 'open', bad: ['--data-dir'] },
  { command: 'search', missing: [], bad: ['--project', 'x', '--limit'] },
  { command: 'serve', bad: ['--port', '70000'] },
  { command: 'status', bad: ['--data-dir'] },
  { command: 'systemd', bad: ['--write'] },
  { command: 'tail', missing: [], bad: ['--project', 'x', '--level'] },
  { command: 'alert create', bad: ['--threshold', 'many'] },
  { command: 'alert delete', missing: [], bad: [RULE, '--data-dir'] },
  { command: 'alert disable', missing: [], bad: [RULE, '--data-dir'] },
  { command: 'alert enable', missing: [], bad: [RULE, '--data-dir'] },
  { command: 'alert list', bad: ['--project'] },
  { command: 'alert test', missing: [], bad: [RULE, '--data-dir'] },
  { command: 'audit list', bad: ['--limit', 'ten'] },
  { command: 'backup create', bad: ['--keep', '0'] },
  { command: 'backup list', bad: ['--data-dir'] },
  { command: 'backup restore', missing: [], bad: ['/tmp/x', '--data-dir'] },
  { command: 'keys create', missing: ['--name', 'grafana'], bad: ['--name', 'g', '--scopes', 'logs:read', '--expires-in-days', 'soon'] },
  { command: 'keys list', bad: ['--data-dir'] },
  { command: 'keys revoke', missing: [], bad: ['id', '--data-dir'] },
  { command: 'project create', missing: [], bad: ['web', '--retention-days', 'week'] },
  { command: 'project delete', missing: [], bad: ['web', '--data-dir'] },
  { command: 'project list', bad: ['--data-dir'] },
  { command: 'project rotate-token', missing: [], bad: ['web', '--grace-seconds', 'soon'] },
  { command: 'project show', missing: [], bad: ['web', '--data-dir'] },
  { command: 'project tokens create', missing: ['web'], bad: ['web', '--name', 'n', '--expires-in-days', 'soon'] },
  { command: 'project tokens list', missing: [], bad: ['web', '--data-dir'] },
  { command: 'project tokens revoke', missing: ['web'], bad: ['web', RULE, '--data-dir'] },
  { command: 'project update', missing: [], bad: ['web', '--daily-limit-mb', 'lots'] },
  { command: 'project usage', missing: [], bad: ['web', '--days', '0'] },
  { command: 'redaction list', bad: ['--project'] },
  { command: 'redaction test', missing: [], bad: ['--project', 'web', '--entry'] },
  { command: 'retention run', bad: ['--project'] },
  { command: 'stream claim', missing: [], bad: ['t'.repeat(22), '--project'] },
]

const CASES = COMMANDS.flatMap(({ command, missing, bad }) => [
  ...(missing ? [{ command, kind: 'missing argument', args: missing }] : []),
  { command, kind: 'unknown flag', args: ['--no-such-flag'] },
  { command, kind: 'bad value', args: bad },
])

/** Runs the cases a few at a time: the machine is shared. */
const runAll = async <T, R>(items: T[], fn: (item: T) => Promise<R>, parallel = 4): Promise<R[]> => {
  const results: R[] = []
  for (let i = 0; i < items.length; i += parallel) results.push(...(await Promise.all(items.slice(i, i + parallel).map(fn))))
  return results
}

const expectUsageFailure = (res: { stdout: string; stderr: string; exitCode?: number }, command: string, label: string) => {
  expect(res.exitCode, `${label}: ${res.stderr}`).toBe(2)
  expect(res.stdout, label).toBe('')
  expect(Buffer.byteLength(res.stderr), label).toBeLessThan(2048)
  const lines = res.stderr.trimEnd().split('\n')
  expect(lines, label).toHaveLength(2)
  expect(lines[0], label).toMatch(/^Error: \S/)
  expect(lines[1], label).toMatch(new RegExp(`^Usage: krafter-logs ${command} `))
  expect(res.stderr, label).not.toMatch(/^\s+at /m)
}

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
})

afterAll(() => {
  rmSync(home, { recursive: true, force: true })
  rmSync(outDir, { recursive: true, force: true })
})

describe('bad command lines', () => {
  it('covers every command the CLI has', { timeout: 120_000 }, async () => {
    const help = await cli('--help')
    const listed = [...help.stdout.matchAll(/^ {2}([a-z-]+)\s/gm)].map((m) => m[1])
    const covered = new Set(COMMANDS.map((c) => c.command.split(' ')[0]))
    expect(listed.length).toBeGreaterThan(5)
    for (const topicOrCommand of listed) expect(covered, topicOrCommand).toContain(topicOrCommand)
    const all = await runAll(['alert', 'audit', 'backup', 'keys', 'project', 'redaction', 'retention', 'stream', 'project tokens'], (t) => cli(...t.split(' '), '--help'))
    // Commands and subtopics (`project tokens`, whose own commands are three words).
    const subcommands = all.flatMap((r) => [...r.stdout.matchAll(/^ {2}([a-z]+ [a-z-]+(?: [a-z-]+)?)(?= {2}|\n)/gm)].map((m) => m[1]!))
    expect(subcommands.length).toBeGreaterThan(15)
    expect(subcommands).toContain('project tokens create')
    for (const command of subcommands) expect(COMMANDS.some((c) => c.command === command || c.command.startsWith(`${command} `)), command).toBe(true)
  })

  it('prints one line and the usage line on stderr, exit 2 (missing argument, unknown flag, bad value)', { timeout: 600_000 }, async () => {
    const results = await runAll(CASES, async (c) => ({ c, res: await cli(...c.command.split(' '), ...c.args) }))
    for (const { c, res } of results) expectUsageFailure(res, c.command, `${c.command} (${c.kind})`)
    const unknown = results.find(({ c }) => c.command === 'project list' && c.kind === 'unknown flag')!
    expect(unknown.res.stderr).toMatch(/^Error: Unknown flag --no-such-flag\n/)
    const missing = results.find(({ c }) => c.command === 'project create' && c.kind === 'missing argument')!
    expect(missing.res.stderr).toMatch(/^Error: Missing argument NAME/)
    const required = results.find(({ c }) => c.command === 'export' && c.kind === 'missing argument')!
    expect(required.res.stderr).toContain('Missing required flag --project')
    const bad = results.find(({ c }) => c.command === 'project create' && c.kind === 'bad value')!
    expect(bad.res.stderr).toMatch(/^Error: Invalid value for --retention-days: Expected an integer but received: week\n/)
  })

  it('prints {"error": {"code", "message"}} on stdout with --json, and nothing on stderr, exit 2', { timeout: 600_000 }, async () => {
    // One case per command, the kinds taken in turn: each command and each kind is covered.
    const kinds = ['missing argument', 'unknown flag', 'bad value']
    const picked = COMMANDS.filter((c) => c.command !== 'serve').map(({ command }, i) => {
      const own = CASES.filter((c) => c.command === command)
      return own.find((c) => c.kind === kinds[i % 3]) ?? own[own.length - 1]!
    })
    expect(new Set(picked.map((c) => c.kind)).size).toBe(3)
    const results = await runAll(picked, async (c) => ({ c, res: await cli(...c.command.split(' '), ...c.args, '--json') }))
    for (const { c, res } of results) {
      const label = `${c.command} (${c.kind}) --json`
      expect(res.exitCode, `${label}: ${res.stdout}`).toBe(2)
      expect(res.stderr, label).toBe('')
      expect(Buffer.byteLength(res.stdout), label).toBeLessThan(2048)
      const { error } = json(res)
      expect(Object.keys(error).sort(), label).toEqual(['code', 'message'])
      expect(error.code, label).toBe('usage_error')
      expect(error.message, label).toMatch(/\S/)
    }
    // serve has no --json: asking for it is itself an unknown flag.
    expectUsageFailure(await cli('serve', '--json'), 'serve', 'serve --json')
  })

  it('suggests the command meant for a mistyped one, and the flag meant for a mistyped flag', async () => {
    const [command, nested, topic, nothing, flag, jsonCommand] = await Promise.all([
      cli('projct', 'list'),
      cli('alert', 'creat', '--name', 'x'),
      cli('bakup'),
      cli('frobnicate'),
      cli('project', 'create', 'web', '--retension-days', '3'),
      cli('project', 'lst', '--json'),
    ])
    expectUsageFailure(command, 'project list', 'projct list')
    expect(command.stderr).toContain('Error: krafter-logs has no command "projct list" (did you mean "krafter-logs project list"?)')
    expect(nested.stderr).toContain('(did you mean "krafter-logs alert create"?)')
    expect(nested.stderr).toContain('Usage: krafter-logs alert create ')
    expect(topic.exitCode).toBe(2)
    expect(topic.stderr).toContain('(did you mean "krafter-logs backup"?)')
    expect(nothing.exitCode).toBe(2)
    expect(nothing.stderr).toBe('Error: krafter-logs has no command "frobnicate"\nUsage: krafter-logs COMMAND (krafter-logs --help lists the commands)')
    expectUsageFailure(flag, 'project create', '--retension-days')
    expect(flag.stderr).toContain('Error: Unknown flag --retension-days (did you mean --retention-days?)')
    expect(jsonCommand.exitCode).toBe(2)
    expect(json(jsonCommand).error).toEqual({
      code: 'usage_error',
      message: 'krafter-logs has no command "project lst" (did you mean "krafter-logs project list"?)',
    })
  })

  it('describes each topic in the help', async () => {
    const help = await cli('--help')
    for (const [topic, words] of [
      ['project', 'ingest tokens'],
      ['alert', 'Alert rules'],
      ['backup', 'Backups: .*restore'],
      ['keys', 'Team API keys'],
      ['audit', 'Audit log'],
      ['retention', 'retention_days'],
      ['redaction', 'Redaction rules'],
      ['stream', 'Anonymous streams'],
    ]) {
      expect(help.stdout, topic).toMatch(new RegExp(`^ {2}${topic} +.*${words}`, 'm'))
    }
  })
})

describe('mistakes past the command line', () => {
  it('names an unknown project and points to project list', async () => {
    const res = await cli('project', 'show', 'no-such-project')
    expect(res.exitCode).toBe(1)
    expect(res.stderr).toBe(
      'Error: Project "no-such-project" not found: no project has this id or exact name.\n' +
        'Hint: `krafter-logs project list` shows the projects (names are exact, ids are UUIDs).',
    )
    const viaJson = json(await cli('export', '--project', '6f1c1c38-0f5e-4d5c-8f43-4f3d0d3f9e11', '--json'))
    expect(viaJson.error).toMatchObject({ code: 'not_found', suggestions: [expect.stringContaining('krafter-logs project list')] })
  })

  it('project delete without --yes: exit 2 on a pipe, a question on a terminal', async () => {
    expect((await cli('project', 'create', 'doomed', '--json')).exitCode).toBe(0)
    const piped = await cli('project', 'delete', 'doomed')
    expect(piped.exitCode).toBe(2)
    expect(piped.stderr).toMatch(/^Error: Not deleted: deleting project "doomed" \([0-9a-f-]{36}\) with all its log entries, streams, alerts and usage needs --yes when no terminal can confirm it\.\n/)
    expect(piped.stderr).toContain('Usage: krafter-logs project delete PROJECT')
    const pipedJson = await cli('project', 'delete', 'doomed', '--json')
    expect(pipedJson.exitCode).toBe(2)
    expect(json(pipedJson).error.message).toContain('needs --yes')
    expect(json(await cli('project', 'list', '--json')).map((p: { name: string }) => p.name)).toContain('doomed')

    // On a terminal (script(1) gives the command a pty): "n" keeps the project, "y" deletes it.
    const onTerminal = (answer: string) =>
      execa('script', ['-qec', `node ${BIN} project delete doomed`, '/dev/null'], { env, reject: false, timeout: 60_000, input: `${answer}\n` })
    const declined = await onTerminal('n')
    expect(declined.stdout).toContain('Delete project "doomed"')
    expect(declined.stdout).toContain('[y/N]')
    expect(declined.stdout).toContain('Not deleted: the deletion was not confirmed.')
    expect(declined.exitCode).toBe(1)
    expect(json(await cli('project', 'list', '--json')).map((p: { name: string }) => p.name)).toContain('doomed')
    const confirmed = await onTerminal('y')
    expect(confirmed.exitCode, confirmed.stdout).toBe(0)
    expect(confirmed.stdout).toMatch(/Deleted project "doomed"/)
    expect(json(await cli('project', 'list', '--json')).map((p: { name: string }) => p.name)).not.toContain('doomed')
  })
})

describe('export beyond its limit', () => {
  const TOTAL = 10_050
  let serve: { proc: ResultPromise; url: string } | undefined

  beforeAll(async () => {
    const created = json(await cli('project', 'create', 'big', '--json'))
    serve = await startServe(home, env)
    const now = Date.now()
    // Spread over the last hour, inside export's default range (24 h).
    const lines = Array.from({ length: TOTAL }, (_, i) => JSON.stringify({ message: `entry ${i}`, timestamp: new Date(now - 3_600_000 + i * 300).toISOString() }))
    // Two batches: one takes at most 10,000 entries.
    for (const half of [lines.slice(0, TOTAL / 2), lines.slice(TOTAL / 2)]) {
      const res = await fetch(`${serve.url}/api/v1/logs/ingest/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${created.ingest_token}`, 'content-type': 'application/x-ndjson' },
        body: half.join('\n'),
      })
      expect(res.status, await res.text()).toBe(202)
    }
  })
  afterAll(async () => {
    await stopServe(serve)
  })

  it('says how many entries matched when the 10,000 cap cut the export (through serve)', async () => {
    const res = await cli('export', '--project', 'big', '--out', 'all.csv')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout).toBe(`Exported 10000 entries to ${path.join(outDir, 'all.csv')} (via server)`)
    expect(res.stderr).toBe('10,050 entries matched; the export maximum of 10,000 kept 10,000. Export the rest with narrower --from/--to ranges or filters.')
    const viaJson = json(await cli('export', '--project', 'big', '--out', 'all.json', '--format', 'json', '--json'))
    expect(viaJson).toMatchObject({ entries: 10_000, matched: TOTAL, limit: 10_000, truncated: true, via: 'server' })
    // A filter that keeps the export under its limit says nothing more.
    const small = await cli('export', '--project', 'big', '--q', '"entry 42"', '--out', 'small.csv', '--json')
    expect(json(small)).toMatchObject({ entries: 1, matched: 1, truncated: false })
  })

  it('says so for --limit too, and directly from the engine once serve has stopped', async () => {
    serve!.proc.kill('SIGTERM')
    expect((await serve!.proc).exitCode).toBe(0)
    const res = await cli('export', '--project', 'big', '--limit', '25', '--out', '-')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout.trimEnd().split('\r\n')).toHaveLength(26)
    expect(res.stderr).toBe('10,050 entries matched; --limit 25 kept 25. Export the rest with narrower --from/--to ranges or filters.')
    const viaJson = json(await cli('export', '--project', 'big', '--limit', '25', '--out', 'direct.csv', '--json'))
    expect(viaJson).toMatchObject({ entries: 25, matched: TOTAL, limit: 25, truncated: true, via: 'direct' })
    expect(readdirSync(outDir)).toContain('direct.csv')
  })
})
