import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

// Browser ingestion (issue 17 part 3): docs/api.md "Browser ingestion (CORS)". The real browser
// test is test/console/browser-ingest.test.ts; here every header and refusal, through the app.
let t: TestApp
let project: { id: string; ingest_token: string }
let browserToken: { id: string; token: string }
let otherBrowserToken: { id: string; token: string }

const SHOP = 'https://shop.example.com'
const ADMIN = 'http://localhost:5173'
const EVIL = 'https://evil.example'
const BROWSER_URLS = ['/api/v1/logs/ingest', '/api/v1/logs/ingest/batch', '/v1/logs', '/otlp/v1/logs']

beforeAll(async () => {
  t = await createTestApp()
  project = await t.project({ name: 'cors' })
  const create = async (body: object) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/logs/projects/${project.id}/tokens`, headers: bearer(t.teamKey), payload: body })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().data
  }
  browserToken = await create({ name: 'shop web', allowed_origins: [SHOP] })
  otherBrowserToken = await create({ name: 'admin web', allowed_origins: [ADMIN] })
})
afterAll(async () => {
  await t?.close()
})

const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'))
const preflight = (url: string, origin?: string) =>
  t.app.inject({
    method: 'OPTIONS',
    url,
    headers: { ...(origin ? { origin } : {}), 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  })
const send = (token: string, headers: Record<string, string> = {}, body = JSON.stringify({ message: 'cors' }), url = '/api/v1/logs/ingest') =>
  t.app.inject({ method: 'POST', url, headers: { ...bearer(token), 'content-type': 'application/json', ...headers }, payload: body })
const stored = async (message: string) =>
  Number((await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID} AND message = {m:String}', { p: project.id, m: message }))[0]!.n)

describe('preflight (OPTIONS) on the browser ingest endpoints', () => {
  it('answers an origin a live token lists with the CORS headers, for that origin only', async () => {
    for (const url of BROWSER_URLS) {
      for (const origin of [SHOP, ADMIN, 'HTTPS://SHOP.EXAMPLE.COM']) {
        const res = await preflight(url, origin)
        expect(res.statusCode, url).toBe(204)
        expect(res.body).toBe('')
        expect(res.headers).toMatchObject({
          'access-control-allow-origin': origin.toLowerCase(),
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'Authorization, Content-Type, Content-Encoding, X-API-KEY, X-Request-Id',
          'access-control-max-age': '7200',
          vary: 'Origin',
        })
        expect(res.headers['access-control-allow-credentials']).toBeUndefined()
        expect(res.headers['x-request-id']).toMatch(/^req_/)
      }
    }
  })

  it('answers any other origin, a malformed one, or none with a 204 without CORS headers', async () => {
    for (const url of BROWSER_URLS) {
      for (const origin of [EVIL, 'null', `${SHOP}/`, 'https://shop.example.com:8443', 'http://shop.example.com', `${SHOP}, ${ADMIN}`, undefined]) {
        const res = await preflight(url, origin)
        expect(res.statusCode, `${url} ${origin}`).toBe(204)
        expect(corsHeaders(res.headers), `${url} ${origin}`).toEqual([])
        expect(res.headers.vary).toBe('Origin')
      }
    }
  })

  it('follows the tokens: a new token opens its origin, a revoked or expired one closes it, at once', async () => {
    const p = await t.project({ name: 'cors-lifecycle' })
    const origin = 'https://lifecycle.example'
    expect(corsHeaders((await preflight('/api/v1/logs/ingest', origin)).headers)).toEqual([])
    const made = await t.app.inject({ method: 'POST', url: `/api/v1/logs/projects/${p.id}/tokens`, headers: bearer(t.teamKey), payload: { name: 'l', allowed_origins: [origin], expires_in: 3600 } })
    const token = made.json().data
    expect((await preflight('/api/v1/logs/ingest', origin)).headers['access-control-allow-origin']).toBe(origin)
    t.clock.advance(3600_000)
    expect(corsHeaders((await preflight('/api/v1/logs/ingest', origin)).headers)).toEqual([])
    t.clock.advance(-3600_000)
    expect((await preflight('/api/v1/logs/ingest', origin)).headers['access-control-allow-origin']).toBe(origin)
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/logs/projects/${p.id}/tokens/${token.id}`, headers: bearer(t.teamKey) })).statusCode).toBe(204)
    expect(corsHeaders((await preflight('/api/v1/logs/ingest', origin)).headers)).toEqual([])
  })

  it('is not answered on the other protocols (Loki, Elasticsearch bulk): 404 without CORS headers', async () => {
    for (const url of ['/loki/api/v1/push', '/es/_bulk', '/es/app/_bulk', '/api/v1/logs/projects', '/api/v1/logs/search', '/api/v1/keys']) {
      const res = await preflight(url, SHOP)
      expect(res.statusCode, url).toBe(404)
      expect(res.json().error.code).toBe('not_found')
      expect(corsHeaders(res.headers), url).toEqual([])
    }
  })
})

