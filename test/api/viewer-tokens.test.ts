import { createHmac } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { parseConfig } from '../../src/config/config.js'
import type { LogEntry } from '../../src/logs/search.js'
import { bearer, createTestApp, ingestNdjson, type TestApp } from '../helpers/app.js'
import { injectAny } from '../helpers/inject.js'
import { eventually } from '../helpers/syslog.js'

/**
 * Viewer tokens (API.md "Viewer tokens and the embeddable viewer", issue 16 point 5): made by
 * POST /viewer-tokens, taken only by search, stats, tail, context, facets and patterns of their
 * project, always with their fixed filter; against the real app, SQLite and embedded engine.
 */
let t: TestApp
const BASE = Date.parse('2026-11-27T10:00:00Z')
const NOW = BASE + 60 * 60_000
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString()

let a: { id: string; ingest_token: string }
let b: { id: string; ingest_token: string }
/** Project A's entries: the api's may be shown (the fixed filter), the worker's never. */
let all: LogEntry[]

const createToken = (body: Record<string, unknown>, key = t.teamKey) =>
  t.app.inject({ method: 'POST', url: '/api/v1/viewer-tokens', headers: bearer(key), payload: body })

const issue = async (body: Record<string, unknown>): Promise<{ token: string; expires_at: string }> => {
  const res = await createToken(body)
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data
}

const read = (path: string, params: Record<string, string | number>, headers: Record<string, string>) => {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)] as [string, string]))
  return injectAny(t.app, { url: `/api/v1/logs/${path}?${qs}`, headers })
}

const search = async (token: string, params: Record<string, string | number> = {}): Promise<LogEntry[]> => {
  const res = await read('search', { project_id: a.id, limit: 1000, ...params }, bearer(token))
  expect(res.statusCode, res.body).toBe(200)
  return res.json().data as LogEntry[]
}

const expectBad = (res: { statusCode: number; body: string; json: () => any }, field: string) => {
  expect(res.statusCode, res.body).toBe(400)
  expect(res.json().error.code).toBe('validation_error')
  expect(res.json().error.details.map((d: { field: string }) => d.field)).toContain(field)
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const parts = (token: string) => token.split('.') as [string, string, string]
const claimsOf = (token: string) => JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString('utf8')) as Record<string, unknown>

beforeAll(async () => {
  t = await createTestApp()
  t.clock.pin(new Date(NOW))
  a = await t.project({ name: 'viewer A' })
  b = await t.project({ name: 'viewer B' })
  const entries = Array.from({ length: 12 }, (_, i) => ({
    timestamp: at(1 + i),
    service: i % 2 === 0 ? 'api' : 'worker',
    level: i % 3 === 0 ? 'error' : 'info',
    message: i % 2 === 0 ? `checkout done order ${i}` : `payroll secret batch ${i}`,
  }))
  await ingestNdjson(t, a.ingest_token, entries)
  await ingestNdjson(t, b.ingest_token, entries.map((e) => ({ ...e, message: `${e.message} in B` })))
  const res = await read('search', { project_id: a.id, limit: 1000, order: 'asc' }, bearer(t.teamKey))
  all = res.json().data
  expect(all).toHaveLength(12)
})
afterEach(() => t.clock.reset())
afterAll(async () => {
  await t?.close()
})

const apiIds = () => all.filter((e) => e.service === 'api').map((e) => e.id).sort()
const idsOf = (entries: LogEntry[]) => entries.map((e) => e.id).sort()

