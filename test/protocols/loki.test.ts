import { gzipSync } from 'node:zlib'
import pino from 'pino'
import { compressSync } from 'snappy'
import { MAX_PROTOCOL_RECORDS } from '../../src/ingest/pipeline.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { encodePushRequest, labelText, nsOf, snappyLengthPrefix, snappyPushBody, type PushStream } from '../helpers/loki.js'
import { storedEntries } from '../helpers/stored.js'

let t: TestApp
let base: string

beforeAll(async () => {
  t = await createTestApp()
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
  base = address
})
afterAll(async () => {
  await t?.close()
})

const stored = (projectId: string) => storedEntries(t, projectId)

/** Polls the engine until `count` rows of the project are stored (a shipper sends in its own time). */
const waitForRows = async (projectId: string, count: number, deadlineMs = 30_000) => {
  const until = Date.now() + deadlineMs
  for (;;) {
    const rows = await stored(projectId)
    if (rows.length >= count) return rows
    if (Date.now() > until) throw new Error(`only ${rows.length} of ${count} rows stored within ${deadlineMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const basic = (token: string, user = 'any') => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` })

const push = (token: string, body: string | Buffer, headers: Record<string, string>) =>
  fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { ...basic(token), ...headers }, body })

const pushJson = (token: string, payload: unknown, headers: Record<string, string> = {}) =>
  push(token, JSON.stringify(payload), { 'content-type': 'application/json', ...headers })

const pushProto = (token: string, streams: PushStream[], headers: Record<string, string> = {}) =>
  push(token, snappyPushBody(streams), { 'content-type': 'application/x-protobuf', ...headers })

const errorOf = async (res: Response, status: number, code: string) => {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  const body = JSON.parse(text)
  expect(body.error.code).toBe(code)
  expect(body.request_id).toMatch(/^req_/)
  return body.error as { code: string; message: string; details?: { field: string; message: string }[] }
}

/** ClickHouse's text of a DateTime64(6) for epoch ms plus µs. */
const chTime = (ms: number, extraUs = 0) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '') + String(extraUs).padStart(3, '0')

