import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { openMeta } from '../../src/meta/db.js'
import { rotateIngestToken } from '../../src/meta/projects.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterEach(() => t.clock.reset())
afterAll(async () => {
  await t?.close()
})

const send = (token: string, path: '/logs/ingest' | '/logs/ingest/batch', payload: string | Buffer, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1${path}`,
    headers: { ...bearer(token), 'content-type': path === '/logs/ingest' ? 'application/json' : 'application/x-ndjson', ...headers },
    payload,
  })

const ndjson = (entries: unknown[]) => entries.map((e) => JSON.stringify(e)).join('\n') + '\n'

const stored = async (projectId: string) =>
  t.rows<{ message: string; level: string; service: string; stream: string; ts: string; trace_id: string; span_id: string; metadata: string; id: string; received: string }>(
    `SELECT message, level, service, stream, toString(timestamp) AS ts, trace_id, span_id, toJSONString(metadata) AS metadata, id, toString(received_at) AS received
     FROM krafter.log_entries WHERE project_id = {p:UUID} ORDER BY timestamp, id`,
    { p: projectId },
  )

const expectError = (res: { statusCode: number; json: () => any }, status: number, code: string) => {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status)
  expect(res.json().error.code).toBe(code)
  expect(res.json().request_id).toMatch(/^req_/)
  return res.json()
}

describe('POST /logs/ingest', () => {
  it('stores one entry with defaults and answers 202', async () => {
    const p = await t.project()
    const res = await send(p.ingest_token, '/logs/ingest', JSON.stringify({ message: 'hello world' }))
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ data: { accepted: 1, rejected: 0 }, request_id: expect.stringMatching(/^req_/) })
    const [row] = await stored(p.id)
    expect(row).toMatchObject({ message: 'hello world', level: 'info', service: '', stream: 'default', trace_id: '', span_id: '', metadata: '{}' })
    // Default timestamp: the time of receipt, kept to the microsecond.
    const expected = t.clock.now().toISOString().replace('T', ' ').replace('Z', '')
    expect(row!.ts).toBe(`${expected}000`)
    expect(row!.received).toBe(row!.ts)
    expect(row!.id).toMatch(/^[0-9a-z]{22}$/)
  })

  it('normalises level aliases case-insensitively', async () => {
    const p = await t.project()
    const cases: [string, string][] = [['DEBUG', 'debug'], ['Info', 'info'], ['warning', 'warn'], ['WARN', 'warn'], ['err', 'error'], ['Error', 'error'], ['critical', 'fatal'], ['FATAL', 'fatal']]
    for (const [given, want] of cases) {
      expect((await send(p.ingest_token, '/logs/ingest', JSON.stringify({ message: `lvl ${given}`, level: given }))).statusCode).toBe(202)
      const rows = await stored(p.id)
      expect(rows.find((r) => r.message === `lvl ${given}`)?.level).toBe(want)
    }
    // A level API.md does not name is never a reason to drop the entry (issue 11: it was a 400).
    expect((await send(p.ingest_token, '/logs/ingest', JSON.stringify({ message: 'lvl shout', level: 'shout' }))).statusCode).toBe(202)
    expect((await stored(p.id)).find((r) => r.message === 'lvl shout')?.level).toBe('info')
  })

  it('accepts RFC 3339 and epoch s/ms/µs/ns timestamps, kept to the microsecond', async () => {
    const p = await t.project()
    // Yesterday 10:00 UTC, inside the project's retention window whatever day the test runs.
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
    const s0 = Date.parse(`${day}T10:00:00Z`) / 1000
    const cases: [unknown, string][] = [
      [`${day}T10:00:00.123456Z`, `${day} 10:00:00.123456`],
      [`${day}T12:00:00.5+02:00`, `${day} 10:00:00.500000`],
      [`${day} 10:00:01Z`, `${day} 10:00:01.000000`],
      [`${day}T10:00:02.123456789Z`, `${day} 10:00:02.123456`],
      [s0 + 3, `${day} 10:00:03.000000`],
      [s0 + 4.25, `${day} 10:00:04.250000`],
      [(s0 + 5) * 1000 + 123, `${day} 10:00:05.123000`],
      [(s0 + 6) * 1_000_000 + 123456, `${day} 10:00:06.123456`],
      [BigInt(s0 + 7) * 1_000_000_000n + 123456000n, `${day} 10:00:07.123456`],
      [String(s0 + 8), `${day} 10:00:08.000000`],
    ]
    for (const [i, [timestamp]] of cases.entries()) {
      // Epoch nanoseconds as a JSON integer, as shippers send them (beyond a double's exact range).
      const ts = typeof timestamp === 'bigint' ? timestamp.toString() : JSON.stringify(timestamp)
      const res = await send(p.ingest_token, '/logs/ingest', `{"message":"ts ${i}","timestamp":${ts}}`)
      expect(res.statusCode, `${timestamp}: ${res.body}`).toBe(202)
    }
    const rows = await stored(p.id)
    for (const [i, [, want]] of cases.entries()) expect(rows.find((r) => r.message === `ts ${i}`)?.ts, String(cases[i]![0])).toBe(want)
    for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '2026-11-27T25:00:00Z', -5, '1800-01-01T00:00:00Z', true]) {
      const res = expectError(await send(p.ingest_token, '/logs/ingest', JSON.stringify({ message: 'x', timestamp: bad })), 400, 'validation_error')
      expect(res.error.details[0].field).toBe('timestamp')
    }
  })

  it('keeps service, stream, trace ids and metadata; folds unknown fields into metadata', async () => {
    const p = await t.project()
    const entry = { message: 'm', service: 'api', stream: 'backend', trace_id: 'abc', span_id: 'def', metadata: { user: { id: 42 }, tags: ['a'] }, hostname: 'web-1' }
    expect((await send(p.ingest_token, '/logs/ingest', JSON.stringify(entry))).statusCode).toBe(202)
    const [row] = await stored(p.id)
    expect(row).toMatchObject({ service: 'api', stream: 'backend', trace_id: 'abc', span_id: 'def' })
    expect(JSON.parse(row!.metadata)).toEqual({ hostname: 'web-1', user: { id: 42 }, tags: ['a'] })
  })

  it('rejects bad entries naming the field, and stores nothing for them', async () => {
    const p = await t.project()
    const cases: [unknown, string][] = [
      [{}, 'message'],
      [{ message: '' }, 'message'],
      [{ message: 5 }, 'message'],
      [{ message: 'x'.repeat(300 * 1024) }, 'message'],
      [{ message: 'x', service: 's'.repeat(201) }, 'service'],
      [{ message: 'x', stream: 's'.repeat(201) }, 'stream'],
      [{ message: 'x', trace_id: 't'.repeat(129) }, 'trace_id'],
      [{ message: 'x', metadata: 'flat' }, 'metadata'],
      [{ message: 'x', metadata: [1, 2] }, 'metadata'],
      [{ message: 'x', metadata: { big: 'x'.repeat(65 * 1024) } }, 'metadata'],
      [[{ message: 'x' }], 'entry'],
      ['just a string', 'entry'],
    ]
    for (const [entry, field] of cases) {
      const body = expectError(await send(p.ingest_token, '/logs/ingest', JSON.stringify(entry)), 400, 'validation_error')
      expect(body.error.details[0].field, JSON.stringify(entry).slice(0, 60)).toBe(field)
    }
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 40; i++) deep = { d: deep }
    const deepRes = expectError(await send(p.ingest_token, '/logs/ingest', JSON.stringify({ message: 'x', metadata: deep })), 400, 'validation_error')
    expect(deepRes.error.details[0].field).toBe('metadata')
    expect(await stored(p.id)).toEqual([])
  })

  it('takes only ingest tokens, and refuses rotated-out ones at once', async () => {
    const p = await t.project()
    const teamKey = expectError(await send(t.teamKey, '/logs/ingest', '{"message":"x"}'), 401, 'unauthorized')
    expect(teamKey.error.message).toContain('ingest token')
    expectError(await t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: { 'content-type': 'application/json' }, payload: '{"message":"x"}' }), 401, 'unauthorized')
    expectError(await send('krl_live_' + 'z'.repeat(32), '/logs/ingest', '{"message":"x"}'), 401, 'unauthorized')
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: { 'x-api-key': p.ingest_token, 'content-type': 'application/json' }, payload: '{"message":"x-api-key"}' })).statusCode).toBe(202)
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/logs/ingest?api_key=${p.ingest_token}`, headers: { 'content-type': 'application/json' }, payload: '{"message":"query"}' })).statusCode).toBe(202)

    const rotated = await t.app.inject({ method: 'POST', url: `/api/v1/logs/projects/${p.id}/rotate_token`, headers: bearer(t.teamKey) })
    const fresh = rotated.json().data.ingest_token
    expectError(await send(p.ingest_token, '/logs/ingest', '{"message":"old"}'), 401, 'unauthorized')
    expect((await send(fresh, '/logs/ingest', '{"message":"new"}')).statusCode).toBe(202)
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual(['new', 'query', 'x-api-key'])
  })
})

