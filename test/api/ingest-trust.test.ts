import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logTable } from '../../src/engine/schema.js'
import { InsertBatcher } from '../../src/ingest/batcher.js'
import { LEVEL_ALIASES } from '../../src/logs/fields.js'
import { Metrics } from '../../src/metrics/metrics.js'
import { bearer, createTestApp, ingestBatch, type TestApp } from '../helpers/app.js'

// Issue 11, points 2 and 3 and the healthz part of 5: one tenant's data never fails another's
// request, nothing is refused inside a success answer, every refusal is reported and counted.
let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

const batch = (token: string, entries: unknown[]) => ingestBatch(t.app, token, entries)

const one = (token: string, entry: unknown) =>
  t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: bearer(token), payload: entry as object })

const stored = (projectId: string) =>
  t.rows<{ message: string; level: string; metadata: Record<string, unknown>; ts: string }>(
    `SELECT message, level, metadata, toString(timestamp) AS ts FROM ${logTable(t.engine)} WHERE project_id = {p:UUID} ORDER BY message`,
    { p: projectId },
  )

const usageToday = async (projectId: string) => {
  const res = await t.app.inject({ method: 'GET', url: `/api/v1/logs/projects/${projectId}/usage`, headers: bearer(t.teamKey) })
  expect(res.statusCode, res.body).toBe(200)
  return res.json().data
}