describe('pino-loki, configured as its users do', () => {
  it('ships pino logs with Basic auth (token as password): message, service and level from labels, time, labels and structured metadata', async () => {
    const p = await t.project()
    const transport = pino.transport({
      target: 'pino-loki',
      options: {
        host: base,
        basicAuth: { username: 'my-app', password: p.ingest_token },
        labels: { app: 'checkout', env: 'test' },
        // Grafana Cloud users set the tenant header; it is ignored here (the token names the project).
        headers: { 'X-Scope-OrgID': 'tenant-1' },
        batching: { interval: 1 },
      },
    })
    const logger = pino({ level: 'trace' }, transport)
    const before = Date.now()
    logger.info({ meta: { request_id: 'r-1', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' } }, 'order placed')
    logger.warn('stock low')
    logger.error({ err: 'boom' }, 'payment failed')
    logger.fatal('disk gone')
    logger.debug('cache miss')

    // The transport ships its batch every interval, as in a running app. It is ended only once
    // everything is stored: its end() blocks this thread (Atomics.wait) until the worker has
    // flushed, and the server answering that flush runs on this very thread.
    const rows = await waitForRows(p.id, 5)
    const closed = new Promise((resolve) => transport.once('close', resolve))
    transport.end()
    await closed
    expect(rows).toHaveLength(5)
    const byMsg = (msg: string) => {
      const row = rows.find((r) => JSON.parse(r.message).msg === msg)
      expect(row, msg).toBeDefined()
      return row!
    }
    const placed = byMsg('order placed')
    // The line is what pino-loki sends: pino's JSON record without the hostname (a label).
    expect(JSON.parse(placed.message)).toMatchObject({ level: 30, msg: 'order placed', meta: { request_id: 'r-1' } })
    expect(placed).toMatchObject({ service: 'checkout', level: 'info', stream: 'default', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' })
    expect(placed.metadata.labels).toMatchObject({ app: 'checkout', env: 'test', level: 'info' })
    expect(typeof placed.metadata.labels.hostname).toBe('string')
    // Structured metadata → metadata; trace_id became the entry's column, not repeated.
    expect(placed.metadata.request_id).toBe('r-1')
    expect(placed.metadata.trace_id).toBeUndefined()
    const time = JSON.parse(placed.message).time as number
    expect(time).toBeGreaterThanOrEqual(before)
    expect(placed.ts).toBe(chTime(time))
    // pino-loki's Loki levels: warning, critical; debug for pino's debug and trace.
    expect(byMsg('stock low').level).toBe('warn')
    expect(byMsg('payment failed').level).toBe('error')
    expect(byMsg('disk gone').level).toBe('fatal')
    expect(byMsg('cache miss').level).toBe('debug')

    // And through the search API, as a user would look for them.
    // The app's clock stands at its start (TestClock): the range is given, around the real time the logs have.
    const range = `from=${before - 60_000}&to=${Date.now() + 60_000}`
    const res = await fetch(`${base}/api/v1/logs/search?project_id=${p.id}&${range}&q=${encodeURIComponent('"stock low"')}`, {
      headers: { authorization: `Bearer ${t.teamKey}` },
    })
    expect(res.status).toBe(200)
    const found = (await res.json()) as { data: { service: string; level: string; metadata: Record<string, any> }[] }
    expect(found.data).toHaveLength(1)
    expect(found.data[0]).toMatchObject({ service: 'checkout', level: 'warn', metadata: { labels: { app: 'checkout', env: 'test', level: 'warning' } } })
  })
})

describe('protobuf PushRequest, snappy-compressed (Promtail, Alloy)', () => {
  it('answers 204 and stores every field by the mapping, nanoseconds kept to the microsecond', async () => {
    const p = await t.project()
    const ms = Date.now() - 60_000
    const res = await pushProto(p.ingest_token, [
      {
        labels: { service_name: 'api', app: 'ignored-app', level: 'warn', stream: 'stderr', cluster: 'eu-1' },
        entries: [
          { ts: nsOf(ms, 123_456), line: 'upstream slow', metadata: { trace_id: 'abc123', span_id: 'def456', user: 'u-7' } },
          { ts: { seconds: Math.floor(ms / 1000) + 1, nanos: 987_654_321 }, line: 'upstream slower' },
        ],
      },
      // No service_name: app wins over job; the level from structured metadata.
      { labels: '{job="batch", app="worker", env="prod \\"blue\\""}', entries: [{ ts: nsOf(ms, 999), line: 'job done', metadata: { detected_level: 'error' } }] },
    ])
    expect(res.status, await res.clone().text()).toBe(204)
    expect(await res.text()).toBe('')
    expect(res.headers.get('x-request-id')).toMatch(/^req_/)

    const rows = await stored(p.id)
    expect(rows).toHaveLength(3)
    const slow = rows.find((r) => r.message === 'upstream slow')!
    expect(slow).toMatchObject({ service: 'api', level: 'warn', stream: 'stderr', trace_id: 'abc123', span_id: 'def456', ts: chTime(ms, 123) })
    expect(slow.metadata).toEqual({ user: 'u-7', labels: { service_name: 'api', app: 'ignored-app', level: 'warn', stream: 'stderr', cluster: 'eu-1' } })
    const slower = rows.find((r) => r.message === 'upstream slower')!
    expect(slower.ts).toBe(chTime((Math.floor(ms / 1000) + 1) * 1000 + 987, 654))
    const done = rows.find((r) => r.message === 'job done')!
    expect(done).toMatchObject({ service: 'worker', level: 'error', stream: 'default', ts: chTime(ms, 1) })
    expect(done.metadata).toEqual({ labels: { job: 'batch', app: 'worker', env: 'prod "blue"' } })
  })

  it('takes Content-Encoding: snappy as the same compression, and gzip on top of it', async () => {
    const p = await t.project()
    const streams = [{ labels: { service_name: 'enc' }, entries: [{ ts: nsOf(Date.now()), line: 'said snappy' }] }]
    expect((await pushProto(p.ingest_token, streams, { 'content-encoding': 'snappy' })).status).toBe(204)
    const gz = gzipSync(snappyPushBody([{ labels: { service_name: 'enc' }, entries: [{ ts: nsOf(Date.now()), line: 'gzip of snappy' }] }]))
    expect((await push(p.ingest_token, gz, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' })).status).toBe(204)
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual(['gzip of snappy', 'said snappy'])
  })

  it('refuses a stream whose label text is not a label set, naming its entries, and stores the other streams', async () => {
    const p = await t.project()
    const now = nsOf(Date.now())
    const res = await pushProto(p.ingest_token, [
      { labels: { app: 'good' }, entries: [{ ts: now, line: 'kept' }] },
      { labels: '{app="unterminated}', entries: [{ ts: now, line: 'lost 1' }, { ts: now, line: 'lost 2' }] },
    ])
    const error = await errorOf(res, 400, 'validation_error')
    expect(error.message).toMatch(/^2 of 3 entries refused, 1 stored/)
    expect(error.details!.map((d) => d.field)).toEqual(['streams[1].entries[0].labels', 'streams[1].entries[1].labels'])
    expect(error.details![0]!.message).toMatch(/is not a label set/)
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['kept'])
  })

  it('answers 413 payload_too_large to a snappy block declaring more than the body limit, before inflating it', async () => {
    const p = await t.project()
    const limit = t.config.server.body_limit_mb * 1024 * 1024
    // A few bytes claiming 4 GiB: it must never be allocated.
    const bomb = Buffer.concat([snappyLengthPrefix(0xffffffff), Buffer.from([0x00, 0x41])])
    const error = await errorOf(await push(p.ingest_token, bomb, { 'content-type': 'application/x-protobuf' }), 413, 'payload_too_large')
    expect(error.message).toMatch(/larger than 10 MiB/)
    // A real block one byte over the limit, too (highly compressible: a few hundred KiB on the wire).
    const over = compressSync(Buffer.alloc(limit + 1, 0x61))
    expect(over.length).toBeLessThan(limit)
    await errorOf(await push(p.ingest_token, over, { 'content-type': 'application/x-protobuf' }), 413, 'payload_too_large')
    expect(await stored(p.id)).toEqual([])
  })

  it('answers 400 to bodies that are not snappy or not a PushRequest', async () => {
    const p = await t.project()
    const proto = { 'content-type': 'application/x-protobuf' }
    // Not snappy: an unfinished length varint, then a block whose copy points before its start.
    for (const body of [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x05, 0x01, 0xff, 0xff])]) {
      const error = await errorOf(await push(p.ingest_token, body, proto), 400, 'validation_error')
      expect(error.details).toEqual([{ field: 'body', message: 'is not valid snappy (block format)' }])
    }
    // Snappy of bytes that are not a PushRequest.
    const garbage = compressSync(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))
    const error = await errorOf(await push(p.ingest_token, garbage, proto), 400, 'validation_error')
    expect(error.details).toEqual([{ field: 'body', message: 'is not a Loki PushRequest (protobuf, snappy-compressed)' }])
    // Protobuf without snappy (a client that forgot to compress) is not snappy either.
    await errorOf(await push(p.ingest_token, Buffer.from(encodePushRequest([{ labels: { a: 'b' }, entries: [{ ts: nsOf(Date.now()), line: 'x' }] }])), proto), 400, 'validation_error')
    expect(await stored(p.id)).toEqual([])
  })
})

describe('hostile pushes', () => {
  it('refuses timestamps outside the window (none, negative, far future) naming them, and stores invalid UTF-8 as U+FFFD', async () => {
    const p = await t.project()
    const res = await pushProto(p.ingest_token, [
      {
        labels: { app: 'edge' },
        entries: [
          { ts: { seconds: 0, nanos: 0 }, line: 'no timestamp' },
          { ts: { seconds: -86_400, nanos: 5 }, line: 'before 1970' },
          { ts: { seconds: 2n ** 62n, nanos: 0 }, line: 'far future' },
          { ts: nsOf(Date.now()), line: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x21]) },
        ],
      },
    ])
    const error = await errorOf(res, 400, 'validation_error')
    expect(error.message).toMatch(/^3 of 4 entries refused, 1 stored/)
    expect(error.details!.map((d) => d.field)).toEqual(['streams[0].entries[0].timestamp', 'streams[0].entries[1].timestamp', 'streams[0].entries[2].timestamp'])
    expect(error.details![0]!.message).toMatch(/retention window.*\(got 1970-01-01T00:00:00\.000Z\)/)
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['bad\ufffd\ufffd!'])
  })

  it('never answers 500 to mutated bodies: each is stored (204), refused (400) or too large (413)', async () => {
    const p = await t.project()
    let seed = 12345
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const streams: PushStream[] = [
      { labels: { service_name: 'fuzz', level: 'info' }, entries: [{ ts: nsOf(Date.now()), line: 'a line', metadata: { k: 'v', trace_id: 'ab' } }, { ts: nsOf(Date.now(), 1), line: 'another' }] },
    ]
    const proto = Buffer.from(encodePushRequest(streams))
    const json = Buffer.from(JSON.stringify({ streams: [{ stream: { app: 'fuzz' }, values: [[nsOf(Date.now()), 'a line', { k: 'v' }]] }] }))
    const mutate = (bytes: Buffer) => {
      const out = Buffer.from(bytes)
      for (let i = 0, n = 1 + rand(4); i < n; i++) out[rand(out.length)] = rand(256)
      return rand(5) === 0 ? out.subarray(0, rand(out.length)) : out
    }
    const statuses = new Map<number, number>()
    for (let i = 0; i < 150; i++) {
      const cases: [string, Buffer][] = [
        ['application/x-protobuf', compressSync(mutate(proto))],
        ['application/x-protobuf', mutate(compressSync(proto))],
        ['application/json', mutate(json)],
      ]
      for (const [type, payload] of cases) {
        const res = await t.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...basic(p.ingest_token), 'content-type': type }, payload })
        expect([204, 400, 413], `${type} ${payload.toString('hex')}: ${res.body}`).toContain(res.statusCode)
        if (res.statusCode !== 204) expect(res.json().error.code).toMatch(/^(validation_error|payload_too_large)$/)
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      }
    }
    // The mutations reach both outcomes, so the check above saw stored and refused bodies alike.
    expect(statuses.get(204)).toBeGreaterThan(0)
    expect(statuses.get(400)).toBeGreaterThan(0)
  })
})

