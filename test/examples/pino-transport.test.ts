import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

// examples/pino-transport.mjs against the real app over real HTTP.
//
// The logger runs in a child process: ending a pino transport blocks the calling thread
// (Atomics.wait) until the transport's close has finished its last POST, so a logger in this
// process would stall the very server it is sending to. In a real deployment the server is
// another process anyway.

const TRANSPORT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/pino-transport.mjs')
const PINO = pathToFileURL(createRequire(import.meta.url).resolve('pino')).href
const LEVEL_BY_NUMBER: Record<number, string> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }

/** Logs with pino through the transport, ends the transport, waits for its close, prints what pino wrote. */
const CHILD = `
import { once } from 'node:events'
const { pinoUrl, target, options, count, prefix, extras } = JSON.parse(process.env.KRAFTER_PINO_TEST)
const { default: pino } = await import(pinoUrl)
const written = []
const transport = pino.transport({ target, options })
await once(transport, 'ready')
const logger = pino({ level: 'trace', hooks: { streamWrite: (s) => (written.push(s), s) } }, transport)
const methods = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']
for (let i = 0; i < count; i++) logger[methods[i % 6]]({ user: { id: i }, i }, prefix + ' ' + i)
if (extras) {
  logger.error(new Error('boom'), 'failed to charge')
  logger.child({ service: 'checkout', trace_id: 'trace-1' }).warn({ order: 42 }, 'child entry')
  logger.info({ only: 'fields' })
}
// pino unrefs the transport's worker once it is ready: hold the event loop open until it closes.
transport.ref()
transport.end()
await once(transport, 'close')
process.stdout.write(JSON.stringify(written))
`

interface PinoRecord {
  level: number
  time: number
  msg?: string
  pid: number
  hostname: string
  [key: string]: unknown
}

const runLogger = (input: { options: Record<string, unknown>; count: number; prefix: string; extras?: boolean }) =>
  new Promise<{ code: number | null; stderr: string; records: PinoRecord[] }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, KRAFTER_PINO_TEST: JSON.stringify({ pinoUrl: PINO, target: TRANSPORT, ...input }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const guard = setTimeout(() => child.kill(), 45_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(guard)
      try {
        const written = (stdout ? JSON.parse(stdout) : []) as string[]
        resolve({ code, stderr, records: written.map((line) => JSON.parse(line) as PinoRecord) })
      } catch (err) {
        reject(new Error(`child output unreadable (exit ${code}): ${stderr}\n${stdout.slice(0, 500)}`, { cause: err }))
      }
    })
  })

interface Row {
  message: string
  level: string
  service: string
  stream: string
  trace_id: string
  us: string
  metadata: string
}

const storedRows = (projectId: string) =>
  t.rows<Row>(
    `SELECT message, level, service, stream, trace_id, toString(toUnixTimestamp64Micro(timestamp)) AS us,
            toJSONString(metadata) AS metadata
     FROM krafter.log_entries WHERE project_id = {p:UUID}`,
    { p: projectId },
  )

let t: TestApp
let baseUrl: string

beforeAll(async () => {
  t = await createTestApp()
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = t.app.server.address() as AddressInfo
  baseUrl = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  await t?.close()
})