describe('ingest token presentation (API.md: every form a shipper sends)', () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const post = (headers: Record<string, string>, message: string, query = '') =>
    t.app.inject({ method: 'POST', url: `/api/v1/logs/ingest${query}`, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify({ message }) })

  it('takes the token as Bearer, X-API-KEY, ?api_key=, Basic password (any user name) and ApiKey (raw or Elasticsearch\'s base64 id:key), on both endpoints', async () => {
    const p = await t.project()
    const tok = p.ingest_token
    const forms: [string, Record<string, string>, string?][] = [
      ['bearer', { authorization: `Bearer ${tok}` }],
      ['x-api-key', { 'x-api-key': tok }],
      ['query', {}, `?api_key=${tok}`],
      ['basic', { authorization: basic('fluent-bit', tok) }],
      ['basic-no-user', { authorization: basic('', tok) }],
      ['basic-lowercase', { authorization: basic('any', tok).replace('Basic', 'basic') }],
      ['apikey', { authorization: `ApiKey ${tok}` }],
      // Elasticsearch's form for an `id:key` setting (Filebeat, Logstash, the ES clients).
      ['apikey-es-id-key', { authorization: `ApiKey ${Buffer.from(`filebeat:${tok}`).toString('base64')}` }],
    ]
    for (const [message, headers, query] of forms) {
      const res = await post(headers, message, query)
      expect(res.statusCode, `${message}: ${res.body}`).toBe(202)
    }
    const batch = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest/batch',
      headers: { authorization: basic('user', tok), 'content-type': 'application/x-ndjson' },
      payload: '{"message":"basic-batch"}\n',
    })
    expect(batch.statusCode, batch.body).toBe(202)
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual([...forms.map((f) => f[0]), 'basic-batch'].sort())
  })

  it('answers 401 to a malformed Basic header, stores nothing, and a wrong Basic password is an invalid token', async () => {
    const p = await t.project()
    const malformed = [
      'Basic',
      'Basic !!not-base64!!',
      `Basic ${Buffer.from(p.ingest_token).toString('base64')}`, // no "user:"
      basic('user', ''),
      `Basic ${Buffer.from(`u:${p.ingest_token}`).toString('base64')} extra`,
      `Token ${p.ingest_token}`,
    ]
    for (const authorization of malformed) {
      const res = expectError(await post({ authorization }, 'never'), 401, 'unauthorized')
      expect(res.error.message, authorization).toContain('Malformed Authorization header')
      expect(res.error.message).not.toContain(p.ingest_token)
    }
    const wrong = expectError(await post({ authorization: basic('user', 'krl_live_' + 'q'.repeat(32)) }, 'never'), 401, 'unauthorized')
    expect(wrong.error.message).toBe('Invalid ingest token')
    expect(await stored(p.id)).toEqual([])
  })

  it('keeps team routes on Bearer: ApiKey and Basic are for shippers', async () => {
    for (const authorization of [`ApiKey ${t.teamKey}`, basic('admin', t.teamKey)]) {
      const res = expectError(await t.app.inject({ method: 'GET', url: '/api/v1/logs/projects', headers: { authorization } }), 401, 'unauthorized')
      expect(res.error.message).toContain('expected "Bearer <token>"')
    }
  })
})

