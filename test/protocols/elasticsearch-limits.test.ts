import { Client, errors } from '@elastic/elasticsearch'
import { MAX_PROTOCOL_RECORDS } from '../../src/ingest/pipeline.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

// Own file (own process, own engine): a tight log_ingest bucket, and an engine that restarts.
// What the official client does with the whole-request refusals of the shared plumbing: it
// retries 502/503/504 itself (maxRetries, default 3) and surfaces 4xx as a ResponseError.
let t: TestApp
let base: string

beforeAll(async () => {
  t = await createTestApp({ config: { ingest: { rate_per_second: 1, burst: 3 } } })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
})
afterAll(async () => {
  await t?.close()
})

const clientFor = (token: string) => new Client({ node: `${base}/es`, auth: { apiKey: token } })
const count = async (projectId: string) =>
  Number((await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID}', { p: projectId }))[0]!.n)
const operations = (message: string) => [{ create: { _index: 'limits' } }, { message }]

describe('rate limit', () => {
  it('answers 429 with Retry-After once the token used its burst; the calls before sending take none of it', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    for (let i = 0; i < 5; i++) await client.info()
    await client.license.get()
    for (let i = 0; i < 3; i++) expect((await client.bulk({ operations: operations(`burst ${i}`) })).errors).toBe(false)
    const limited = await client.bulk({ operations: operations('one too many') }).catch((e: unknown) => e)
    expect(limited).toBeInstanceOf(errors.ResponseError)
    const { statusCode, headers, body } = (limited as errors.ResponseError).meta
    expect(statusCode).toBe(429)
    expect(headers?.['retry-after']).toBe('1')
    expect(headers?.['x-elastic-product']).toBe('Elasticsearch')
    expect(body).toMatchObject({ error: { code: 'rate_limited' } })
    t.clock.advance(1000)
    expect((await client.bulk({ operations: operations('refilled') })).errors).toBe(false)
    expect(await count(p.id)).toBe(4)
    await client.close()
  })
})

describe('batch and daily limits', () => {
  it('a bulk of more items than a request takes (100,000, within the body limit) is 413, nothing stored', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const error = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: '{"create":{}}\n{"message":"x"}\n'.repeat(MAX_PROTOCOL_RECORDS + 1) }).catch((e: unknown) => e)
    expect((error as errors.ResponseError).statusCode).toBe(413)
    expect(await count(p.id)).toBe(0)
    await client.close()
  })

  it('a bulk crossing the daily limit is refused whole with 429 daily_limit_exceeded', async () => {
    t.clock.advance(10_000)
    const p = await t.project({ daily_limit_mb: 1 })
    const client = clientFor(p.ingest_token)
    const big = 'x'.repeat(200 * 1024)
    const error = await client.bulk({ operations: [1, 2, 3, 4, 5, 6].flatMap((i) => operations(`${i} ${big}`)) }).catch((e: unknown) => e)
    expect((error as errors.ResponseError).statusCode).toBe(429)
    expect((error as errors.ResponseError).body).toMatchObject({ error: { code: 'daily_limit_exceeded' } })
    expect(await count(p.id)).toBe(0)
    await client.close()
  })
})

describe('engine restarting', () => {
  it('the 503 is retried by the client itself and the documents are stored once', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    let inserts = 0
    t.engine.available = () => ++inserts > 1
    try {
      const res = await client.bulk({ operations: operations('after one 503') })
      expect(res.errors).toBe(false)
    } finally {
      delete t.engine.available
    }
    expect(inserts).toBe(2)
    expect(await count(p.id)).toBe(1)
    const metrics = await t.app.inject({ url: '/metrics' })
    expect(metrics.body).toMatch(/krafter_ingest_requests_total\{protocol="elasticsearch",status="503"\} 1/)
    await client.close()
  })

  it('an engine that stays down: the client gives up with the 503, nothing stored', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    const client = new Client({ node: `${base}/es`, auth: { apiKey: p.ingest_token }, maxRetries: 1 })
    t.engine.available = () => false
    try {
      const error = await client.bulk({ operations: operations('never stored') }).catch((e: unknown) => e)
      expect((error as errors.ResponseError).statusCode).toBe(503)
      expect((error as errors.ResponseError).body).toMatchObject({ error: { code: 'engine_unavailable' } })
    } finally {
      delete t.engine.available
    }
    expect(await count(p.id)).toBe(0)
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today.entries).toBe(0)
    await client.close()
  })
})
