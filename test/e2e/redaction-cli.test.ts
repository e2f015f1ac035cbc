import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, cliFor, json } from '../helpers/cli.js'

// `redaction list|test` as the real built CLI, directly on an initialised data dir (no serve):
// the rules API and its dry run, with entries from flags, a file or stdin.
const home = tempDir('redaction-cli')
const files = tempDir('redaction-cli-files')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env, { stdin: 'ignore' })

const BUILTIN_IDS = [
  'builtin:secret_fields',
  'builtin:private_key',
  'builtin:authorization',
  'builtin:jwt',
  'builtin:aws_access_key',
  'builtin:credit_card',
  'builtin:email',
  'builtin:ip_address',
]
const LOGIN = JSON.stringify({ message: 'login with Bearer abcdefghijklmnop1234', metadata: { password: 'hunter2', user: 'u1' } })
const HASH = /^\[hash:[0-9a-f]{12}\]$/

let projectId: string

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  const created = await cli('project', 'create', 'shop', '--json')
  expect(created.exitCode, created.stderr).toBe(0)
  projectId = json(created).id
})

afterAll(() => {
  rmSync(home, { recursive: true, force: true })
  rmSync(files, { recursive: true, force: true })
})

describe('redaction list', () => {
  it('lists the eight built-ins in order, e-mail and IP addresses off, for the team and for a project', async () => {
    const all = await cli('redaction', 'list', '--json')
    expect(all.exitCode, all.stderr).toBe(0)
    const rules = json(all) as { id: string; builtin: boolean; enabled: boolean; behavior: string; project_id: string | null }[]
    expect(rules.map((r) => r.id)).toEqual(BUILTIN_IDS)
    expect(rules.every((r) => r.builtin && r.behavior === 'mask' && r.project_id === null)).toBe(true)
    expect(rules.filter((r) => !r.enabled).map((r) => r.id)).toEqual(['builtin:email', 'builtin:ip_address'])

    const byName = await cli('redaction', 'list', '--project', 'shop', '--json')
    expect(byName.exitCode, byName.stderr).toBe(0)
    expect(json(byName).map((r: { id: string }) => r.id)).toEqual(BUILTIN_IDS)
    const byId = await cli('redaction', 'list', '-p', projectId, '--json')
    expect(json(byId)).toEqual(json(byName))
  })

  it('shows a table for people, and refuses an unknown project', async () => {
    const human = await cli('redaction', 'list')
    expect(human.exitCode, human.stderr).toBe(0)
    const lines = human.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+NAME\s+BUILTIN\s+BEHAVIOR\s+APPLIES TO\s+ENABLED\s+PROJECT$/)
    expect(lines).toHaveLength(1 + BUILTIN_IDS.length)
    expect(lines.find((l) => l.startsWith('builtin:email '))).toMatch(/\bdisabled\b/)
    expect(lines.find((l) => l.startsWith('builtin:jwt '))).toMatch(/\bmask\s+all\s+enabled\s+all$/)

    const unknown = await cli('redaction', 'list', '--project', 'nope', '--json')
    expect(unknown.exitCode).toBe(1)
    expect(json(unknown).error).toMatchObject({ code: 'not_found', message: expect.stringContaining('"nope"') })
  })
})