describe('the request itself', () => {
  it('from an origin its own token lists: stored, and the answer carries the CORS headers', async () => {
    const res = await send(browserToken.token, { origin: SHOP }, JSON.stringify({ message: 'from the shop page' }))
    expect(res.statusCode, res.body).toBe(202)
    expect(res.headers).toMatchObject({ 'access-control-allow-origin': SHOP, vary: 'Origin', 'access-control-expose-headers': 'X-Request-Id, Retry-After' })
    expect(await stored('from the shop page')).toBe(1)
    // Errors after authentication too, so the page can read why.
    const bad = await send(browserToken.token, { origin: SHOP }, JSON.stringify({ level: 'info' }))
    expect(bad.statusCode).toBe(400)
    expect(bad.headers['access-control-allow-origin']).toBe(SHOP)
    const otlp = await send(browserToken.token, { origin: SHOP }, JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'otlp from the shop page' } }] }] }] }), '/v1/logs')
    expect(otlp.statusCode, otlp.body).toBe(200)
    expect(otlp.headers['access-control-allow-origin']).toBe(SHOP)
    expect(await stored('otlp from the shop page')).toBe(1)
  })

  it('from an origin its token does not list: 403 with the envelope, no CORS headers, nothing stored', async () => {
    const cases: [string, string, string][] = [
      ['the primary token lists no origin', project.ingest_token, SHOP],
      ['another token lists this origin, not this one', otherBrowserToken.token, SHOP],
      ['an origin no token lists', browserToken.token, EVIL],
      ['a sandboxed page', browserToken.token, 'null'],
    ]
    for (const [what, token, origin] of cases) {
      for (const url of ['/api/v1/logs/ingest', '/api/v1/logs/ingest/batch']) {
        const res = await send(token, { origin }, JSON.stringify({ message: `refused: ${what}` }), url)
        expect(res.statusCode, what).toBe(403)
        const body = res.json()
        expect(body.error).toEqual({ code: 'forbidden', message: "This ingest token does not allow requests from this origin: list the page's origin in the token's allowed_origins" })
        expect(body.request_id).toBe(res.headers['x-request-id'])
        expect(corsHeaders(res.headers), what).toEqual([])
        expect(await stored(`refused: ${what}`)).toBe(0)
      }
    }
    // The other protocols refuse it the same way (they answer no preflight and no CORS headers).
    const loki = await t.app.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/json', origin: EVIL },
      payload: { streams: [{ stream: { app: 'x' }, values: [[String(BigInt(t.clock.now().getTime()) * 1_000_000n), 'loki refused']] }] },
    })
    expect(loki.statusCode).toBe(403)
    expect(corsHeaders(loki.headers)).toEqual([])
    const es = await t.app.inject({ method: 'POST', url: '/es/_bulk', headers: { ...bearer(browserToken.token), 'content-type': 'application/x-ndjson', origin: SHOP }, payload: '{"create":{}}\n{"message":"es from a page"}\n' })
    expect(es.statusCode).toBe(200)
    expect(corsHeaders(es.headers)).toEqual([])
  })

  it('without an Origin (shippers, SDKs, curl): works as before with any token, and no CORS headers', async () => {
    for (const token of [project.ingest_token, browserToken.token, otherBrowserToken.token]) {
      const res = await send(token, {}, JSON.stringify({ message: 'server side' }))
      expect(res.statusCode).toBe(202)
      expect(corsHeaders(res.headers)).toEqual([])
    }
    expect(await stored('server side')).toBe(3)
  })

  it('never answers CORS to a team key, on an ingest endpoint or anywhere', async () => {
    const ingestWithKey = await send(t.teamKey, { origin: SHOP })
    expect(ingestWithKey.statusCode).toBe(401)
    expect(corsHeaders(ingestWithKey.headers)).toEqual([])
    for (const url of ['/api/v1/logs/projects', `/api/v1/logs/search?project_id=${project.id}`, `/api/v1/logs/projects/${project.id}/tokens`]) {
      const res = await t.app.inject({ method: 'GET', url, headers: { ...bearer(t.teamKey), origin: SHOP } })
      expect(res.statusCode, url).toBe(200)
      expect(corsHeaders(res.headers), url).toEqual([])
    }
  })
})

