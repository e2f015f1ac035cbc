import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { parseConfig } from '../../src/config/config.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { eventually } from '../helpers/syslog.js'

/**
 * GET /logs/tail (issue 15 point 1): against a real serve app listening on a port, with the
 * real clock (the tail reads up to "now"), the embedded engine of the test app.
 */
let t: TestApp
const apps: FastifyInstance[] = []

interface Served {
  app: FastifyInstance
  url: string
}

/** Another app over the test app's data dir and engine, with the real clock, listening on loopback. */
const serve = async (tail: Record<string, unknown> = {}, ingest: Record<string, unknown> = {}): Promise<Served> => {
  const app = await buildApp({
    config: parseConfig({ server: { host: '127.0.0.1', auth_failure_burst: 100_000 }, tail: { poll_ms: 50, ...tail }, ingest }, 'test', {}),
    paths: t.paths,
    meta: t.meta,
    engine: t.engine,
    clock: () => new Date(),
    teamId: t.teamId,
  })
  apps.push(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  for (const app of apps) await app.close()
  await t?.close()
})

interface SseEvent {
  event: string
  id?: string
  data: string
}

/** An SSE client: parses events as they arrive; `abort()` drops the connection. */
const openTail = async (s: Served, query: Record<string, string>, headers: Record<string, string> = {}) => {
  const controller = new AbortController()
  const res = await fetch(`${s.url}/api/v1/logs/tail?${new URLSearchParams(query)}`, { headers: { ...bearer(t.teamKey), ...headers }, signal: controller.signal })
  const events: SseEvent[] = []
  // The event id is the tail cursor; the entry's own id is in the data. Parsed once, on arrival.
  const parsed: { cursor: string; id: string; message: string; level: string; timestamp: string }[] = []
  let ended = false
  const reading = (async () => {
    if (!res.ok || !res.body) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true })
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const e: SseEvent = { event: 'message', data: '' }
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) e.event = line.slice(7)
            else if (line.startsWith('id: ')) e.id = line.slice(4)
            else if (line.startsWith('data: ')) e.data = line.slice(6)
          }
          if (block.startsWith('retry:')) continue
          events.push(e)
          if (e.event === 'entry') parsed.push({ cursor: e.id!, ...(JSON.parse(e.data) as Omit<(typeof parsed)[number], 'cursor'>) })
        }
      }
    } catch {
      // aborted
    }
    ended = true
  })()
  const entries = () => parsed
  return {
    res,
    events,
    entries,
    ended: () => ended,
    abort: async () => {
      controller.abort()
      await reading
    },
    waitFor: (n: number, what = `${n} entries`) => eventually(async () => (parsed.length >= n ? [...parsed] : undefined), what),
  }
}

const ingest = async (s: Served, token: string, entries: unknown[]) => {
  const res = await fetch(`${s.url}/api/v1/logs/ingest/batch`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify(entries) })
  expect(res.status, await res.clone().text()).toBe(202)
}

/** The stored entries of a project in the order a tail delivers them: (received_at, id). */
const storedOrder = async (projectId: string, where = '1') =>
  (
    await t.rows<{ id: string }>(
      `SELECT id FROM krafter.log_entries WHERE project_id = {p:UUID} AND ${where} ORDER BY received_at, id`,
      { p: projectId },
    )
  ).map((r) => r.id)