describe('tokens changed by another process', () => {
  it('sees a rotation written by another SQLite connection within 50 ms', async () => {
    // The token cache re-reads SQLite's data_version at most every 50 ms of performance.now()
    // (see meta/projects.ts): that monotonic clock is moved by hand instead of slept on.
    vi.useFakeTimers({ toFake: ['performance'] })
    try {
      const p = await t.project()
      expect((await send(p.ingest_token, '/logs/ingest', '{"message":"before"}')).statusCode).toBe(202)
      const other = openMeta(t.paths.meta)
      try {
        rotateIngestToken(other, t.teamId, p.id, 0, new Date())
      } finally {
        other.close()
      }
      vi.advanceTimersByTime(50)
      expectError(await send(p.ingest_token, '/logs/ingest', '{"message":"after"}'), 401, 'unauthorized')
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('POST /logs/ingest/batch', () => {
  it('stores valid lines and reports invalid ones by line number', async () => {
    const p = await t.project()
    const body = [
      JSON.stringify({ message: 'one' }),
      '',
      JSON.stringify({ message: 'two', timestamp: 'yesterday' }),
      'not json',
      '42',
      '   ',
      JSON.stringify({ message: 'three', stream: 'worker' }),
      JSON.stringify({ level: 'info' }),
    ].join('\r\n')
    const res = await send(p.ingest_token, '/logs/ingest/batch', body)
    expect(res.statusCode).toBe(202)
    const data = res.json().data
    expect(data.accepted).toBe(2)
    expect(data.rejected).toBe(4)
    expect(data.errors.map((e: { line: number; field: string }) => [e.line, e.field])).toEqual([[3, 'timestamp'], [4, 'line'], [5, 'entry'], [8, 'message']])
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual(['one', 'three'])
  })

  it('accepts a JSON array body and gzip bodies', async () => {
    const p = await t.project()
    const arr = await send(p.ingest_token, '/logs/ingest/batch', JSON.stringify([{ message: 'a1' }, { message: 'a2' }, { nope: 1 }]), { 'content-type': 'application/json' })
    expect(arr.statusCode).toBe(202)
    expect(arr.json().data).toMatchObject({ accepted: 2, rejected: 1, errors: [{ line: 3, field: 'message' }] })
    const gz = await send(p.ingest_token, '/logs/ingest/batch', gzipSync(ndjson([{ message: 'g1' }, { message: 'g2' }, { message: 'g3' }])), { 'content-encoding': 'gzip' })
    expect(gz.statusCode).toBe(202)
    expect(gz.json().data).toEqual({ accepted: 3, rejected: 0 })
    const single = await send(p.ingest_token, '/logs/ingest', gzipSync('{"message":"g-single"}'), { 'content-encoding': 'gzip' })
    expect(single.statusCode).toBe(202)
    expect((await stored(p.id)).length).toBe(6)
  })

  it('reports the first 100 errors only', async () => {
    const p = await t.project()
    const lines = [...Array.from({ length: 150 }, () => '{"level":"info"}'), '{"message":"ok"}']
    const res = await send(p.ingest_token, '/logs/ingest/batch', lines.join('\n'))
    expect(res.json().data).toMatchObject({ accepted: 1, rejected: 150 })
    expect(res.json().data.errors).toHaveLength(100)
  })

  it('creates streams on first sight and lists them once', async () => {
    const p = await t.project()
    await send(p.ingest_token, '/logs/ingest/batch', ndjson([{ message: 'a', stream: 'backend' }, { message: 'b', stream: 'worker' }, { message: 'c', stream: 'backend' }, { message: 'd' }]))
    await send(p.ingest_token, '/logs/ingest/batch', ndjson([{ message: 'e', stream: 'worker' }, { message: 'f', stream: 'auth' }]))
    const res = await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/streams`, headers: bearer(t.teamKey) })
    const streams = res.json().data as { id: string; name: string; inserted_at: string }[]
    expect(streams.map((s) => s.name).sort()).toEqual(['auth', 'backend', 'default', 'worker'])
    for (const s of streams) {
      expect(s.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(Date.parse(s.inserted_at)).not.toBeNaN()
    }
  })

  it('records usage per project per UTC day with bytes_in as seed 004 defines it', async () => {
    const p = await t.project()
    // (The timestamp is within the retention window: one outside it is refused since issue 11.)
    const entry = { message: 'héllo', service: 'api', stream: 'backend', trace_id: 't1', span_id: 's1', metadata: { k: 'v' }, level: 'error', timestamp: t.clock.now().toISOString() }
    // message 6 bytes (é is 2), service 3, stream 7, trace 2, span 2, metadata {"k":"v"} 9; level and timestamp do not count.
    const perEntry = 6 + 3 + 7 + 2 + 2 + 9
    const res = await send(p.ingest_token, '/logs/ingest/batch', ndjson([entry, entry, { message: 'bad', timestamp: 'nope' }]))
    expect(res.json().data.accepted).toBe(2)
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today).toMatchObject({ bytes_in: 2 * perEntry, entries: 2 })
    const defaults = await t.project()
    await send(defaults.ingest_token, '/logs/ingest', '{"message":"abc"}')
    const u2 = (await t.app.inject({ url: `/api/v1/logs/projects/${defaults.id}/usage`, headers: bearer(t.teamKey) })).json().data
    // stream defaults to "default" (7 bytes) and counts; absent metadata counts nothing.
    expect(u2.today).toMatchObject({ bytes_in: 3 + 7, entries: 1 })
  })

  it('enforces the daily limit per project, whole requests only, resetting at 00:00 UTC', async () => {
    t.clock.current = new Date('2026-11-27T23:59:00Z')
    const limited = await t.project({ daily_limit_mb: 1 })
    const other = await t.project({ daily_limit_mb: 1 })
    const chunk = (n: number, tag: string) => ndjson(Array.from({ length: n }, (_, i) => ({ message: `${tag}-${i}-${'x'.repeat(10_000)}` })))
    // 60 entries of ~10 KB each ≈ 0.6 MB: fits; a second such request would cross 1 MiB.
    expect((await send(limited.ingest_token, '/logs/ingest/batch', chunk(60, 'first'))).statusCode).toBe(202)
    const over = await send(limited.ingest_token, '/logs/ingest/batch', chunk(60, 'second'))
    const refused = expectError(over, 429, 'daily_limit_exceeded')
    expect(refused.error.message).toBe('Daily log ingestion limit exceeded')
    // Retry-After: when the next UTC day starts (60 s after 23:59:00).
    expect(over.headers['retry-after']).toBe('60')
    expect((await stored(limited.id)).filter((r) => r.message.startsWith('second')).length).toBe(0)
    // A smaller request that still fits is taken.
    expect((await send(limited.ingest_token, '/logs/ingest/batch', chunk(10, 'small'))).statusCode).toBe(202)
    // Another project of the same team is unaffected (seed 004's per-team bug is not copied).
    expect((await send(other.ingest_token, '/logs/ingest/batch', chunk(60, 'other'))).statusCode).toBe(202)
    // Next UTC day: the counter starts again.
    t.clock.current = new Date('2026-11-28T00:00:01Z')
    expect((await send(limited.ingest_token, '/logs/ingest/batch', chunk(60, 'nextday'))).statusCode).toBe(202)
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${limited.id}/usage?days=2`, headers: bearer(t.teamKey) })).json().data
    expect(usage.days.map((d: { date: string; entries: number }) => [d.date, d.entries])).toEqual([['2026-11-28', 60], ['2026-11-27', 70]])
  })

  it('groups concurrent small requests into few engine inserts, answering each after its rows are stored', async () => {
    const p = await t.project()
    const before = (await t.app.inject({ url: '/healthz' })).json().ingest
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => send(p.ingest_token, '/logs/ingest', JSON.stringify({ message: `concurrent ${i}` }))),
    )
    expect(results.every((r) => r.statusCode === 202)).toBe(true)
    const after = (await t.app.inject({ url: '/healthz' })).json().ingest
    const requests = after.requests - before.requests
    const inserts = after.inserts - before.inserts
    expect(requests).toBe(300)
    expect(inserts).toBeLessThanOrEqual(30)
    console.log(`grouping: ${requests} concurrent single-entry requests → ${inserts} engine inserts`)
    expect((await stored(p.id)).length).toBe(300)
  })
})

