import { rmSync } from 'node:fs'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logTable } from '../../src/engine/schema.js'
import { bearer, createTestApp, tempDir, type TestApp } from '../helpers/app.js'
import { BIN, startServe } from '../helpers/cli.js'

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

const ingest = (token: string, remoteAddress: string, message = 'x') =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/logs/ingest',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    payload: JSON.stringify({ message }),
    remoteAddress,
  })

const guess = (i: number) => `kr_live_${String(i).padStart(32, '0')}`

/** Failed guesses from `address` until the first 429; returns how many got 401 before it. */
const exhaust = async (address: string): Promise<number> => {
  for (let i = 0; i < 1000; i++) {
    const res = await get(guess(5000 + i), address)
    if (res.statusCode === 429) return i
    expect(res.statusCode).toBe(401)
  }
  throw new Error('never limited')
}

describe('failed authentications are rate limited per client address', () => {
  it('answers 429 with Retry-After to failed attempts after the burst, while a right key keeps working', async () => {
    for (let i = 0; i < 20; i++) expect((await get(guess(i))).statusCode).toBe(401)
    const limited = await get(guess(99))
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error).toMatchObject({ code: 'rate_limited' })
    expect(limited.headers['retry-after']).toBe('6')
    // Changed with issue 11 point 4: this used to be 429 too (a right key was locked out with
    // the guesses). API.md: a valid token is never refused because of other requests' failures.
    expect((await get(t.teamKey)).statusCode).toBe(200)
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
    for (let i = 0; i < 20; i++) expect((await ingest(`krl_live_${String(i).padStart(32, '0')}`, address)).statusCode).toBe(401)
    expect((await ingest('krl_live_' + 'z'.repeat(32), address)).statusCode).toBe(429)
  })

  it('counts a malformed Basic header on an ingest route as a failed attempt, like a malformed Bearer', async () => {
    const address = '192.0.2.77'
    const basicIngest = (authorization: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: { authorization, 'content-type': 'application/json' }, payload: '{"message":"x"}', remoteAddress: address })
    for (let i = 0; i < 20; i++) expect((await basicIngest(`Basic ${Buffer.from(`user-${i}`).toString('base64')}`)).statusCode).toBe(401)
    expect((await basicIngest('Basic !!')).statusCode).toBe(429)
  })

  it('a shipper on a rotated token does not lock out a healthy shipper on the same host', async () => {
    const host = '10.20.30.40'
    const stale = await t.project({ name: 'rotated-shipper' })
    const rotated = await t.app.inject({ method: 'POST', url: `/api/v1/logs/projects/${stale.id}/rotate_token`, headers: bearer(t.teamKey), payload: {} })
    expect(rotated.statusCode).toBe(200)
    const healthy = await t.project({ name: 'healthy-shipper' })
    const staleAnswers: number[] = []
    let accepted = 0
    for (let i = 0; i < 60; i++) {
      staleAnswers.push((await ingest(stale.ingest_token, host)).statusCode)
      const res = await ingest(healthy.ingest_token, host, `healthy ${i}`)
      expect(res.statusCode, res.body).toBe(202)
      accepted += res.json().data.accepted
    }
    expect(accepted).toBe(60)
    // The stale shipper is told to back off once its failures pass the burst.
    expect(staleAnswers.slice(0, 20)).toEqual(Array(20).fill(401))
    expect(staleAnswers.slice(20)).toEqual(Array(40).fill(429))
    const stored = await t.rows<{ n: string }>(`SELECT count() AS n FROM ${logTable(t.engine)} WHERE project_id = {p:UUID}`, { p: healthy.id })
    expect(Number(stored[0]!.n)).toBe(60)
  })

  it("never refuses the CLI's local admin token, however locked out its address is", async () => {
    const address = '127.0.0.9'
    expect(await exhaust(address)).toBe(20)
    const status = await t.app.inject({ method: 'GET', url: '/api/v1/admin/status', headers: bearer(t.localToken), remoteAddress: address })
    expect(status.statusCode, status.body).toBe(200)
    expect((await get(t.localToken, address)).statusCode).toBe(200)
    // A wrong local token is a failed attempt like any other.
    expect((await get(t.localToken.slice(0, -1) + (t.localToken.endsWith('0') ? '1' : '0'), address)).statusCode).toBe(429)
    expect((await get(guess(1), address)).statusCode).toBe(429)
  })

  it('answers an unknown route 404 whatever token came, and never counts it as a failure', async () => {
    const address = '198.51.100.77'
    const unknown = [
      ['GET', '/api/v1/nope'],
      ['GET', '/api/v1/logs/projects/x/y/z'],
      ['POST', '/api/v1/keys/rotate'],
      ['DELETE', '/api/v1/healthz'],
      ['GET', '/nope'],
    ] as const
    const tokens: Record<string, string>[] = [{}, bearer('garbage'), bearer(guess(7)), bearer('krl_live_' + 'q'.repeat(32)), { 'x-api-key': guess(8) }, { authorization: 'Basic YTpi' }]
    for (let round = 0; round < 5; round++) {
      for (const [method, url] of unknown) {
        for (const headers of tokens) {
          const res = await t.app.inject({ method, url: `${url}?api_key=${guess(9)}`, headers, remoteAddress: address })
          expect(res.statusCode, `${method} ${url} ${JSON.stringify(headers)}`).toBe(404)
          const body = res.json()
          expect(body.error.code).toBe('not_found')
          expect(res.headers['x-request-id']).toBe(body.request_id)
          expect(res.body).not.toContain(guess(9))
        }
      }
    }
    // 150 unknown-route requests with bad tokens later, the whole budget is still there.
    expect(await exhaust(address)).toBe(20)
    // And a locked-out address still gets 404, not 429, for an unknown route.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/nope', headers: bearer(guess(1)), remoteAddress: address })).statusCode).toBe(404)
  })
})

describe('the real CLI through a running serve whose loopback address is locked out', () => {
  it('still works: its local token is valid, so other requests\' failures never refuse it', async () => {
    const home = tempDir('lockout-e2e')
    // One failure per minute refills: the address stays locked out for the whole test.
    const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn', KRAFTER_SERVER_AUTH_FAILURES_PER_MINUTE: '1' }
    const cli = (...args: string[]) => execa('node', [BIN, ...args], { env, reject: false, timeout: 60_000 })
    const init = await cli('init', '--json', '--port', '0')
    expect(init.exitCode, init.stderr).toBe(0)
    const serve = await startServe(home, env)
    try {
      const guessFrom127 = () => fetch(`${serve.url}/api/v1/logs/projects`, { headers: bearer(guess(1)) })
      const answers: number[] = []
      for (let i = 0; i < 21; i++) answers.push((await guessFrom127()).status)
      expect(answers).toEqual([...Array(20).fill(401), 429])
      const status = await cli('status', '--json')
      expect(status.exitCode, status.stderr).toBe(0)
      expect(JSON.parse(status.stdout)).toMatchObject({ via: 'server', engine: { ok: true } })
      const retention = await cli('retention', 'run', '--dry-run', '--json')
      expect(retention.exitCode, retention.stderr).toBe(0)
      expect((await guessFrom127()).status).toBe(429)
    } finally {
      serve.proc.kill('SIGTERM')
      await serve.proc
      rmSync(home, { recursive: true, force: true })
    }
  })
})