describe('live tail', () => {
  it('delivers every new matching entry once, in stored order, under concurrent ingest; another project never shows', async () => {
    const s = await serve()
    const p = await t.project({ name: `tail-${randomUUID().slice(0, 8)}` })
    const other = await t.project({ name: `tail-other-${randomUUID().slice(0, 8)}` })
    const tail = await openTail(s, { project_id: p.id, level: 'error,fatal' })
    expect(tail.res.status).toBe(200)
    expect(tail.res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    // 12 concurrent senders, 40 entries each, a third of them errors; the other project's too.
    await Promise.all(
      Array.from({ length: 12 }, (_, c) =>
        (async () => {
          for (let b = 0; b < 4; b++) {
            const batch = Array.from({ length: 10 }, (_, i) => ({ message: `c${c} b${b} e${i}`, level: i % 3 === 0 ? 'error' : 'info' }))
            await ingest(s, p.ingest_token, batch)
            await ingest(s, other.ingest_token, batch)
          }
        })(),
      ),
    )
    const expected = await storedOrder(p.id, "level = 'error'")
    expect(expected).toHaveLength(12 * 4 * 4)
    const got = await tail.waitFor(expected.length)
    await tail.abort()
    expect(got.map((e) => e.id)).toEqual(expected)
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length)
    expect(got.every((e) => e.level === 'error')).toBe(true)
  })

  it('resumes with Last-Event-ID after a dropped connection: nothing lost, nothing repeated, late timestamps included', async () => {
    const s = await serve()
    const p = await t.project({ name: `tail-resume-${randomUUID().slice(0, 8)}` })
    const first = await openTail(s, { project_id: p.id })
    await ingest(s, p.ingest_token, Array.from({ length: 30 }, (_, i) => ({ message: `before drop ${i}` })))
    const before = await first.waitFor(30)
    await first.abort()
    // While no tail is connected: entries of now, and entries whose own time is two hours old.
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString()
    await ingest(s, p.ingest_token, Array.from({ length: 20 }, (_, i) => ({ message: `while away ${i}` })))
    await ingest(s, p.ingest_token, Array.from({ length: 10 }, (_, i) => ({ message: `late ${i}`, timestamp: twoHoursAgo })))
    const resumed = await openTail(s, { project_id: p.id }, { 'last-event-id': before.at(-1)!.cursor })
    await ingest(s, p.ingest_token, [{ message: 'after resume' }])
    const rest = await resumed.waitFor(31)
    await resumed.abort()
    const all = [...before, ...rest].map((e) => e.id)
    expect(all).toEqual(await storedOrder(p.id))
    expect(rest.filter((e) => e.message.startsWith('late ')).map((e) => e.timestamp.slice(0, 13))).toEqual(Array(10).fill(twoHoursAgo.slice(0, 13)))
    // The cursor query parameter resumes the same way (EventSource cannot set headers on its first request).
    const again = await openTail(s, { project_id: p.id, cursor: before.at(-1)!.cursor })
    const sameRest = await again.waitFor(31)
    await again.abort()
    expect(sameRest.map((e) => e.id)).toEqual(rest.map((e) => e.id))
  })

  it.each(['engine', 'spool'])('does not skip an entry whose insert is still running when later ones are already stored (ingest.commit %s)', async (commit) => {
    // Two requests received in order; the tail polls while the first is still in the engine
    // (with the spool: acknowledged, its segment not inserted yet).
    const s = await serve({ poll_ms: 50 }, { commit })
    const p = await t.project({ name: `tail-slow-${randomUUID().slice(0, 8)}` })
    const tail = await openTail(s, { project_id: p.id })
    const big = Array.from({ length: 5000 }, (_, i) => ({ message: `big ${i}`, metadata: { i, pad: 'x'.repeat(200) } }))
    await Promise.all([ingest(s, p.ingest_token, big), ingest(s, p.ingest_token, [{ message: 'small' }])])
    const got = await tail.waitFor(5001)
    await tail.abort()
    expect(got.map((e) => e.id)).toEqual(await storedOrder(p.id))
  })

  it('sends heartbeats, refuses a bad query before streaming and keys of other projects', async () => {
    const s = await serve({ heartbeat_seconds: 1 })
    const p = await t.project({ name: `tail-hb-${randomUUID().slice(0, 8)}` })
    const tail = await openTail(s, { project_id: p.id })
    await eventually(async () => (tail.events.some((e) => e.event === 'heartbeat') ? true : undefined), 'a heartbeat')
    expect(tail.events.find((e) => e.event === 'heartbeat')!.data).toBe('{}')
    await tail.abort()

    const bad = await fetch(`${s.url}/api/v1/logs/tail?project_id=${p.id}&q=${encodeURIComponent('level:(')}`, { headers: bearer(t.teamKey) })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('validation_error')
    const forged = await fetch(`${s.url}/api/v1/logs/tail?project_id=${p.id}&cursor=bm90LWEtY3Vyc29y`, { headers: bearer(t.teamKey) })
    expect(forged.status).toBe(400)
    const elsewhere = t.keyWith(['logs:read'], { projectIds: [randomUUID()] })
    const denied = await fetch(`${s.url}/api/v1/logs/tail?project_id=${p.id}`, { headers: bearer(elsewhere) })
    expect(denied.status).toBe(403)
  })

  it('caps concurrent tails (429 with Retry-After), and frees a place when one closes', async () => {
    const s = await serve({ max_subscribers: 2 })
    const p = await t.project({ name: `tail-cap-${randomUUID().slice(0, 8)}` })
    const a = await openTail(s, { project_id: p.id })
    const b = await openTail(s, { project_id: p.id })
    expect([a.res.status, b.res.status]).toEqual([200, 200])
    const third = await fetch(`${s.url}/api/v1/logs/tail?project_id=${p.id}`, { headers: bearer(t.teamKey) })
    expect(third.status).toBe(429)
    expect(third.headers.get('retry-after')).toBe('5')
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('rate_limited')
    await a.abort()
    await eventually(async () => (s.app.tails.size === 1 ? true : undefined), 'the closed tail to be dropped')
    const c = await openTail(s, { project_id: p.id })
    expect(c.res.status).toBe(200)
    await b.abort()
    await c.abort()
  })

  it('sends overflow to a consumer that does not read, closes it, and keeps serving the others', async () => {
    const s = await serve({ max_buffered_kb: 1024 })
    const p = await t.project({ name: `tail-slow-reader-${randomUUID().slice(0, 8)}` })
    // A raw client that reads nothing once the headers are in.
    const { port } = s.app.server.address() as AddressInfo
    const stalled = await new Promise<http.IncomingMessage>((resolve) =>
      http.get({ host: '127.0.0.1', port, path: `/api/v1/logs/tail?project_id=${p.id}`, headers: bearer(t.teamKey) }, (res) => {
        res.pause()
        resolve(res)
      }),
    )
    expect(stalled.statusCode).toBe(200)
    const reader = await openTail(s, { project_id: p.id })
    // 1 MB batches until the stalled tail is closed: how much the socket buffers of both ends
    // take first depends on the kernel (loopback autotunes them to a few MB). Bounded at 300 MB.
    let sent = 0
    for (let b = 0; s.app.tails.size > 1; b++) {
      expect(b, 'the stalled tail is still open after 300 MB').toBeLessThan(300)
      await ingest(s, p.ingest_token, Array.from({ length: 1000 }, (_, i) => ({ message: `${b}-${i} ${'y'.repeat(1000)}` })))
      sent += 1000
      // Let the tails read what was stored before sending more.
      await eventually(async () => (reader.entries().length >= sent || s.app.tails.size === 1 ? true : undefined), 'the reader to keep up')
    }
    let text = ''
    stalled.setEncoding('utf8')
    stalled.on('data', (c: string) => (text += c))
    stalled.resume()
    await new Promise<void>((resolve) => stalled.once('end', () => resolve()))
    expect(text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: overflow\ndata: \{"message":"This tail was closed/)
    // The reading consumer got everything.
    expect((await reader.waitFor(sent)).map((e) => e.id)).toEqual(await storedOrder(p.id))
    await reader.abort()
  })

  it('ends every stream cleanly when serve stops', async () => {
    const s = await serve()
    const p = await t.project({ name: `tail-stop-${randomUUID().slice(0, 8)}` })
    const tail = await openTail(s, { project_id: p.id })
    await ingest(s, p.ingest_token, [{ message: 'before stop' }])
    await tail.waitFor(1)
    await s.app.close()
    await eventually(async () => (tail.ended() ? true : undefined), 'the stream to end')
    expect(tail.entries().map((e) => e.message)).toEqual(['before stop'])
  })
})
