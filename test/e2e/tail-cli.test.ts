import { rmSync } from 'node:fs'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, cliFor, json, startServe, stopServe } from '../helpers/cli.js'

// `krafter-logs tail` as the real built CLI against a real serve child: it follows new entries,
// survives serve restarting (resuming with Last-Event-ID: nothing lost, nothing twice), stops
// cleanly on SIGINT/SIGTERM and when its reader leaves. Stdout is a pipe: NDJSON.
const home = tempDir('tail-cli')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env, { stdin: 'ignore' })
const ENTRY_KEYS = ['id', 'timestamp', 'level', 'service', 'stream', 'message', 'trace_id', 'span_id', 'metadata', 'received_at']
/** Generous: a wait for something that must happen, never a time something must take. */
const WAIT_MS = 90_000

interface Entry {
  id: string
  level: string
  service: string
  message: string
  metadata: { n?: number }
}

let serve: { proc: ResultPromise; url: string } | undefined
let token = ''
let otherToken = ''

const ingest = async (entries: unknown[], as = token) => {
  const res = await fetch(`${serve!.url}/api/v1/logs/ingest/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${as}`, 'content-type': 'application/x-ndjson' },
    body: entries.map((e) => JSON.stringify(e)).join('\n'),
  })
  expect(res.status, await res.clone().text()).toBe(202)
}

/** Entries numbered from..to-1 (metadata.n), every third an error with a timeout. */
const batch = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => {
    const n = from + i
    return n % 3 === 0
      ? { message: `upstream timeout (entry ${n})`, level: 'error', service: 'api', metadata: { n } }
      : { message: `entry ${n} served`, level: 'info', service: 'worker', metadata: { n } }
  })

/**
 * A `tail` child whose output is read as it comes: `until` resolves once its stdout or stderr
 * shows what a test waits for (and fails if the child exits first, or after a generous wait).
 */
