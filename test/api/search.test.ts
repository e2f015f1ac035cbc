import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, ingestNdjson, type TestApp } from '../helpers/app.js'

let t: TestApp
let a: { id: string; ingest_token: string; name: string }
let b: { id: string; ingest_token: string; name: string }
const BASE = Date.parse('2026-11-27T10:00:00Z')
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString()

const ingest = (token: string, entries: object[]) => ingestNdjson(t, token, entries)

const FIXTURE = [
  { timestamp: at(1), level: 'info', service: 'api', stream: 'access', message: 'GET /v1/orders completed in 120ms', metadata: { http: { status: 200 }, user: { id: 42 } } },
  { timestamp: at(2), level: 'error', service: 'api', stream: 'app', message: 'database timeout after 30s', trace_id: 'trace-1', span_id: 'span-1', metadata: { http: { status: 503 }, user: { id: 7 } } },
  { timestamp: at(3), level: 'warn', service: 'worker', stream: 'app', message: 'connection reset by peer, retrying', metadata: { retry: 2 } },
  { timestamp: at(4), level: 'fatal', service: 'worker', stream: 'app', message: 'Connection RESET: giving up', trace_id: 'trace-1', metadata: { http: { status: 500 } } },
  { timestamp: at(5), level: 'debug', service: 'api', stream: 'app', message: 'cache miss for key user:42', metadata: { user: { id: 42 }, region: 'eu' } },
  { timestamp: at(6), level: 'info', service: 'billing', stream: 'app', message: 'reset password email sent, "quoted", with commas\nand a newline', metadata: {} },
  { timestamp: at(7), level: 'error', service: 'api', stream: 'access', message: 'timeouts are rising', metadata: { http: { status: 504 } } },
]

beforeAll(async () => {
  t = await createTestApp()
  t.clock.pin(new Date(BASE + 60 * 60_000))
  a = await t.project({ name: 'Search A' })
  b = await t.project({ name: 'Search B' })
  await ingest(a.ingest_token, FIXTURE)
  // Project B holds the same words: no query on A may ever return them.
  await ingest(b.ingest_token, FIXTURE.map((e) => ({ ...e, message: `${e.message} [B]`, metadata: { ...e.metadata, tenant: 'b' } })))
})
afterEach(() => t.clock.reset())
afterAll(async () => {
  await t?.close()
})

const search = async (params: Record<string, string | number>, token = t.teamKey) => {
  const qs = new URLSearchParams(Object.entries({ project_id: a.id, ...params }).map(([k, v]) => [k, String(v)] as [string, string]))
  return t.app.inject({ url: `/api/v1/logs/search?${qs}`, headers: bearer(token) })
}
const messages = async (q: string, extra: Record<string, string | number> = {}) => {
  const res = await search({ q, ...extra })
  expect(res.statusCode, res.body).toBe(200)
  return (res.json().data as { message: string }[]).map((e) => e.message)
}
const M = FIXTURE.map((e) => e.message)