describe('bad input never costs accepted entries', () => {
  it('answers each hostile body with its 4xx and keeps what was accepted', async () => {
    const p = await t.project()
    const good = await send(p.ingest_token, '/logs/ingest/batch', ndjson(Array.from({ length: 50 }, (_, i) => ({ message: `keep ${i}` }))))
    expect(good.statusCode).toBe(202)
    const tok = p.ingest_token
    // Malformed JSON, a body that is not NDJSON at all, an empty body.
    expectError(await send(tok, '/logs/ingest', '{"message": "x"'), 400, 'validation_error')
    expectError(await send(tok, '/logs/ingest/batch', 'hello\nworld\n'), 400, 'validation_error')
    expectError(await send(tok, '/logs/ingest/batch', ''), 400, 'validation_error')
    expectError(await send(tok, '/logs/ingest/batch', '\n\n  \n'), 400, 'validation_error')
    expectError(await send(tok, '/logs/ingest', ''), 400, 'validation_error')
    expectError(await send(tok, '/logs/ingest/batch', '[{"message":"x"}', { 'content-type': 'application/json' }), 400, 'validation_error')
    // Invalid UTF-8: the whole single entry is refused; in a batch, only its line.
    const badUtf8 = Buffer.concat([Buffer.from('{"message":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])
    expectError(await send(tok, '/logs/ingest', badUtf8), 400, 'validation_error')
    const mixed = await send(tok, '/logs/ingest/batch', Buffer.concat([badUtf8, Buffer.from('\n{"message":"utf8 neighbour"}\n')]))
    expect(mixed.statusCode).toBe(202)
    expect(mixed.json().data).toMatchObject({ accepted: 1, rejected: 1, errors: [{ line: 1, field: 'line', message: 'is not valid UTF-8' }] })
    // Lone UTF-16 surrogates (legal JSON, refused by ClickHouse) are made well-formed, not fatal.
    const surrogate = await send(tok, '/logs/ingest/batch', '{"message":"lone \\ud800 here","metadata":{"k\\udc00":"v\\ud83d"}}\n')
    expect(surrogate.json().data).toEqual({ accepted: 1, rejected: 0 })
    // The same JSON path spelt twice (nested and dotted) would fail a ClickHouse insert by default.
    const dup = await send(tok, '/logs/ingest/batch', '{"message":"dup path","metadata":{"a":{"b":1},"a.b":2}}\n')
    expect(dup.json().data).toEqual({ accepted: 1, rejected: 0 })
    // A 300 KiB message and metadata nested 40 deep are line errors.
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 40; i++) deep = { d: deep }
    const sized = await send(tok, '/logs/ingest/batch', ndjson([{ message: 'y'.repeat(300 * 1024) }, { message: 'deep', metadata: deep }, { message: 'fine' }]))
    expect(sized.json().data).toMatchObject({ accepted: 1, rejected: 2, errors: [{ line: 1, field: 'message' }, { line: 2, field: 'metadata' }] })
    // Wrong Content-Type, unknown Content-Encoding, broken gzip.
    // (text/plain is taken since issue 17: navigator.sendBeacon sends strings as text/plain.)
    expectError(await send(tok, '/logs/ingest/batch', '{"message":"x"}', { 'content-type': 'text/csv' }), 415, 'unsupported_media_type')
    expectError(await send(tok, '/logs/ingest', '{"message":"x"}', { 'content-type': 'application/xml' }), 415, 'unsupported_media_type')
    expectError(await send(tok, '/logs/ingest/batch', '{"message":"x"}', { 'content-encoding': 'br' }), 415, 'unsupported_media_type')
    expectError(await send(tok, '/logs/ingest/batch', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }), 400, 'validation_error')
    // A 20 MiB body, a gzip bomb (100 MiB of zeros in ~100 KiB), more than 10,000 entries.
    expectError(await send(tok, '/logs/ingest/batch', Buffer.alloc(20 * 1024 * 1024, 'a')), 413, 'payload_too_large')
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(1024 * 1024)
    expectError(await send(tok, '/logs/ingest/batch', bomb, { 'content-encoding': 'gzip' }), 413, 'payload_too_large')
    expectError(await send(tok, '/logs/ingest/batch', '{"message":"m"}\n'.repeat(10_001)), 413, 'payload_too_large')
    expect((await send(tok, '/logs/ingest/batch', '{"message":"m"}\n'.repeat(10_000))).json().data.accepted).toBe(10_000)

    const messages = (await stored(p.id)).map((r) => r.message)
    for (let i = 0; i < 50; i++) expect(messages).toContain(`keep ${i}`)
    expect(messages).toContain('utf8 neighbour')
    expect(messages).toContain('lone \ufffd here')
    expect(messages).toContain('dup path')
    expect(messages.length).toBe(50 + 1 + 1 + 1 + 1 + 10_000)
  })
})