describe('redaction test', () => {
  it('shows an entry as it would be stored, with the rules that changed it', async () => {
    const res = await cli('redaction', 'test', '--project', 'shop', '--entry', LOGIN, '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const { entries, hashes } = json(res)
    expect(entries).toHaveLength(1)
    const [{ entry, matched }] = entries
    expect(entry.message).toContain('[REDACTED:authorization]')
    expect(entry.message).not.toContain('abcdefghijklmnop1234')
    expect(entry.metadata).toEqual({ password: '[REDACTED:secret_fields]', user: 'u1' })
    expect([...matched].sort()).toEqual(['authorization', 'secret_fields'])
    expect(hashes).toEqual({})
  })

  it('prints each entry, its metadata and what matched for people', async () => {
    const res = await cli('redaction', 'test', '-p', 'shop', '-e', LOGIN, '-e', '{"message":"all quiet"}')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout).toContain('login with Bearer [REDACTED:authorization]')
    expect(res.stdout).toContain('{"password":"[REDACTED:secret_fields]","user":"u1"}')
    expect(res.stdout).toMatch(/matched: +(secret_fields, authorization|authorization, secret_fields)/)
    expect(res.stdout).toMatch(/--entry #2:\n +message: +all quiet\n +metadata: +\{\}\n +no rule matched/)
    expect(res.stdout).not.toContain('hunter2')
  })

  it('takes entries from an NDJSON file, a JSON array file and stdin', async () => {
    const ndjson = path.join(files, 'entries.ndjson')
    writeFileSync(ndjson, `${LOGIN}\n\n{"message":"key AKIAIOSFODNN7EXAMPLE leaked"}\n`)
    const fromFile = await cli('redaction', 'test', '--project', projectId, '--file', ndjson, '--json')
    expect(fromFile.exitCode, fromFile.stderr).toBe(0)
    const { entries } = json(fromFile)
    expect(entries).toHaveLength(2)
    expect(entries[0].entry.metadata.password).toBe('[REDACTED:secret_fields]')
    expect(entries[1].entry.message).toBe('key [REDACTED:aws_access_key] leaked')
    expect(entries[1].matched).toEqual(['aws_access_key'])

    const array = path.join(files, 'entries.json')
    writeFileSync(array, JSON.stringify([JSON.parse(LOGIN), { message: 'plain' }], null, 2))
    const fromArray = json(await cli('redaction', 'test', '-p', 'shop', '-f', array, '--json'))
    expect(fromArray.entries.map((e: { entry: { message: string } }) => e.entry.message)).toEqual([
      'login with Bearer [REDACTED:authorization]',
      'plain',
    ])

    const stdin = await execa('node', [BIN, 'redaction', 'test', '-p', 'shop', '--file', '-', '--json'], { env, input: `${LOGIN}\n`, reject: false })
    expect(stdin.exitCode, stdin.stderr).toBe(0)
    expect(json(stdin).entries[0].entry.message).toContain('[REDACTED:authorization]')
  })

  it('gives the hash text of a value, the same each time, with or without entries', async () => {
    const res = await cli('redaction', 'test', '-p', 'shop', '--entry', LOGIN, '--hash', 'u1', '--hash', 'u2', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const { hashes } = json(res)
    expect(Object.keys(hashes)).toEqual(['u1', 'u2'])
    expect(hashes.u1).toMatch(HASH)
    expect(hashes.u2).toMatch(HASH)
    expect(hashes.u1).not.toBe(hashes.u2)

    const again = await cli('redaction', 'test', '-p', 'shop', '--hash', 'u1', '--json')
    expect(again.exitCode, again.stderr).toBe(0)
    expect(json(again)).toEqual({ entries: [], hashes: { u1: hashes.u1 } })
    const human = await cli('redaction', 'test', '-p', 'shop', '--hash', 'u1')
    expect(human.stdout).toMatch(new RegExp(`hashes:\\n +"u1" +${hashes.u1.replace(/[[\]]/g, '\\$&')}`))
  })

  it('names the entry or line that is not JSON, exit 2', async () => {
    const bad = await cli('redaction', 'test', '-p', 'shop', '--entry', LOGIN, '--entry', '{"message": "x"', '--json')
    expect(bad.exitCode).toBe(2)
    expect(json(bad).error).toMatchObject({ code: 'user_error', message: expect.stringMatching(/^--entry #2 is not valid JSON/) })

    const human = await cli('redaction', 'test', '-p', 'shop', '--entry', 'nope')
    expect(human.exitCode).toBe(2)
    expect(human.stderr).toMatch(/^Error: --entry #1 is not valid JSON/)

    const ndjson = path.join(files, 'broken.ndjson')
    writeFileSync(ndjson, `${LOGIN}\n{"message": oops}\n`)
    const line = json(await cli('redaction', 'test', '-p', 'shop', '--file', ndjson, '--json'))
    expect(line.error.message).toMatch(/^Line 2 of .*broken\.ndjson is not valid JSON/)
  })

  it("gives the API's validation error for an entry that breaks the entry rules, naming it", async () => {
    const res = await cli('redaction', 'test', '-p', 'shop', '--entry', LOGIN, '--entry', '{"message": 42}', '--json')
    expect(res.exitCode).toBe(2)
    const { error } = json(res)
    expect(error.code).toBe('validation_error')
    expect(error.details).toEqual([{ field: 'entries[1].message', message: expect.any(String) }])
    expect(error.message).toMatch(/^Invalid entries\[1\]\.message: .*\(--entry #2\)$/)

    const notObject = json(await cli('redaction', 'test', '-p', 'shop', '--entry', '[1]', '--json'))
    expect(notObject.error.details[0].field).toBe('entries[0].entry')
  })

  it('refuses a command line with nothing to test, or both --entry and --file', async () => {
    const nothing = await cli('redaction', 'test', '-p', 'shop')
    expect(nothing.exitCode).toBe(2)
    expect(nothing.stderr).toMatch(/^Error: Nothing to test/)
    const both = await cli('redaction', 'test', '-p', 'shop', '--entry', LOGIN, '--file', 'x.ndjson', '--json')
    expect(both.exitCode).toBe(2)
    expect(json(both).error.code).toBe('usage_error')
  })
})