describe('GET /logs/search', () => {
  it('returns entries newest first with the entry shape and stats', async () => {
    const res = await search({})
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.data.map((e: { message: string }) => e.message)).toEqual([...M].reverse())
    expect(body).toMatchObject({ has_more: false, cursor: null, request_id: expect.stringMatching(/^req_/) })
    expect(body.stats.elapsed_ms).toBeGreaterThanOrEqual(0)
    expect(body.stats.rows_read).toBeGreaterThan(0)
    const e = body.data.find((x: { message: string }) => x.message === M[1])
    expect(e).toMatchObject({ level: 'error', service: 'api', stream: 'app', trace_id: 'trace-1', span_id: 'span-1', timestamp: '2026-11-27T10:02:00.000000Z', metadata: { http: { status: 503 }, user: { id: 7 } } })
    expect(e.id).toMatch(/^[0-9a-z]{22}$/)
    expect(Date.parse(e.received_at)).not.toBeNaN()
    const asc = (await search({ order: 'asc' })).json().data.map((x: { message: string }) => x.message)
    expect(asc).toEqual(M)
  })

  it('implements the q language on real data', async () => {
    expect(await messages('timeout')).toEqual([M[1]])
    expect(await messages('TIMEOUT database')).toEqual([M[1]])
    expect(await messages('timeout*')).toEqual([M[6], M[1]])
    expect(await messages('"connection reset"')).toEqual([M[3], M[2]].filter((m) => m!.toLowerCase().includes('connection reset')))
    expect(await messages('reset')).toEqual([M[5], M[3], M[2]])
    expect(await messages('reset -password')).toEqual([M[3], M[2]])
    expect(await messages('reset NOT level:warn')).toEqual([M[5], M[3]])
    expect(await messages('timeout OR miss')).toEqual([M[4], M[1]])
    expect(await messages('(timeout OR miss) service:api level:error')).toEqual([M[1]])
    expect(await messages('level:error OR level:fatal')).toEqual([M[6], M[3], M[1]])
    expect(await messages('service:work*')).toEqual([M[3], M[2]])
    expect(await messages('trace_id:trace-1')).toEqual([M[3], M[1]])
    expect(await messages('span_id:*')).toEqual([M[1]])
    expect(await messages('metadata.user.id:42')).toEqual([M[4], M[0]])
    expect(await messages('metadata.http.status:>=500')).toEqual([M[6], M[3], M[1]])
    expect(await messages('metadata.http.status:<500')).toEqual([M[0]])
    expect(await messages('metadata.region:*')).toEqual([M[4]])
    expect(await messages('metadata.region:eu')).toEqual([M[4]])
    // Negations keep the entries that do not have the path at all.
    expect(await messages('-metadata.region:eu')).toEqual([M[6], M[5], M[3], M[2], M[1], M[0]])
    expect(await messages('NOT metadata.http.status:>=500')).toEqual([M[5], M[4], M[2], M[0]])
    expect(await messages('message:"v1/orders"')).toEqual([M[0]])
  }, 30_000)

  it('applies the filter parameters', async () => {
    expect(await messages('', { level: 'error,FATAL' })).toEqual([M[6], M[3], M[1]])
    expect(await messages('', { level: 'warning' })).toEqual([M[2]])
    expect(await messages('', { service: 'worker' })).toEqual([M[3], M[2]])
    expect(await messages('', { stream: 'access' })).toEqual([M[6], M[0]])
    expect(await messages('', { trace_id: 'trace-1', span_id: 'span-1' })).toEqual([M[1]])
    expect(await messages('', { from: at(2), to: at(4) })).toEqual([M[2], M[1]])
    expect(await messages('', { from: BASE + 5 * 60_000 })).toEqual([M[6], M[5], M[4]])
    expect(await messages('', { limit: 2 })).toEqual([M[6], M[5]])
    // The default range is the last 24 hours before now.
    t.clock.advance(2 * 86_400_000)
    expect(await messages('')).toEqual([])
  })

  it('takes the same fields as a POST body', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/search',
      headers: bearer(t.teamKey),
      payload: { project_id: a.id, q: 'timeout', from: BASE, to: at(30), limit: 10 },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.map((e: { message: string }) => e.message)).toEqual([M[1]])
  })

  it('refuses bad input with 400 naming the field (and the position for q)', async () => {
    const bad = async (params: Record<string, string | number>, field: string) => {
      const res = await search(params)
      expect(res.statusCode, JSON.stringify(params)).toBe(400)
      expect(res.json().error.code).toBe('validation_error')
      expect(res.json().error.details.map((d: { field: string }) => d.field)).toContain(field)
      return res.json().error
    }
    expect((await bad({ q: '(timeout' }, 'q')).message).toMatch(/position 0/)
    expect((await bad({ q: 'user:42' }, 'q')).message).toMatch(/unknown field "user"/)
    await bad({ limit: 0 }, 'limit')
    await bad({ limit: 1001 }, 'limit')
    await bad({ order: 'sideways' }, 'order')
    await bad({ level: 'loud' }, 'level')
    await bad({ from: 'yesterday' }, 'from')
    await bad({ from: at(5), to: at(1) }, 'from')
    await bad({ cursor: 'garbage' }, 'cursor')
    await bad({ colour: 'red' }, 'colour')
    await bad({ project_id: 'nope' }, 'project_id')
    const missing = await t.app.inject({ url: '/api/v1/logs/search', headers: bearer(t.teamKey) })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().error.details[0].field).toBe('project_id')
  })

  it('answers 404 for an unknown project and 403 for a key limited to others', async () => {
    const unknown = await search({ project_id: '00000000-0000-4000-8000-000000000000' })
    expect(unknown.statusCode).toBe(404)
    const limited = t.keyWith(['logs:read'], { projectIds: [b.id] })
    const res = await search({}, limited)
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('forbidden')
    const writeOnly = t.keyWith(['logs:write'])
    expect((await search({}, writeOnly)).statusCode).toBe(403)
    const ingestToken = await search({}, a.ingest_token)
    expect(ingestToken.statusCode).toBe(401)
  })

  it('never returns another project’s entries, however the query is written', async () => {
    const hostile = [
      '', '*', '[B]', 'b', 'metadata.tenant:b', 'metadata.tenant:*', "' OR 1=1 --", '" OR project_id != "',
      `message:"') OR 1=1 OR ('"`, 'NOT timeout', '-reset OR reset', 'service:* OR NOT service:*',
      `metadata.x:1' OR '1'='1`, '(((timeout) OR (NOT timeout)))', 'level:info OR NOT level:info',
    ]
    for (const q of hostile) {
      const res = await search({ q, limit: 1000 })
      if (res.statusCode === 400) continue
      expect(res.statusCode, q).toBe(200)
      for (const e of res.json().data as { message: string; metadata: { tenant?: string } }[]) {
        expect(e.message, q).not.toContain('[B]')
        expect(e.metadata.tenant, q).toBeUndefined()
      }
    }
  }, 30_000)
})