describe('examples/pino-transport.mjs', () => {
  it('delivers every pino entry with its level, message, time and fields, flushing on close', async () => {
    const p = await t.project()
    const run = await runLogger({
      options: { url: baseUrl, token: p.ingest_token, batchSize: 50, flushIntervalMs: 100 },
      count: 120,
      prefix: 'hello',
      extras: true,
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).not.toContain('[krafter pino transport]')
    expect(run.records).toHaveLength(123)

    // The transport's close waited for its last POST, and 202 means stored: no polling needed.
    const rows = await storedRows(p.id)
    expect(rows).toHaveLength(123)
    const byMessage = new Map(rows.map((r) => [r.message, r]))
    expect(byMessage.size).toBe(123)

    for (const record of run.records) {
      const message = record.msg ?? '(no message)'
      const row = byMessage.get(message)
      expect(row, message).toBeDefined()
      expect(row!.level, message).toBe(LEVEL_BY_NUMBER[record.level])
      // pino's time (epoch ms) is the entry's timestamp, to the millisecond.
      expect(Number(row!.us), message).toBe(record.time * 1000)
      const metadata = JSON.parse(row!.metadata) as Record<string, any>
      expect(metadata.pid, message).toBe(record.pid)
      expect(metadata.hostname, message).toBe(record.hostname)
      for (const key of ['level', 'time', 'msg']) expect(metadata, message).not.toHaveProperty(key)
    }

    for (let i = 0; i < 120; i++) {
      const row = byMessage.get(`hello ${i}`)!
      expect(row.level).toBe(['debug', 'debug', 'info', 'warn', 'error', 'fatal'][i % 6])
      expect(row).toMatchObject({ service: '', stream: 'default', trace_id: '' })
      expect(JSON.parse(row.metadata)).toMatchObject({ user: { id: i }, i })
    }
    const counts = Object.fromEntries(['debug', 'info', 'warn', 'error', 'fatal'].map((l) => [l, rows.filter((r) => r.level === l).length]))
    expect(counts).toEqual({ debug: 40, info: 21, warn: 21, error: 21, fatal: 20 })

    const failed = byMessage.get('failed to charge')!
    expect(failed.level).toBe('error')
    expect(JSON.parse(failed.metadata).err).toMatchObject({ type: 'Error', message: 'boom' })

    const child = byMessage.get('child entry')!
    expect(child).toMatchObject({ level: 'warn', service: 'checkout', trace_id: 'trace-1' })
    const childMeta = JSON.parse(child.metadata)
    expect(childMeta.order).toBe(42)
    expect(childMeta).not.toHaveProperty('service')
    expect(childMeta).not.toHaveProperty('trace_id')

    expect(JSON.parse(byMessage.get('(no message)')!.metadata).only).toBe('fields')
  })

  it('retries 503 and 429 (honouring Retry-After) and sends the rest on close, losing and repeating nothing', async () => {
    const p = await t.project()
    // A proxy in front of the real server that fails the first two requests.
    const seen: number[] = []
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const attempt = seen.push(Date.now())
        if (attempt === 1) {
          res.writeHead(503, { 'content-type': 'application/json' })
          res.end('{"error":{"code":"engine_unavailable","message":"The log engine did not take the entries; nothing was stored. Retry."}}')
          return
        }
        if (attempt === 2) {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
          res.end('{"error":{"code":"rate_limited","message":"Too many ingest requests for this token; retry in 1 s"}}')
          return
        }
        const headers: Record<string, string> = {}
        for (const name of ['authorization', 'content-type', 'content-encoding']) {
          const value = req.headers[name]
          if (typeof value === 'string') headers[name] = value
        }
        fetch(`${baseUrl}${req.url}`, { method: 'POST', headers, body: Buffer.concat(chunks) })
          .then(async (upstream) => {
            res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
            res.end(await upstream.text())
          })
          .catch(() => {
            res.writeHead(502)
            res.end()
          })
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const { port } = proxy.address() as AddressInfo
    try {
      const run = await runLogger({
        // No timer flush within the test: the last 10 entries go out only because the transport closes.
        options: { url: `http://127.0.0.1:${port}/api/v1`, token: p.ingest_token, batchSize: 50, flushIntervalMs: 60_000 },
        count: 60,
        prefix: 'retry',
      })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).not.toContain('[krafter pino transport]')
      // 503, 429, then the first batch of 50, then the last 10 (sent by close, which waited for it).
      expect(seen).toHaveLength(4)
    } finally {
      await new Promise((resolve) => proxy.close(resolve))
    }
    const rows = await storedRows(p.id)
    expect(rows.map((r) => r.message).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `retry ${i}`).sort())
  })

  it('takes Retry-After into account: a wait past the close deadline gives up at once instead of retrying sooner', async () => {
    // Every request is answered 429 with an hour's Retry-After. Honouring it, the transport can
    // only give up when it closes (the wait ends past its close deadline): one attempt, a warning.
    // Ignoring it, its own backoff would retry five times before the deadline. No clock is read.
    const p = await t.project()
    let requests = 0
    const proxy: Server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        requests++
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3600' })
        res.end('{"error":{"code":"rate_limited","message":"Too many ingest requests for this token; retry in 3600 s"}}')
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const { port } = proxy.address() as AddressInfo
    try {
      const run = await runLogger({
        options: { url: `http://127.0.0.1:${port}/api/v1`, token: p.ingest_token, batchSize: 50, flushIntervalMs: 60_000 },
        count: 10,
        prefix: 'later',
      })
      expect(run.code, run.stderr).toBe(0)
      expect(requests).toBe(1)
      expect(run.stderr).toContain('[krafter pino transport] dropped 10 entries after 1 attempt(s): HTTP 429 rate_limited')
    } finally {
      await new Promise((resolve) => proxy.close(resolve))
    }
  })
})