describe('hostile shapes', () => {
  it('refuses nesting far beyond the limit per line (200,000 levels overflowed the stack: a 500), keeping the other lines', async () => {
    const p = await t.project()
    const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels)
    const res = await batch(p.ingest_token, [
      { message: 'kept' },
      `{"message":"deep metadata","metadata":${deep(200_000)}}`,
      `{"message":"deep extra field","extra":${deep(50_000)}}`,
      `{"message":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    ])
    expect(res.statusCode, res.body.slice(0, 300)).toBe(202)
    const answer = res.json().data
    expect(answer.accepted).toBe(1)
    expect(answer.errors.map((e: { line: number; field: string }) => [e.line, e.field])).toEqual([
      [2, 'metadata'],
      [3, 'metadata'],
      [4, 'message'],
    ])
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['kept'])
  })

  it('keeps a "__proto__" key as data, at the top level and in metadata, instead of dropping it', async () => {
    const p = await t.project()
    // The second line spells a lone surrogate, so its value is also rebuilt (made well-formed) on the way.
    const res = await batch(p.ingest_token, [
      '{"message":"proto","__proto__":{"top":1},"metadata":{"x":1}}',
      '{"message":"proto inner","metadata":{"__proto__":{"inner":2}}}',
      '{"message":"proto surrogate","metadata":{"__proto__":{"s":"\\ud800"}}}',
    ])
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json().data.accepted).toBe(3)
    const rows = await stored(p.id)
    expect(rows.map((r) => JSON.stringify(r.metadata))).toEqual(['{"__proto__":{"top":1},"x":1}', '{"__proto__":{"inner":2}}', '{"__proto__":{"s":"\uFFFD"}}'])
  })
})

describe('metadata values the engine cannot hold', () => {
  it('stores integers beyond 64 bits as strings, and a victim sharing the inserts gets every batch stored', async () => {
    const victim = await t.project()
    const attacker = await t.project()
    const poison = [
      { message: 'huge', metadata: { n: 18446744073709551616 } },
      { message: 'tiny', metadata: { deep: { n: -9223372036854775809 } } },
      { message: 'in array', metadata: { list: [1, 1e20, 2] } },
      '{"message":"literal","metadata":{"n":99999999999999999999999}}',
    ]
    // 40 victim batches race 20 poisoned ones through the same batcher (grouped inserts).
    const results = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => batch(victim.ingest_token, [{ message: `victim-${String(i).padStart(2, '0')}`, metadata: { i } }])),
      ...Array.from({ length: 20 }, () => batch(attacker.ingest_token, poison)),
    ])
    for (const res of results) expect(res.statusCode, res.body).toBe(202)
    for (const res of results.slice(0, 40)) expect(res.json().data).toEqual({ accepted: 1, rejected: 0 })
    for (const res of results.slice(40)) expect(res.json().data).toEqual({ accepted: 4, rejected: 0 })

    const victims = await stored(victim.id)
    expect(victims.map((r) => r.message)).toEqual(Array.from({ length: 40 }, (_, i) => `victim-${String(i).padStart(2, '0')}`))
    const poisoned = await stored(attacker.id)
    expect(poisoned).toHaveLength(80)
    const byMessage = new Map(poisoned.map((r) => [r.message, r.metadata]))
    expect(byMessage.get('huge')).toEqual({ n: '18446744073709552000' })
    expect(byMessage.get('tiny')).toEqual({ deep: { n: '-9223372036854776000' } })
    expect(byMessage.get('in array')).toEqual({ list: [1, '100000000000000000000', 2] })
    // From 1e21 up JSON text has an exponent: the engine reads a float, so it stays a number.
    expect(byMessage.get('literal')).toEqual({ n: 1e23 })
  })

  it('keeps as numbers the integers the engine holds (up to the 64-bit bounds, as JavaScript reads them)', async () => {
    const p = await t.project()
    const res = await batch(p.ingest_token, ['{"message":"bounds","metadata":{"big":12345678901234567890,"neg":-9223372036854774000,"small":42,"at_min":-9223372036854775808}}'])
    expect(res.json().data).toEqual({ accepted: 1, rejected: 0 })
    const [row] = await t.rows<{ big: string; neg: string; small: string; at_min: string; types: string[] }>(
      `SELECT toString(metadata.big) AS big, toString(metadata.neg) AS neg, toString(metadata.small) AS small, toString(metadata.at_min) AS at_min,
              [dynamicType(metadata.big), dynamicType(metadata.neg), dynamicType(metadata.small), dynamicType(metadata.at_min)] AS types
       FROM ${logTable(t.engine)} WHERE project_id = {p:UUID}`,
      { p: p.id },
    )
    // -2^63 itself is a double whose integer text (-9223372036854776000) is below Int64: a string.
    expect(row).toEqual({ big: '12345678901234567000', neg: '-9223372036854774000', small: '42', at_min: '-9223372036854776000', types: ['UInt64', 'Int64', 'Int64', 'String'] })
  })
})

describe('the batcher finds rows the engine refuses, per request', () => {
  const line = (projectId: string, id: string, message: string) =>
    `{"project_id":"${projectId}","timestamp":${Date.now() * 1000},"id":"${id}","level":"info","service":"","stream":"default","message":"${message}","trace_id":"","span_id":"","metadata":{},"received_at":${Date.now() * 1000}}\n`

  it('stores the other requests of a grouped insert and names the refused rows of the one at fault', async () => {
    const p = await t.project()
    const metrics = new Metrics()
    // A long flush window groups all three requests into one insert, which the bad row fails.
    const batcher = new InsertBatcher(t.engine, { flushWindowMs: 50, maxBatchRows: 1000 }, undefined, metrics)
    const good1 = batcher.insert([line(p.id, 'a1', 'good one'), line(p.id, 'a2', 'good two')])
    // "not-a-uuid" is no project_id the engine can parse: a data error, as an overflowing number was.
    const mixed = batcher.insert([line(p.id, 'b1', 'kept 1'), line('not-a-uuid', 'b2', 'refused'), line(p.id, 'b3', 'kept 3'), line(p.id, 'b4', 'kept 4')])
    const good2 = batcher.insert([line(p.id, 'c1', 'good three')])
    await expect(good1).resolves.toEqual({ refused: [] })
    await expect(mixed).resolves.toEqual({ refused: [1] })
    await expect(good2).resolves.toEqual({ refused: [] })
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['good one', 'good three', 'good two', 'kept 1', 'kept 3', 'kept 4'])
    expect(metrics.engineInserts.get({ result: 'refused_data' })).toBeGreaterThanOrEqual(2)
    expect(batcher.failingSince()).toBeNull()
  })
})

describe('levels', () => {
  it('maps every name and number of API.md, and keeps unknown ones as info with the original', async () => {
    const p = await t.project()
    const names = Object.keys(LEVEL_ALIASES)
    const numeric: [number | string, string][] = [
      [10, 'debug'], [20, 'debug'], [30, 'info'], [40, 'warn'], [50, 'error'], [60, 'fatal'],
      [0, 'fatal'], [1, 'fatal'], [2, 'fatal'], [3, 'error'], [4, 'warn'], [5, 'info'], [6, 'info'], [7, 'debug'], ['30', 'info'],
    ]
    const expected: Record<string, string> = {
      trace: 'debug', verbose: 'debug', silly: 'debug', dbg: 'debug', fine: 'debug', finer: 'debug', finest: 'debug', debug: 'debug',
      information: 'info', informational: 'info', notice: 'info', http: 'info', log: 'info', info: 'info',
      warning: 'warn', warn: 'warn', err: 'error', error: 'error',
      critical: 'fatal', crit: 'fatal', alert: 'fatal', emerg: 'fatal', emergency: 'fatal', panic: 'fatal', severe: 'fatal', fatal: 'fatal',
    }
    expect(new Set(names)).toEqual(new Set(Object.keys(expected)))
    const entries = [
      ...names.map((n, i) => ({ message: `name-${String(i).padStart(2, '0')}`, level: i % 2 ? n.toUpperCase() : n })),
      ...numeric.map(([n], i) => ({ message: `num-${String(i).padStart(2, '0')}`, level: n })),
      { message: 'unknown-word', level: 'LOUD' },
      { message: 'unknown-number', level: 35 },
    ]
    const res = await batch(p.ingest_token, entries)
    expect(res.json().data).toEqual({ accepted: entries.length, rejected: 0 })
    const rows = new Map((await stored(p.id)).map((r) => [r.message, r]))
    names.forEach((n, i) => expect(rows.get(`name-${String(i).padStart(2, '0')}`)?.level, n).toBe(expected[n]))
    numeric.forEach(([n, level], i) => expect(rows.get(`num-${String(i).padStart(2, '0')}`)?.level, String(n)).toBe(level))
    expect(rows.get('unknown-word')).toMatchObject({ level: 'info', metadata: { original_level: 'LOUD' } })
    expect(rows.get('unknown-number')).toMatchObject({ level: 'info', metadata: { original_level: 35 } })
  })
})

describe('timestamps', () => {
  it('refuses dates that do not exist and times outside the retention window, naming the window', async () => {
    const p = await t.project({ retention_days: 7 })
    const now = t.clock.now().getTime()
    const day = 86_400_000
    const res = await batch(p.ingest_token, [
      { message: 'feb 31', timestamp: '2026-02-31T10:00:00Z' },
      { message: 'feb 29 non-leap', timestamp: '2025-02-29' },
      { message: 'too old', timestamp: new Date(now - 8 * day).toISOString() },
      { message: 'too new', timestamp: now + 3 * day },
      { message: 'old but kept', timestamp: new Date(now - 6 * day).toISOString() },
      { message: 'soon', timestamp: now + day },
      { message: 'yesterday', timestamp: new Date(now - day).toISOString() },
    ])
    expect(res.statusCode).toBe(202)
    const data = res.json().data
    expect(data.accepted).toBe(3)
    expect(data.rejected).toBe(4)
    expect(data.errors.map((e: { line: number; field: string }) => [e.line, e.field])).toEqual([
      [1, 'timestamp'], [2, 'timestamp'], [3, 'timestamp'], [4, 'timestamp'],
    ])
    expect(data.errors[0].message).toMatch(/existing date/)
    const from = new Date(now - 7 * day).toISOString()
    const to = new Date(now + 2 * day).toISOString()
    expect(data.errors[2].message).toContain(`${from} to ${to}`)
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['old but kept', 'soon', 'yesterday'])

    const single = await one(p.ingest_token, { message: 'x', timestamp: new Date(now - 30 * day).toISOString() })
    expect(single.statusCode).toBe(400)
    expect(single.json().error.details).toEqual([{ field: 'timestamp', message: expect.stringContaining('retention window') }])
  })
})

describe('refused records are counted', () => {
  it('per project and day in usage, in healthz, and logged at warn at most once a minute', async () => {
    const p = await t.project({ daily_limit_mb: 1 })
    const before = (await t.app.inject({ method: 'GET', url: '/healthz' })).json().ingest.rejected_records
    const res = await batch(p.ingest_token, [{ message: 'ok' }, '{not json', { message: '' }, { level: 'info' }])
    expect(res.json().data).toMatchObject({ accepted: 1, rejected: 3 })
    const single = await one(p.ingest_token, { message: 5 })
    expect(single.statusCode).toBe(400)
    // Over the daily limit: the whole request is refused, and its records counted as refused.
    const big = 'x'.repeat(200 * 1024)
    const over = await batch(p.ingest_token, Array.from({ length: 6 }, () => ({ message: big })))
    expect(over.statusCode).toBe(429)
    const health = (await t.app.inject({ method: 'GET', url: '/healthz' })).json()
    expect(health.ingest.rejected_records - before).toBe(3 + 1 + 6)

    const logs = t.logs()
    const warnLines = logs.split('\n').filter((l) => l.includes('ingest refused records') && l.includes(p.id))
    expect(warnLines).toHaveLength(1)
    expect(JSON.parse(warnLines[0]!)).toMatchObject({ level: 40, project_id: p.id, rejected: 3 })
    t.clock.advance(61_000)
    await one(p.ingest_token, { message: 5 })
    const after = t.logs().split('\n').filter((l) => l.includes('ingest refused records') && l.includes(p.id))
    expect(after).toHaveLength(2)
    expect(JSON.parse(after[1]!)).toMatchObject({ rejected: 1 + 6 + 1 })

    const searched = await t.app.inject({ method: 'GET', url: `/api/v1/logs/search?project_id=${p.id}`, headers: bearer(t.teamKey) })
    expect(searched.statusCode).toBe(200)
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    const sample = (name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1])
    // Every line is a comment or `name{labels} value` (Prometheus text format 0.0.4).
    for (const l of metrics.trim().split('\n')) expect(l).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="[^"]*",?)*\})? [-+\dInfNa.e]+)$/)
    expect(sample('krafter_ingest_records_rejected_total{protocol="json",reason="daily_limit"}')).toBeGreaterThanOrEqual(6)
    expect(sample('krafter_ingest_records_rejected_total{protocol="json",reason="invalid"}')).toBeGreaterThanOrEqual(5)
    expect(sample('krafter_ingest_requests_total{protocol="json",status="429"}')).toBeGreaterThanOrEqual(1)
    expect(sample('krafter_engine_up')).toBe(1)
    expect(sample('krafter_search_duration_seconds_count{endpoint="search"}')).toBeGreaterThanOrEqual(1)

    await waitForUsage(p.id, (u) => u.rejected === 11)
    const usage = await usageToday(p.id)
    expect(usage.today).toMatchObject({ rejected: 11, entries: 1 })
  })
})

const waitForUsage = async (projectId: string, ok: (u: { rejected: number }) => boolean) => {
  // usage_daily is written behind (≤ 200 ms): read it until the write landed, with a bound.
  for (let i = 0; i < 100; i++) {
    const row = t.meta.prepare('SELECT rejected FROM usage_daily WHERE project_id = ?').get(projectId) as { rejected: number } | undefined
    if (row && ok(row)) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error('usage_daily never showed the refused records')
}

describe('healthz', () => {
  it('reports degraded while inserts fail although the engine answers pings, and ok once they work again', async () => {
    const p = await t.project()
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    const table = logTable(t.engine)
    // Today's partition holds a part, and the table now allows one: TOO_MANY_PARTS (252), an
    // engine that cannot take inserts for now (a dropped table would be a bug in the schema: 500).
    expect((await one(p.ingest_token, { message: 'before' })).statusCode).toBe(202)
    await t.engine.client.command({ query: `ALTER TABLE ${table} MODIFY SETTING parts_to_delay_insert = 1, parts_to_throw_insert = 1` })
    try {
      const res = await one(p.ingest_token, { message: 'while broken' })
      expect(res.statusCode).toBe(503)
      expect(res.json().error.code).toBe('engine_unavailable')
      expect(res.headers['retry-after']).toBe('1')
      const health = await t.app.inject({ method: 'GET', url: '/healthz' })
      expect(health.statusCode).toBe(503)
      expect(health.json()).toMatchObject({ status: 'degraded', engine: { ok: true }, ingest: { inserts_failing: { since: expect.any(String) } } })
    } finally {
      await t.engine.client.command({ query: `ALTER TABLE ${table} RESET SETTING parts_to_delay_insert, parts_to_throw_insert` })
    }
    expect((await one(p.ingest_token, { message: 'works again' })).statusCode).toBe(202)
    const health = await t.app.inject({ method: 'GET', url: '/healthz' })
    expect(health.statusCode).toBe(200)
    expect(health.json()).toMatchObject({ status: 'ok', ingest: { inserts_failing: null } })
  })
})