describe('POST /viewer-tokens', () => {
  it('gives a read key a signed HS256 JWT for the project, expiring after expires_in (default 3600 s), audited without the token', async () => {
    const readKey = t.keyWith(['logs:read'])
    const res = await createToken({ project_id: a.id, query: 'service:api' }, readKey)
    expect(res.statusCode, res.body).toBe(201)
    const { token, expires_at } = res.json().data
    expect(expires_at).toBe(new Date(NOW + 3600_000).toISOString())
    const [header] = parts(token)
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' })
    const claims = claimsOf(token)
    expect(claims).toMatchObject({ iss: 'krafter-logs', team: t.teamId, project: a.id, q: 'service:api', iat: NOW / 1000, exp: NOW / 1000 + 3600 })
    expect(typeof claims.jti).toBe('string')
    // Each token is its own (jti), even at the same second for the same project and filter.
    expect(claimsOf((await issue({ project_id: a.id, query: 'service:api' })).token).jti).not.toBe(claims.jti)
    // No fixed filter: no q claim at all.
    expect(claimsOf((await issue({ project_id: a.id, expires_in: 60 })).token)).not.toHaveProperty('q')

    const audit = await t.app.inject({ url: '/api/v1/audit-logs?action=viewer_token.create', headers: bearer(t.teamKey) })
    expect(audit.statusCode, audit.body).toBe(200)
    const mine = audit.json().data.find((e: { details: { jti: string } }) => e.details.jti === claims.jti)
    expect(mine).toMatchObject({ action: 'viewer_token.create', target_type: 'project', target_id: a.id, details: { expires_at, query: 'service:api' } })
    expect(audit.body).not.toContain(parts(token)[2])
    expect(t.logs()).not.toContain(parts(token)[2])
  })

  it('refuses an ingest token (401), a key without logs:read or limited to another project (403), an unknown project (404)', async () => {
    expect((await createToken({ project_id: a.id }, a.ingest_token)).statusCode).toBe(401)
    const writeOnly = await createToken({ project_id: a.id }, t.keyWith(['logs:write']))
    expect(writeOnly.statusCode, writeOnly.body).toBe(403)
    const otherProject = await createToken({ project_id: a.id }, t.keyWith(['logs:read'], { projectIds: [b.id] }))
    expect(otherProject.statusCode, otherProject.body).toBe(403)
    expect(otherProject.json().error.code).toBe('forbidden')
    expect((await createToken({ project_id: b.id }, t.keyWith(['logs:read'], { projectIds: [b.id] }))).statusCode).toBe(201)
    const unknown = await createToken({ project_id: '00000000-0000-4000-8000-000000000000' })
    expect(unknown.statusCode, unknown.body).toBe(404)
    expect(unknown.json().error.code).toBe('not_found')
  })

  it('answers 400 naming the field for expires_in outside 60-86400 or not an integer, a query the q language refuses, unknown fields', async () => {
    for (const expires_in of [59, 86_401, 0, -5, 90.5, '3600', null]) expectBad(await createToken({ project_id: a.id, expires_in }), 'expires_in')
    for (const ok of [60, 86_400]) expect((await createToken({ project_id: a.id, expires_in: ok })).statusCode).toBe(201)
    for (const query of ['service:api OR', '(level:error', 'nofield:x', 'level:loud', '"open', 'x'.repeat(4097)]) {
      expectBad(await createToken({ project_id: a.id, query }), 'query')
    }
    expectBad(await createToken({ project_id: 'not-a-uuid' }), 'project_id')
    expectBad(await createToken({ project_id: a.id, scope: 'admin' }), 'scope')
  })
})