describe('what navigator.sendBeacon sends', () => {
  it('takes the token in ?api_key= and a text/plain body (JSON, NDJSON or a JSON array), and never logs the token', async () => {
    const beacon = (url: string, body: string, type = 'text/plain;charset=UTF-8') =>
      t.app.inject({ method: 'POST', url: `${url}?api_key=${browserToken.token}`, headers: { 'content-type': type, origin: SHOP }, payload: body })
    const one = await beacon('/api/v1/logs/ingest', JSON.stringify({ message: 'beacon one', level: 'warn' }))
    expect(one.statusCode, one.body).toBe(202)
    expect(one.headers['access-control-allow-origin']).toBe(SHOP)
    const lines = await beacon('/api/v1/logs/ingest/batch', `${JSON.stringify({ message: 'beacon line 1' })}\n${JSON.stringify({ message: 'beacon line 2' })}\n`)
    expect(lines.json().data).toEqual({ accepted: 2, rejected: 0 })
    const array = await beacon('/api/v1/logs/ingest/batch', JSON.stringify([{ message: 'beacon array 1' }, { message: 'beacon array 2' }]), 'text/plain')
    expect(array.json().data).toEqual({ accepted: 2, rejected: 0 })
    for (const m of ['beacon one', 'beacon line 1', 'beacon line 2', 'beacon array 1', 'beacon array 2']) expect(await stored(m), m).toBe(1)
    // Not JSON at all: the usual 400 naming the body.
    const junk = await beacon('/api/v1/logs/ingest', 'hello')
    expect(junk.statusCode).toBe(400)
    expect(junk.json().error.code).toBe('validation_error')
    expect(t.logs()).toContain('api_key=[redacted]')
    expect(t.logs()).not.toContain(browserToken.token)
  })
})

describe('odd Origin headers', () => {
  it('never get a 5xx or CORS headers, on a preflight or a request, and store nothing', async () => {
    const odd = ['', ' ', '*', 'null', 'https://', 'https://shop.example.com/', 'https://shop.example.com.', 'HTTPS://SHOP.EXAMPLE.COM:443', `https://${'a'.repeat(5000)}.example`, 'https://é.example', "https://x' OR 1=1 --", 'javascript:alert(1)', `${SHOP} ${SHOP}`]
    for (const origin of odd) {
      const pre = await preflight('/api/v1/logs/ingest', origin)
      expect(pre.statusCode, origin).toBe(204)
      expect(corsHeaders(pre.headers), origin).toEqual([])
      const res = await send(browserToken.token, { origin })
      // None of them is the listed origin as a browser writes it (browsers never send a default port).
      expect(res.statusCode, origin).toBe(403)
      expect(corsHeaders(res.headers), origin).toEqual([])
    }
    expect(await stored('cors')).toBe(0)
  })
})
