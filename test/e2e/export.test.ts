import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN, startServe, cliFor, json, stopServe } from '../helpers/cli.js'

// `krafter-logs export` as the real built CLI, through a running serve and then directly.
const home = tempDir('export')
const outDir = tempDir('export-out')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }

const cli = cliFor(env, { cwd: outDir })



/** A strict RFC 4180 reader: records of fields, CRLF between records. */
const parseCsv = (text: string): string[][] => {
  const records: string[][] = []
  let record: string[] = []
  let i = 0
  while (i < text.length) {
    let field = ''
    if (text[i] === '"') {
      i++
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field')
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += text[i++]
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') field += text[i++]
    }
    record.push(field)
    if (text[i] === ',') {
      i++
    } else {
      if (text.slice(i, i + 2) !== '\r\n') throw new Error(`expected CRLF at ${i}`)
      i += 2
      records.push(record)
      record = []
    }
  }
  return records
}

const TRICKY = 'payment failed, card "4242" declined\nsecond line'
const ENTRIES = Array.from({ length: 30 }, (_, i) => ({
  message: i === 3 ? TRICKY : i === 4 ? 'plain "quotes" only' : `request ${i} served`,
  level: i % 5 === 0 ? 'error' : 'info',
  service: i % 2 === 0 ? 'api' : 'worker',
  metadata: { n: i, tag: i === 3 ? 'a,b' : 'x' },
}))
const ERRORS = ENTRIES.filter((e) => e.level === 'error').length

let serve: { proc: ResultPromise; url: string } | undefined

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  const created = await cli('project', 'create', 'Export Test', '--json')
  expect(created.exitCode, created.stderr).toBe(0)
  const token = json(created.stdout).ingest_token as string
  serve = await startServe(home, env)
  const res = await fetch(`${serve.url}/api/v1/logs/ingest/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: ENTRIES.map((e) => JSON.stringify(e)).join('\n'),
  })
  expect(res.status).toBe(202)
  expect(((await res.json()) as { data: { accepted: number } }).data.accepted).toBe(30)
})

afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
  rmSync(outDir, { recursive: true, force: true })
})

describe('krafter-logs export', () => {
  it('exports CSV through the running server', async () => {
    const file = path.join(outDir, 'a.csv')
    const res = await cli('export', '--project', 'Export Test', '--format', 'csv', '--out', file, '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const out = json(res.stdout)
    expect(out).toMatchObject({ file, format: 'csv', entries: 30, via: 'server' })
    const text = readFileSync(file, 'utf8')
    expect(out.bytes).toBe(statSync(file).size)
    expect(text.startsWith('timestamp,level,service,stream,message,trace_id,span_id,metadata\r\n')).toBe(true)
    expect(text).toContain('"payment failed, card ""4242"" declined\nsecond line"')
    expect(text).toContain(',"plain ""quotes"" only",')
    const records = parseCsv(text)
    expect(records).toHaveLength(31)
    for (const r of records) expect(r).toHaveLength(8)
    const tricky = records.find((r) => r[4] === TRICKY)!
    expect(tricky.slice(1, 4)).toEqual(['info', 'worker', 'default'])
    expect(JSON.parse(tricky[7]!)).toEqual({ n: 3, tag: 'a,b' })
    expect(tricky[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    // Newest first by default.
    const times = records.slice(1).map((r) => r[0]!)
    expect([...times].sort().reverse()).toEqual(times)
  })

  it('exports JSON with a query, names the file like the API, writes to stdout', async () => {
    const res = await cli('export', '--project', 'Export Test', '--format', 'json', '--q', 'level:error', '--order', 'asc', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const out = json(res.stdout)
    expect(out).toMatchObject({ format: 'json', entries: ERRORS, via: 'server' })
    expect(path.dirname(out.file)).toBe(outDir)
    expect(path.basename(out.file)).toMatch(/^krafter-export-test-\d{8}T\d{6}Z\.json$/)
    const entries = JSON.parse(readFileSync(out.file, 'utf8')) as { level: string; metadata: { n: number }; id: string }[]
    expect(entries).toHaveLength(ERRORS)
    expect(entries.every((e) => e.level === 'error')).toBe(true)
    expect(entries.map((e) => e.metadata.n)).toEqual([0, 5, 10, 15, 20, 25])
    expect(entries[0]!.id).toMatch(/^[0-9a-z]{22}$/)

    const piped = await cli('export', '--project', 'Export Test', '--service', 'api', '--limit', '3', '--out', '-')
    expect(piped.exitCode, piped.stderr).toBe(0)
    expect(piped.stdout).not.toContain('Exported')
    // execa strips the final line break of stdout.
    const records = parseCsv(piped.stdout.endsWith('\r\n') ? piped.stdout : `${piped.stdout}\r\n`)
    expect(records).toHaveLength(4)
    expect(records.slice(1).every((r) => r[2] === 'api')).toBe(true)
  })

  it('keeps an existing file unless --force, and validates like the API', async () => {
    const file = path.join(outDir, 'keep.csv')
    writeFileSync(file, 'precious')
    const refused = await cli('export', '--project', 'Export Test', '--out', file)
    expect(refused.exitCode).not.toBe(0)
    expect(refused.stderr).toContain('already exists')
    expect(refused.stderr).toContain('--force')
    expect(readFileSync(file, 'utf8')).toBe('precious')
    const forced = await cli('export', '--project', 'Export Test', '--out', file, '--force')
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(forced.stdout).toBe(`Exported 30 entries to ${file} (via server)`)
    expect(parseCsv(readFileSync(file, 'utf8'))).toHaveLength(31)

    const tooMany = await cli('export', '--project', 'Export Test', '--limit', '10001', '--out', path.join(outDir, 'x.csv'), '--json')
    expect(tooMany.exitCode).toBe(2)
    const err = json(tooMany.stdout).error
    expect(err.code).toBe('validation_error')
    expect(err.details[0].field).toBe('limit')
    const badQ = await cli('export', '--project', 'Export Test', '--q', '(timeout', '--out', path.join(outDir, 'x.csv'), '--json')
    expect(badQ.exitCode).toBe(2)
    expect(json(badQ.stdout).error.message).toMatch(/position 0/)
    const unknown = await cli('export', '--project', 'no-such-project', '--json')
    expect(unknown.exitCode).toBe(1)
    expect(json(unknown.stdout).error.code).toBe('not_found')
    expect(readdirSync(outDir).sort()).not.toContain('x.csv')
  })

  it('exports directly from the engine once serve has stopped', async () => {
    serve!.proc.kill('SIGTERM')
    expect((await serve!.proc).exitCode).toBe(0)
    const file = path.join(outDir, 'direct.csv')
    const res = await cli('export', '--project', 'Export Test', '--out', file, '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(json(res.stdout)).toMatchObject({ file, format: 'csv', entries: 30, via: 'direct' })
    const records = parseCsv(readFileSync(file, 'utf8'))
    expect(records).toHaveLength(31)
    // The same content as through the server.
    const viaServer = parseCsv(readFileSync(path.join(outDir, 'a.csv'), 'utf8'))
    expect(records).toEqual(viaServer)
  })
})
