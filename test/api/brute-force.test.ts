import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  // The shipped defaults, not the test helper's relaxed limit.
  t = await createTestApp({ config: { server: { auth_failure_burst: 20, auth_failures_per_minute: 10 } } })
})
afterAll(async () => {
  await t?.close()
})

const get = (token: string | undefined, remoteAddress = '203.0.113.7') =>
  t.app.inject({ method: 'GET', url: '/api/v1/logs/projects', headers: token ? bearer(token) : {}, remoteAddress })

const guess = (i: number) => `kr_live_${String(i).padStart(32, '0')}`

describe('failed authentications are rate limited per client address', () => {
  it('answers 429 with Retry-After after the burst, even for a right key, until the bucket refills', async () => {
    for (let i = 0; i < 20; i++) expect((await get(guess(i))).statusCode).toBe(401)
    const limited = await get(guess(99))
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error).toMatchObject({ code: 'rate_limited' })
    expect(limited.headers['retry-after']).toBe('6')
    // Locked out: the right key from the same address waits too; another address does not.
    expect((await get(t.teamKey)).statusCode).toBe(429)
    expect((await get(t.teamKey, '198.51.100.1')).statusCode).toBe(200)
    // 10 per minute: one more try after 6 s.
    t.clock.advance(6000)
    expect((await get(t.teamKey)).statusCode).toBe(200)
    expect((await get(guess(100))).statusCode).toBe(401)
    expect((await get(guess(101))).statusCode).toBe(429)
  })

  it('does not count requests without any token, and counts ingest token guesses too', async () => {
    const address = '192.0.2.55'
    for (let i = 0; i < 50; i++) expect((await get(undefined, address)).statusCode).toBe(401)
    expect((await get(t.teamKey, address)).statusCode).toBe(200)
    const ingest = (token: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{"message":"x"}', remoteAddress: address })
    for (let i = 0; i < 20; i++) expect((await ingest(`krl_live_${String(i).padStart(32, '0')}`)).statusCode).toBe(401)
    expect((await ingest('krl_live_' + 'z'.repeat(32))).statusCode).toBe(429)
  })
})