const startTail = (args: string[], extraEnv: Record<string, string> = {}) => {
  const proc = execa('node', [BIN, 'tail', ...args], { env: { ...env, ...extraEnv }, reject: false, stdin: 'ignore' })
  let stdout = ''
  let stderr = ''
  let waiters: (() => void)[] = []
  const wake = () => {
    const current = waiters
    waiters = []
    for (const w of current) w()
  }
  proc.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    wake()
  })
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
    wake()
  })
  proc.on('exit', wake)
  const entries = (): Entry[] =>
    stdout
      .split('\n')
      .slice(0, -1) // only complete lines
      .map((line) => JSON.parse(line) as Entry)
  const until = <T>(probe: () => T | undefined, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tail: timed out waiting for ${what}\nstdout: ${stdout}\nstderr: ${stderr}`)), WAIT_MS)
      const attempt = () => {
        const value = probe()
        if (value !== undefined) {
          clearTimeout(timer)
          resolve(value)
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          clearTimeout(timer)
          reject(new Error(`tail exited (${proc.exitCode ?? proc.signalCode}) before ${what}\nstdout: ${stdout}\nstderr: ${stderr}`))
        } else waiters.push(attempt)
      }
      attempt()
    })
  return {
    proc,
    entries,
    stderr: () => stderr,
    untilEntries: (n: number) => until(() => (entries().length >= n ? entries() : undefined), `${n} entries`),
    untilStderr: (pattern: RegExp, from = 0) => until(() => (pattern.test(stderr.slice(from)) ? stderr.length : undefined), `stderr ${pattern}`),
  }
}

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  const created = await cli('project', 'create', 'Tail Test', '--json')
  expect(created.exitCode, created.stderr).toBe(0)
  token = json(created.stdout).ingest_token as string
  const other = await cli('project', 'create', 'Other', '--json')
  expect(other.exitCode, other.stderr).toBe(0)
  otherToken = json(other.stdout).ingest_token as string
})

afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

describe('without a running serve', () => {
  it('exits 1 saying serve must run', async () => {
    const res = await cli('tail', '--project', 'Tail Test')
    expect(res.exitCode).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toMatch(/^Error: krafter-logs tail follows new entries through a running serve, and none runs on /)
    expect(res.stderr).toContain('krafter-logs serve')
    const viaJson = await cli('tail', '--project', 'Tail Test', '--json')
    expect(viaJson.exitCode).toBe(1)
    expect(json(viaJson).error.message).toContain('through a running serve')
  })

  it('a malformed query exits 2 showing where; an unknown project exits 1', async () => {
    const q = 'timeout AND (service:api'
    const res = await cli('tail', '--project', 'Tail Test', '--q', q)
    expect(res.exitCode).toBe(2)
    expect(res.stdout).toBe('')
    const lines = res.stderr.split('\n')
    expect(lines[0]).toMatch(/^Error: Invalid q at position 12: /)
    expect(lines[1]).toBe(`  ${q}`)
    expect(lines[2]).toBe(`  ${' '.repeat(12)}^`)
    expect(lines[3]).toMatch(/^Usage: krafter-logs tail /)
    const viaJson = await cli('tail', '--project', 'Tail Test', '--level', 'loud', '--json')
    expect(viaJson.exitCode).toBe(2)
    expect(json(viaJson).error).toMatchObject({ code: 'validation_error', details: [{ field: 'level', message: expect.any(String) }] })
    const unknown = await cli('tail', '--project', 'no-such-project')
    expect(unknown.exitCode).toBe(1)
    expect(unknown.stderr).toContain('Project "no-such-project" not found')
  })
})

describe('through a running serve', () => {
  beforeAll(async () => {
    serve = await startServe(home, env)
  })
  afterAll(async () => {
    await stopServe(serve)
    serve = undefined
  })

  it('follows new entries, resumes across a serve restart with none lost or repeated, stops on SIGINT and SIGTERM', async () => {
    const all = startTail(['--project', 'Tail Test'])
    const errors = startTail(['--project', 'Tail Test', '--level', 'error', '--q', 'timeout'])
    try {
      // Entries stored before a tail connects are not new to it: wait until both follow.
      await all.untilStderr(/^Following project "Tail Test" through serve at /m)
      await errors.untilStderr(/^Following project "Tail Test"/m)
      await ingest(batch(0, 6))
      await ingest([{ message: 'entry of another project', level: 'error' }], otherToken)
      const first = await all.untilEntries(6)
      expect(first.map((e) => e.metadata.n)).toEqual([0, 1, 2, 3, 4, 5])
      expect(Object.keys(first[0]!)).toEqual(ENTRY_KEYS)
      expect(first[0]).toMatchObject({ level: 'error', service: 'api', message: 'upstream timeout (entry 0)' })
      await errors.untilEntries(2)

      // serve stops (its streams end) and starts again on the same data dir: another port and token.
      const before = all.stderr().length
      await stopServe(serve)
      await all.untilStderr(/reconnecting…/, before)
      serve = await startServe(home, env)
      // Stored right away, perhaps before the tails are back: they resume from their last event id.
      await ingest(batch(6, 12))
      await all.untilStderr(/^Reconnected to serve at /m, before)
      await ingest(batch(12, 15))

      const got = await all.untilEntries(15)
      expect(got.map((e) => e.metadata.n)).toEqual(Array.from({ length: 15 }, (_, n) => n))
      expect(new Set(got.map((e) => e.id)).size).toBe(15)
      const search = await cli('search', '--project', 'Tail Test', '--all', '--order', 'asc', '--limit', '1000')
      expect(search.exitCode, search.stderr).toBe(0)
      const stored = search.stdout.split('\n').map((line) => (JSON.parse(line) as Entry).id)
      expect(new Set(stored)).toEqual(new Set(got.map((e) => e.id)))

      const matching = await errors.untilEntries(5)
      expect(matching.map((e) => e.metadata.n)).toEqual([0, 3, 6, 9, 12])

      all.proc.kill('SIGINT')
      errors.proc.kill('SIGTERM')
      const [ended, endedErrors] = await Promise.all([all.proc, errors.proc])
      expect(ended.exitCode, ended.stderr).toBe(0)
      expect(endedErrors.exitCode, endedErrors.stderr).toBe(0)
      // Nothing more than the entries: exactly 15 and 5 lines, each once.
      expect(all.entries()).toHaveLength(15)
      expect(errors.entries()).toHaveLength(5)
      expect(ended.stderr).not.toMatch(/Error|at .*\.js/)
    } finally {
      all.proc.kill('SIGKILL')
      errors.proc.kill('SIGKILL')
    }
  })

  it('ends quietly, exit 0, when its reader goes away (| head)', async () => {
    const proc = execa('bash', ['-c', `set -o pipefail; node '${BIN}' tail --project 'Tail Test' | head -n 2`], { env, reject: false, stdin: 'ignore' })
    let stdout = ''
    let stderr = ''
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    const exited = proc.then(() => true)
    const waitFor = async (probe: () => boolean, what: string) => {
      const deadline = Date.now() + WAIT_MS
      while (!probe()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout: ${stdout}\nstderr: ${stderr}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    try {
      await waitFor(() => /^Following /m.test(stderr), 'the tail to follow')
      await ingest(batch(100, 102))
      await waitFor(() => stdout.split('\n').length > 2, 'head to print 2 lines')
      // head has left: the tail notices at its next write (as tail -f does), so entries keep coming until it ends.
      let n = 102
      while (!(await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 500))]))) await ingest(batch(n, ++n))
      const res = await proc
      expect(res.exitCode, stderr).toBe(0)
      expect(stdout.trim().split('\n').map((l) => (JSON.parse(l) as Entry).metadata.n)).toEqual([100, 101])
      expect(stderr).not.toMatch(/Error|EPIPE/)
    } finally {
      proc.kill('SIGKILL')
    }
  })
})