describe('keyset pagination', () => {
  it('returns every matching entry exactly once while new entries keep arriving', async () => {
    const p = await t.project({ name: 'paging' })
    const start = BASE + 2 * 60 * 60_000
    const initial = Array.from({ length: 95 }, (_, i) => ({
      // Several entries share a timestamp, so the id breaks ties.
      timestamp: new Date(start + Math.floor(i / 3) * 1000).toISOString(),
      message: `page entry ${i}`,
    }))
    await ingest(p.ingest_token, initial)
    t.clock.current = new Date(start + 3_600_000)
    for (const order of ['desc', 'asc'] as const) {
      const seen: string[] = []
      let cursor: string | null = null
      let page = 0
      do {
        const qs: URLSearchParams = new URLSearchParams({ project_id: p.id, q: 'page', limit: '7', order, from: String(start - 60_000), ...(cursor ? { cursor } : {}) })
        const res: { statusCode: number; body: string; json: () => any } = await t.app.inject({ url: `/api/v1/logs/search?${qs}`, headers: bearer(t.teamKey) })
        expect(res.statusCode, res.body).toBe(200)
        const body = res.json()
        seen.push(...body.data.map((e: { message: string }) => e.message))
        cursor = body.cursor
        // New entries arrive between pages: at the newest end, the oldest end and in the middle.
        await ingest(p.ingest_token, [
          { timestamp: new Date(start + 40_000 + page).toISOString(), message: `late ${order} ${page} newest` },
          { timestamp: new Date(start + 15_000).toISOString(), message: `late ${order} ${page} middle` },
        ])
        page++
      } while (cursor)
      const initialMessages = initial.map((e) => e.message)
      for (const m of initialMessages) expect(seen.filter((s) => s === m).length, `${order}: ${m}`).toBe(1)
      expect(new Set(seen).size).toBe(seen.length)
      expect(page).toBeGreaterThanOrEqual(14)
    }
  })
})