describe('reads with a viewer token', () => {
  let token: string
  beforeAll(async () => {
    token = (await issue({ project_id: a.id, query: 'service:api' })).token
  })

  it('search shows only the fixed filter\'s entries, by Bearer, ?token= and ?api_key=, GET and POST', async () => {
    expect(idsOf(await search(token))).toEqual(apiIds())
    for (const param of ['token', 'api_key']) {
      const res = await read('search', { project_id: a.id, limit: 1000, [param]: token }, {})
      expect(res.statusCode, res.body).toBe(200)
      expect(idsOf(res.json().data)).toEqual(apiIds())
    }
    const post = await t.app.inject({ method: 'POST', url: '/api/v1/logs/search', headers: bearer(token), payload: { project_id: a.id, limit: 1000 } })
    expect(post.statusCode, post.body).toBe(200)
    expect(idsOf(post.json().data)).toEqual(apiIds())
    // A token without a fixed filter reads the whole project.
    expect(await search((await issue({ project_id: a.id })).token)).toHaveLength(12)
  })

  it('ANDs the request\'s q and filters in; no q can widen the fixed filter', async () => {
    expect(await search(token, { q: 'payroll' })).toEqual([])
    expect(await search(token, { service: 'worker' })).toEqual([])
    const errors = all.filter((e) => e.service === 'api' && e.level === 'error').map((e) => e.id).sort()
    expect(errors.length).toBeGreaterThan(0)
    expect(idsOf(await search(token, { q: 'level:error' }))).toEqual(errors)
    // OR at the top level of the request's q stays inside the fixed filter's parentheses.
    for (const q of ['service:worker OR service:api', 'payroll OR checkout', 'message:* OR payroll', 'NOT service:api', '-checkout OR payroll']) {
      const got = await search(token, { q })
      expect(got.every((e) => e.service === 'api'), q).toBe(true)
    }
    expect(idsOf(await search(token, { q: 'payroll OR checkout' }))).toEqual(apiIds())
    // A q that would close the parentheses around it is malformed on its own: 400 naming q.
    for (const q of ['x) OR (service:worker', 'checkout) OR (payroll', ')', 'checkout)', '(payroll', '"x) OR (y']) {
      expectBad(await read('search', { project_id: a.id, q }, bearer(token)), 'q')
    }
  })

  it('stats, facets and patterns count only the fixed filter\'s entries', async () => {
    const stats = await read('stats', { project_id: a.id }, bearer(token))
    expect(stats.statusCode, stats.body).toBe(200)
    const total = (stats.json().data.buckets as { total: number }[]).reduce((n, x) => n + x.total, 0)
    expect(total).toBe(6)
    const facets = await read('facets', { project_id: a.id, q: 'service:worker OR level:info' }, bearer(token))
    expect(facets.statusCode, facets.body).toBe(200)
    expect(facets.json().data.fields.service.map((v: { value: string }) => v.value)).toEqual(['api'])
    const patterns = await read('patterns', { project_id: a.id }, bearer(token))
    expect(patterns.statusCode, patterns.body).toBe(200)
    const found = patterns.json().data as { pattern: string; count: number }[]
    expect(found.reduce((n, p) => n + p.count, 0)).toBe(6)
    expect(found.every((p) => !p.pattern.includes('payroll'))).toBe(true)
  })

  it('context finds only entries inside the fixed filter, and only such neighbours', async () => {
    const inside = all.find((e) => e.service === 'api' && Date.parse(e.timestamp) === Date.parse(at(5)))!
    const res = await read('context', { project_id: a.id, id: inside.id, before: 10, after: 10 }, bearer(token))
    expect(res.statusCode, res.body).toBe(200)
    const data = res.json().data as { before: LogEntry[]; entry: LogEntry; after: LogEntry[] }
    expect(data.entry.id).toBe(inside.id)
    expect([...data.before, ...data.after].every((e) => e.service === 'api')).toBe(true)
    expect(data.before.length + data.after.length).toBe(5)
    // An entry outside the filter is not found through its id, whatever the request's q says.
    const outside = all.find((e) => e.service === 'worker')!
    for (const q of [undefined, 'service:worker OR service:api']) {
      const refused = await read('context', { project_id: a.id, id: outside.id, ...(q ? { q } : {}) }, bearer(token))
      expect(refused.statusCode, refused.body).toBe(404)
    }
    // A key sees it.
    expect((await read('context', { project_id: a.id, id: outside.id }, bearer(t.teamKey))).statusCode).toBe(200)
  })

  it('tail opens with the token in ?token= (EventSource) and refuses another project', async () => {
    const res = await read('tail', { project_id: a.id, token }, {})
    expect(res.statusCode, res.body).toBe(200)
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/)
    const other = await read('tail', { project_id: b.id, token }, {})
    expect(other.statusCode, other.body).toBe(403)
  })

  it('cannot read another project: 403 like a key limited to other projects, whether or not it exists', async () => {
    for (const path of ['search', 'stats', 'facets', 'patterns', 'tail']) {
      for (const project_id of [b.id, '00000000-0000-4000-8000-000000000000']) {
        const res = await read(path, { project_id }, bearer(token))
        expect(res.statusCode, `${path} ${res.body}`).toBe(403)
        expect(res.json().error.code).toBe('forbidden')
      }
    }
    const context = await read('context', { project_id: b.id, id: all[0]!.id }, bearer(token))
    expect(context.statusCode).toBe(403)
  })

  it('is refused (401) by every other endpoint: export, writes, project and admin routes, ingest', async () => {
    const calls: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; payload?: unknown }[] = [
      { method: 'GET', url: `/api/v1/logs/export?project_id=${a.id}` },
      { method: 'GET', url: '/api/v1/logs/projects' },
      { method: 'GET', url: `/api/v1/logs/projects/${a.id}` },
      { method: 'POST', url: '/api/v1/logs/projects', payload: { name: 'from a viewer' } },
      { method: 'PUT', url: `/api/v1/logs/projects/${a.id}`, payload: { name: 'renamed' } },
      { method: 'DELETE', url: `/api/v1/logs/projects/${a.id}` },
      { method: 'POST', url: '/api/v1/viewer-tokens', payload: { project_id: a.id } },
      { method: 'GET', url: '/api/v1/keys' },
      { method: 'POST', url: '/api/v1/keys', payload: { name: 'x', scopes: ['admin'] } },
      { method: 'GET', url: '/api/v1/audit-logs' },
      { method: 'GET', url: '/api/v1/logs/alerts' },
      { method: 'POST', url: `/api/v1/logs/alerts`, payload: { name: 'x' } },
      { method: 'GET', url: '/api/v1/redaction/rules' },
      { method: 'POST', url: '/api/v1/logs/ingest', payload: { message: 'x' } },
    ]
    for (const call of calls) {
      for (const auth of [{ headers: bearer(token) }, { url: `${call.url}${call.url.includes('?') ? '&' : '?'}api_key=${token}` }]) {
        const res = await t.app.inject({ method: call.method, url: call.url, payload: call.payload as object, ...auth })
        expect(res.statusCode, `${call.method} ${call.url}: ${res.body}`).toBe(401)
        expect(res.json().error.code).toBe('unauthorized')
      }
    }
    // ?token= is only for viewer routes: elsewhere it is no credential at all.
    expect((await t.app.inject({ url: `/api/v1/logs/projects?token=${token}` })).statusCode).toBe(401)
    // And on viewer routes it takes viewer tokens only, never an API key.
    expect((await read('search', { project_id: a.id, token: t.teamKey }, {})).statusCode).toBe(401)
    // The project is untouched.
    expect((await t.app.inject({ url: `/api/v1/logs/projects/${a.id}`, headers: bearer(t.teamKey) })).json().data.name).toBe('viewer A')
  })

  it('expires at exp by the server clock (401 from then on)', async () => {
    const short = (await issue({ project_id: a.id, expires_in: 60 })).token
    t.clock.advance(59_000)
    expect((await read('search', { project_id: a.id }, bearer(short))).statusCode).toBe(200)
    t.clock.advance(1_000)
    const res = await read('search', { project_id: a.id }, bearer(short))
    expect(res.statusCode, res.body).toBe(401)
    expect(res.json().error.code).toBe('unauthorized')
    expect((await read('tail', { project_id: a.id, token: short }, {})).statusCode).toBe(401)
  })

  it('refuses a tampered signature or payload, alg none or another algorithm, another secret, another team (401)', async () => {
    const [header, payload, signature] = parts(token)
    const claims = claimsOf(token)
    const secret = Buffer.alloc(32, 7)
    const sign = (h: string, p: string, key: Buffer = secret) => createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')
    const flipped = signature.slice(0, -2) + (signature.at(-2) === 'A' ? 'B' : 'A') + signature.at(-1)
    const forged = [
      `${header}.${payload}.${flipped}`,
      `${header}.${payload}.${signature.slice(0, -4)}`,
      // The payload widened (no fixed filter, another project) under the old signature.
      `${header}.${b64({ ...claims, q: undefined })}.${signature}`,
      `${header}.${b64({ ...claims, project: b.id })}.${signature}`,
      `${header}.${b64({ ...claims, exp: (claims.exp as number) + 86_400 })}.${signature}`,
      // alg none, with and without a signature; another algorithm with a valid HMAC-SHA256.
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, q: undefined })}.`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, q: undefined })}.${signature}`,
      `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
      `${b64({ alg: 'RS256', typ: 'JWT' })}.${payload}.${signature}`,
      // Well formed and signed, but not with this install's secret.
      `${header}.${payload}.${sign(header, payload)}`,
      // Extra or missing segments.
      `${header}.${payload}.${signature}.${signature}`,
      `${header}.${payload}`,
    ]
    for (const bad of forged) {
      for (const headers of [bearer(bad), {}]) {
        const res = await read('search', { project_id: a.id, ...(Object.keys(headers).length === 0 ? { token: bad } : {}) }, headers)
        expect(res.statusCode, `${bad}: ${res.body}`).toBe(401)
        expect(res.json().error.code).toBe('unauthorized')
      }
    }
    // The untouched token still works: the refusals above are the tampering's.
    expect((await read('search', { project_id: a.id }, bearer(token))).statusCode).toBe(200)
  })

  it('never writes the token to the logs, whether sent as Bearer, ?token= or ?api_key=', async () => {
    await read('search', { project_id: a.id, token }, {})
    await read('search', { project_id: a.id, api_key: token }, {})
    await read('search', { project_id: b.id, token }, {})
    const logs = t.logs()
    expect(logs).toContain('[redacted]')
    expect(logs).not.toContain(parts(token)[2])
    expect(logs).not.toContain(parts(token)[1])
  })
})

describe('live tail with a viewer token', () => {
  let served: FastifyInstance | undefined
  afterAll(async () => {
    await served?.close()
  })

  it('delivers only entries inside the fixed filter, also when the request\'s q ORs outside it', async () => {
    // A listening app with the real clock (a tail reads up to now), over the same data dir and engine.
    served = await buildApp({
      config: parseConfig({ server: { host: '127.0.0.1', auth_failure_burst: 100_000 }, tail: { poll_ms: 50 } }, 'test', {}),
      paths: t.paths,
      meta: t.meta,
      engine: t.engine,
      clock: () => new Date(),
      teamId: t.teamId,
    })
    await served.listen({ host: '127.0.0.1', port: 0 })
    const url = `http://127.0.0.1:${(served.server.address() as AddressInfo).port}`
    const p = await t.project({ name: 'viewer tail' })
    const created = await fetch(`${url}/api/v1/viewer-tokens`, {
      method: 'POST',
      headers: { ...bearer(t.teamKey), 'content-type': 'application/json' },
      body: JSON.stringify({ project_id: p.id, query: 'service:api' }),
    })
    expect(created.status).toBe(201)
    const { token } = ((await created.json()) as { data: { token: string } }).data

    const controller = new AbortController()
    const res = await fetch(`${url}/api/v1/logs/tail?${new URLSearchParams({ project_id: p.id, q: 'service:worker OR service:api', token })}`, { signal: controller.signal })
    expect(res.status).toBe(200)
    const messages: string[] = []
    const reading = (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of res.body!) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true })
          let cut: number
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            if (!block.includes('event: entry')) continue
            const data = block.split('\n').find((l) => l.startsWith('data: '))!
            messages.push((JSON.parse(data.slice(6)) as { message: string }).message)
          }
        }
      } catch {
        // aborted
      }
    })()
    const send = async (entries: object[]) => {
      const r = await fetch(`${url}/api/v1/logs/ingest/batch`, { method: 'POST', headers: { ...bearer(p.ingest_token), 'content-type': 'application/json' }, body: JSON.stringify(entries) })
      expect(r.status).toBe(202)
    }
    await send([{ service: 'api', message: 'api first' }, { service: 'worker', message: 'worker hidden' }])
    // Received after the worker's entry: once it arrives, the worker's would have too if it matched.
    await send([{ service: 'api', message: 'api last' }])
    await eventually(async () => (messages.includes('api last') ? true : undefined), 'the last api entry')
    controller.abort()
    await reading
    expect(messages).toEqual(['api first', 'api last'])
  })
})
