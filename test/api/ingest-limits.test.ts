import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

// Own file (own process, own engine): a tight log_ingest bucket, and an engine that dies (last).
let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ config: { ingest: { rate_per_second: 1, burst: 3 } } })
})
afterAll(async () => {
  await t?.close()
})

const ingest = (token: string, message: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/logs/ingest',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    payload: JSON.stringify({ message }),
  })

describe('log_ingest rate limit', () => {
  it('answers 429 rate_limited with Retry-After once a token has used its burst', async () => {
    const a = await t.project()
    const b = await t.project()
    for (let i = 0; i < 3; i++) expect((await ingest(a.ingest_token, `burst ${i}`)).statusCode).toBe(202)
    const limited = await ingest(a.ingest_token, 'one too many')
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error.code).toBe('rate_limited')
    expect(limited.headers['retry-after']).toBe('1')
    expect(limited.headers['x-request-id']).toBe(limited.json().request_id)
    // Keyed by ingest token: another project's token has its own bucket.
    expect((await ingest(b.ingest_token, 'other bucket')).statusCode).toBe(202)
    t.clock.advance(1000)
    expect((await ingest(a.ingest_token, 'refilled')).statusCode).toBe(202)
    expect((await ingest(a.ingest_token, 'empty again')).statusCode).toBe(429)
    const rows = await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID}', { p: a.id })
    expect(Number(rows[0]!.n)).toBe(4)
  })
})

describe('log_ingest bucket shared by the ingest routes', () => {
  it('takes one bucket per token across every ingest route, and an unknown route stays a 404', async () => {
    const p = await t.project()
    const batch = (message: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest/batch', headers: { ...bearer(p.ingest_token), 'content-type': 'application/x-ndjson' }, payload: `{"message":"${message}"}\n` })
    expect((await ingest(p.ingest_token, 'single 1')).statusCode).toBe(202)
    expect((await batch('batch 1')).statusCode).toBe(202)
    expect((await ingest(p.ingest_token, 'single 2')).statusCode).toBe(202)
    expect((await batch('batch 2')).statusCode).toBe(429)
    expect((await ingest(p.ingest_token, 'single 3')).statusCode).toBe(429)
    const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest/nope', headers: { ...bearer(p.ingest_token), 'content-type': 'application/json' }, payload: '{}' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error.code).toBe('not_found')
  })
})

describe('limits with many tokens per project (issue 17)', () => {
  const newToken = async (projectId: string, name: string): Promise<string> => {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/logs/projects/${projectId}/tokens`, headers: bearer(t.teamKey), payload: { name } })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().data.token
  }

  it('keeps one log_ingest bucket per token: a token that used its burst does not hold back its project\'s other tokens', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    const a = await newToken(p.id, 'a')
    const b = await newToken(p.id, 'b')
    for (let i = 0; i < 3; i++) expect((await ingest(a, `a ${i}`)).statusCode).toBe(202)
    const limited = await ingest(a, 'a over')
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error.code).toBe('rate_limited')
    for (let i = 0; i < 3; i++) expect((await ingest(b, `b ${i}`)).statusCode).toBe(202)
    expect((await ingest(b, 'b over')).statusCode).toBe(429)
    expect((await ingest(p.ingest_token, 'primary has its own')).statusCode).toBe(202)
    const rows = await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID}', { p: p.id })
    expect(Number(rows[0]!.n)).toBe(7)
  })

  it('counts the daily limit per project, whichever token sent the bytes', async () => {
    t.clock.advance(10_000)
    const p = await t.project({ daily_limit_mb: 1 })
    const a = await newToken(p.id, 'a')
    const b = await newToken(p.id, 'b')
    const big = 'x'.repeat(200 * 1024)
    // 3 × 200 KiB through a, then 2 × 200 KiB through b: 1,000 KiB of the 1,024 KiB.
    for (let i = 0; i < 3; i++) expect((await ingest(a, big)).statusCode).toBe(202)
    for (let i = 0; i < 2; i++) expect((await ingest(b, big)).statusCode).toBe(202)
    t.clock.advance(10_000)
    for (const token of [a, b, p.ingest_token]) {
      const over = await ingest(token, big)
      expect(over.statusCode).toBe(429)
      expect(over.json().error).toEqual({ code: 'daily_limit_exceeded', message: 'Daily log ingestion limit exceeded' })
    }
    // Another project's tokens are not held back by it.
    const q = await t.project({ daily_limit_mb: 1 })
    expect((await ingest(await newToken(q.id, 'q'), big)).statusCode).toBe(202)
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today.entries).toBe(5)
    expect(usage.today.bytes_in).toBe(5 * (200 * 1024 + 'default'.length))
  })
})

describe('engine failure', () => {
  it('a supervised engine known to be down (managed, restarting) gets 503 at once, never 202, and nothing is stored', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    let up = false
    t.engine.available = () => up
    const refused = await ingest(p.ingest_token, 'while restarting')
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error.code).toBe('engine_unavailable')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    up = true
    expect((await ingest(p.ingest_token, 'back up')).statusCode).toBe(202)
    delete t.engine.available
    const rows = await t.rows<{ message: string }>('SELECT message FROM krafter.log_entries WHERE project_id = {p:UUID}', { p: p.id })
    expect(rows.map((r) => r.message)).toEqual(['back up'])
  })

  it('answers 503 engine_unavailable, counts nothing, and health says so', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    expect((await ingest(p.ingest_token, 'before')).statusCode).toBe(202)
    await t.engine.close()
    const res = await ingest(p.ingest_token, 'after')
    expect(res.statusCode).toBe(503)
    expect(res.json().error.code).toBe('engine_unavailable')
    expect(res.body).not.toMatch(/chdb|ClickHouse|at .*\.js/i)
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today.entries).toBe(1)
    const health = await t.app.inject({ url: '/healthz' })
    expect(health.statusCode).toBe(503)
    expect(health.json()).toMatchObject({ status: 'degraded', engine: { ok: false } })
  })
})