describe('GET /logs/stats', () => {
  it('counts per time bucket per level with an automatic interval', async () => {
    const res = await t.app.inject({ url: `/api/v1/logs/stats?project_id=${a.id}&from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(10))}`, headers: bearer(t.teamKey) })
    expect(res.statusCode, res.body).toBe(200)
    const { data, stats } = res.json()
    expect(data.interval_seconds).toBe(5)
    expect(data.buckets).toHaveLength(120)
    expect(data.buckets.reduce((n: number, x: { total: number }) => n + x.total, 0)).toBe(7)
    const twoMin = data.buckets.find((x: { time: string }) => x.time === '2026-11-27T10:02:00.000Z')
    expect(twoMin).toMatchObject({ total: 1, counts: { error: 1, info: 0 } })
    expect(stats.elapsed_ms).toBeGreaterThan(0)
    const hourly = await t.app.inject({ url: `/api/v1/logs/stats?project_id=${a.id}&from=${encodeURIComponent(at(-120))}&to=${encodeURIComponent(at(60))}&interval=1h&level=error,fatal`, headers: bearer(t.teamKey) })
    const h = hourly.json().data
    expect(h.interval_seconds).toBe(3600)
    expect(h.buckets.find((x: { time: string }) => x.time === '2026-11-27T10:00:00.000Z')).toMatchObject({ total: 3, counts: { error: 2, fatal: 1 } })
    expect(h.buckets.reduce((n: number, x: { total: number }) => n + x.total, 0)).toBe(3)
    // Whole minutes come from the p_volume projection, partial ones from the entries; the raw
    // path (forced by a q) must agree bucket for bucket.
    const range = `from=${encodeURIComponent(new Date(BASE + 30_000).toISOString())}&to=${encodeURIComponent(new Date(BASE + 6 * 60_000 + 30_000).toISOString())}&interval=1m`
    const viaProjection = (await t.app.inject({ url: `/api/v1/logs/stats?project_id=${a.id}&${range}`, headers: bearer(t.teamKey) })).json().data
    const viaEntries = (await t.app.inject({ url: `/api/v1/logs/stats?project_id=${a.id}&${range}&q=${encodeURIComponent('message:*')}`, headers: bearer(t.teamKey) })).json().data
    expect(viaProjection.buckets.reduce((n: number, x: { total: number }) => n + x.total, 0)).toBe(6)
    expect(viaProjection.buckets).toEqual(viaEntries.buckets)
    expect(viaProjection.buckets.find((x: { time: string }) => x.time === '2026-11-27T10:06:00.000Z')).toMatchObject({ total: 1, counts: { info: 1 } })
    const tooFine = await t.app.inject({ url: `/api/v1/logs/stats?project_id=${a.id}&interval=1s`, headers: bearer(t.teamKey) })
    expect(tooFine.statusCode).toBe(400)
    expect(tooFine.json().error.details[0].field).toBe('interval')
    const withLimit = await t.app.inject({ url: `/api/v1/logs/stats?project_id=${a.id}&limit=5`, headers: bearer(t.teamKey) })
    expect(withLimit.statusCode).toBe(400)
  })
})

describe('GET /logs/export', () => {
  it('streams RFC 4180 CSV as an attachment', async () => {
    const res = await t.app.inject({ url: `/api/v1/logs/export?project_id=${a.id}&format=csv&order=asc`, headers: bearer(t.teamKey) })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/csv')
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="krafter-search-a-\d{8}T\d{6}Z\.csv"$/)
    const lines = res.body.split('\r\n')
    expect(lines[0]).toBe('timestamp,level,service,stream,message,trace_id,span_id,metadata')
    expect(lines[1]).toBe('2026-11-27T10:01:00.000000Z,info,api,access,GET /v1/orders completed in 120ms,,,"{""http"":{""status"":200},""user"":{""id"":42}}"')
    expect(res.body).toContain('"reset password email sent, ""quoted"", with commas\nand a newline"')
    expect(res.headers['x-export-count']).toBe('7')
  })

  it('exports JSON arrays, honours filters and limits', async () => {
    const res = await t.app.inject({ url: `/api/v1/logs/export?project_id=${a.id}&format=json&q=level:error&limit=1`, headers: bearer(t.teamKey) })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-disposition']).toMatch(/\.json"$/)
    const entries = JSON.parse(res.body)
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ message: M[6], level: 'error' })
    const all = JSON.parse((await t.app.inject({ url: `/api/v1/logs/export?project_id=${a.id}&format=json`, headers: bearer(t.teamKey) })).body)
    expect(all).toHaveLength(7)
    const over = await t.app.inject({ url: `/api/v1/logs/export?project_id=${a.id}&limit=10001`, headers: bearer(t.teamKey) })
    expect(over.statusCode).toBe(400)
    expect(over.json().error.details[0].field).toBe('limit')
    const badFormat = await t.app.inject({ url: `/api/v1/logs/export?project_id=${a.id}&format=xml`, headers: bearer(t.teamKey) })
    expect(badFormat.statusCode).toBe(400)
  })
})