describe('JSON push', () => {
  it('stores JSON values with structured metadata, gzip-encoded too', async () => {
    const p = await t.project()
    const ms = Date.now() - 5_000
    const payload = {
      streams: [
        {
          stream: { service: 'web', severity: 'CRITICAL', region: 'eu' },
          values: [
            [nsOf(ms, 1_000), 'plain line'],
            [nsOf(ms, 2_000), 'with metadata', { order_id: '42', level: 'debug' }],
          ],
        },
      ],
    }
    expect((await pushJson(p.ingest_token, payload)).status).toBe(204)
    const gz = gzipSync(JSON.stringify({ streams: [{ stream: { job: 'cron' }, values: [[nsOf(ms, 3_000), 'gzipped']] }] }))
    const res = await push(p.ingest_token, gz, { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' })
    expect(res.status).toBe(204)

    const rows = await stored(p.id)
    expect(rows.map((r) => [r.message, r.service, r.level, r.ts])).toEqual([
      ['plain line', 'web', 'fatal', chTime(ms, 1)],
      ['with metadata', 'web', 'fatal', chTime(ms, 2)],
      ['gzipped', 'cron', 'info', chTime(ms, 3)],
    ])
    // The label level wins; the structured `level` is metadata like any other key.
    expect(rows[1]!.metadata).toEqual({ order_id: '42', level: 'debug', labels: { service: 'web', severity: 'CRITICAL', region: 'eu' } })
    expect(rows[2]!.metadata).toEqual({ labels: { job: 'cron' } })
  })

  it('stores the valid entries of a mixed push and answers 400 naming each refused one (stream and value index, field)', async () => {
    const p = await t.project()
    const now = Date.now()
    const tooOld = nsOf(now - 30 * 86_400_000) // retention 7 days
    const payload = {
      streams: [
        {
          stream: { app: 'mixed' },
          values: [
            [nsOf(now, 1), 'good one'],
            [1700000000000000000, 'number timestamp'],
            [nsOf(now, 2), ''],
            [tooOld, 'too old'],
            ['not-a-number', 'bad timestamp'],
          ],
        },
        { stream: { app: 'mixed' }, values: [[nsOf(now, 3)], [nsOf(now, 4), 'good two'], [nsOf(now, 5), 'bad meta', { nested: { a: 1 } }]] },
        { stream: { app: 7, nested: { no: 1 } }, values: [[nsOf(now, 6), 'bad labels']] },
      ],
    }
    const error = await errorOf(await pushJson(p.ingest_token, payload), 400, 'validation_error')
    expect(error.message).toMatch(/^7 of 9 entries refused, 2 stored; first: streams\[0\]\.values\[1\]\.timestamp /)
    expect(error.details!.map((d) => d.field)).toEqual([
      'streams[0].values[1].timestamp',
      'streams[0].values[2].message',
      'streams[0].values[3].timestamp',
      'streams[0].values[4].timestamp',
      'streams[1].values[0].entry',
      'streams[1].values[2].metadata',
      'streams[2].values[0].labels',
    ])
    expect(error.details![3]!.message).toMatch(/must be a string of epoch nanoseconds/)
    expect(error.details![2]!.message).toMatch(/retention window/)
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['good one', 'good two'])
  })

  it('answers 400 to a body that is not a Loki push, 413 to more entries than a batch takes', async () => {
    const p = await t.project()
    for (const body of ['not json', '[]', '{"streams": {}}', '{"values": []}']) {
      await errorOf(await push(p.ingest_token, body, { 'content-type': 'application/json' }), 400, 'validation_error')
    }
    // No entries at all (Loki answers 422, which the envelope has no code for).
    await errorOf(await pushJson(p.ingest_token, { streams: [] }), 400, 'validation_error')
    const values = Array.from({ length: MAX_PROTOCOL_RECORDS + 1 }, (_, i) => [nsOf(Date.now(), i), 'x'])
    await errorOf(await pushJson(p.ingest_token, { streams: [{ stream: { app: 'big' }, values }] }), 413, 'payload_too_large')
    expect(await stored(p.id)).toEqual([])
  })
})

describe('authentication and media types', () => {
  it('takes the token as Bearer or as the Basic password (any user), and refuses a team key with 401', async () => {
    const p = await t.project()
    const one = (line: string) => ({ streams: [{ stream: { app: 'auth' }, values: [[nsOf(Date.now()), line]] }] })
    expect((await pushJson(p.ingest_token, one('basic'))).status).toBe(204)
    const bearerRes = await fetch(`${base}/loki/api/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json', 'x-scope-orgid': 'whoever' },
      body: JSON.stringify(one('bearer')),
    })
    expect(bearerRes.status).toBe(204)
    const team = await errorOf(await pushJson(t.teamKey, one('team key')), 401, 'unauthorized')
    expect(team.message).toMatch(/project ingest token/)
    await errorOf(await pushJson('krl_live_' + 'x'.repeat(32), one('unknown')), 401, 'unauthorized')
    const none = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(one('none')) })
    await errorOf(none, 401, 'unauthorized')
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual(['basic', 'bearer'])
  })

  it('answers 415 to another media type', async () => {
    const p = await t.project()
    await errorOf(await push(p.ingest_token, 'line', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type')
  })

  it('counts Loki requests and refused records by protocol', async () => {
    const p = await t.project()
    await pushJson(p.ingest_token, { streams: [{ stream: {}, values: [['1', 'ancient']] }] })
    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${t.teamKey}` } })).text()
    expect(text).toMatch(/krafter_ingest_requests_total\{[^}]*protocol="loki"[^}]*status="204"[^}]*\} [1-9]/)
    expect(text).toMatch(/krafter_ingest_records_rejected_total\{[^}]*protocol="loki"[^}]*\} [1-9]/)
  })
})
