import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { attributes, encodeOtlpProtobuf, type OtlpRequest } from '../helpers/otlp.js'

// Own file (own process, own engine): a tight log_ingest bucket, and an engine that goes away.
// The shared plumbing answers for the OTLP routes too: 429 and 503 with Retry-After, which
// the OTLP exporters honour (both are retryable in OTLP/HTTP).
let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ config: { ingest: { rate_per_second: 1, burst: 2 } } })
})
afterAll(async () => {
  await t?.close()
})

const request = (message: string): OtlpRequest => ({
  resourceLogs: [{ resource: { attributes: attributes({ 'service.name': 'limits' }) }, scopeLogs: [{ logRecords: [{ body: { stringValue: message } }] }] }],
})

const send = (token: string, message: string, url = '/v1/logs') =>
  t.app.inject({ method: 'POST', url, headers: { ...bearer(token), 'content-type': 'application/x-protobuf' }, payload: encodeOtlpProtobuf(request(message)) })

const messages = async (projectId: string) =>
  (await t.rows<{ message: string }>('SELECT message FROM krafter.log_entries WHERE project_id = {p:UUID} ORDER BY timestamp, id', { p: projectId })).map((r) => r.message)

describe('OTLP under the shared limits', () => {
  it('the log_ingest bucket: 429 rate_limited with Retry-After, one bucket across OTLP and the JSON ingest API', async () => {
    const p = await t.project()
    expect((await send(p.ingest_token, 'one')).statusCode).toBe(200)
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: { ...bearer(p.ingest_token), 'content-type': 'application/json' }, payload: { message: 'two' } })
    expect(json.statusCode).toBe(202)
    const limited = await send(p.ingest_token, 'three', '/otlp/v1/logs')
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error.code).toBe('rate_limited')
    expect(limited.headers['retry-after']).toBe('1')
    t.clock.advance(1000)
    expect((await send(p.ingest_token, 'after the wait')).statusCode).toBe(200)
    expect(await messages(p.id)).toEqual(['one', 'two', 'after the wait'])
  })

  it('an engine that cannot take the records: 503 engine_unavailable with Retry-After, nothing stored, nothing counted', async () => {
    t.clock.advance(10_000)
    const p = await t.project()
    expect((await send(p.ingest_token, 'before')).statusCode).toBe(200)
    await t.engine.close()
    const res = await send(p.ingest_token, 'after')
    expect(res.statusCode).toBe(503)
    expect(res.json().error.code).toBe('engine_unavailable')
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    expect(res.body).not.toMatch(/chdb|ClickHouse|at .*\.js/i)
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today.entries).toBe(1)
  })
})
