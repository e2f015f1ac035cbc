import { CONSOLE_PAGES } from '../../src/api/routes/console.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteEntry } from '../../src/api/plugins/auth.js'
import { insertEvent } from '../../src/meta/alerts.js'
import { injectAny } from '../helpers/inject.js'
import { SCOPES, type Scope } from '../../src/meta/keys.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let projectA: { id: string; name: string; ingest_token: string }
let projectB: { id: string; name: string; ingest_token: string }
let ruleA: string
let eventA: string
let otherKeyId: string
let redactionRuleA: string
let tokenA: string

beforeAll(async () => {
  t = await createTestApp()
  projectA = await t.project({ name: 'alpha' })
  projectB = await t.project({ name: 'beta' })
  const rule = await api('POST', '/logs/alerts', {
    project_id: projectA.id,
    name: 'a-rule',
    query: 'level:error',
    condition: { type: 'count', threshold: 1, window_minutes: 5 },
    channels: [{ type: 'webhook', url: 'https://hooks.example.com/a', secret: 'a-secret-value' }],
  })
  ruleA = rule.json().data.id
  eventA = insertEvent(t.meta, { rule_id: ruleA, value: 1, threshold: 1, matched: 1, total: 1, window_minutes: 5 }, t.clock.now()).id
  otherKeyId = (await api('POST', '/keys', { name: 'victim', scopes: ['logs:read'] })).json().data.id
  redactionRuleA = (await api('POST', '/redaction/rules', { project_id: projectA.id, name: 'a-rule', pattern: 'order-[0-9]+' })).json().data.id
  tokenA = (await api('POST', `/logs/projects/${projectA.id}/tokens`, { name: 'a-token' })).json().data.id
})
afterAll(async () => {
  await t?.close()
})

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const api = (method: Method, url: string, payload?: unknown, headers: Record<string, string> = bearer(t.teamKey)) =>
  injectAny(t.app, { method, url: `/api/v1${url}`, headers, ...(payload === undefined ? {} : { payload: payload as object }) })

const expectError = (res: { statusCode: number; json: () => any; headers: Record<string, unknown> }, status: number, code: string, what: string) => {
  expect(res.statusCode, `${what}: ${JSON.stringify(res.json())}`).toBe(status)
  const body = res.json()
  expect(body.error.code, what).toBe(code)
  expect(typeof body.error.message, what).toBe('string')
  expect(body.request_id, what).toMatch(/^req_/)
  expect(res.headers['x-request-id'], what).toBe(body.request_id)
  expect(JSON.stringify(body), what).not.toMatch(/kr_live_[a-z0-9]{32}|krl_live_[a-z0-9]{32}|at .*\.ts:\d+/)
}

/**
 * A request for every route, aimed at project A's resources. A route missing here fails the
 * walk below: new routes must join the security tests.
 */
/** A sample at the server root (the standard protocols) has `root`: its url is not under /api/v1. */
const sampleRequests = (): Record<string, { url: string; body?: unknown; projectScoped: boolean; root?: true; contentType?: string }> => ({
  'POST /v1/logs': { url: '/v1/logs', body: { resourceLogs: [] }, projectScoped: false, root: true },
  'POST /otlp/v1/logs': { url: '/otlp/v1/logs', body: { resourceLogs: [] }, projectScoped: false, root: true },
  'POST /loki/api/v1/push': { url: '/loki/api/v1/push', body: { streams: [] }, projectScoped: false, root: true },
  'POST /es/_bulk': { url: '/es/_bulk', body: '{"create":{}}\n{"message":"x"}\n', contentType: 'application/x-ndjson', projectScoped: false, root: true },
  'PUT /es/_bulk': { url: '/es/_bulk', body: '{"create":{}}\n{"message":"x"}\n', contentType: 'application/x-ndjson', projectScoped: false, root: true },
  'POST /es/:index/_bulk': { url: '/es/x/_bulk', body: '{"create":{}}\n{"message":"x"}\n', contentType: 'application/x-ndjson', projectScoped: false, root: true },
  'PUT /es/:index/_bulk': { url: '/es/x/_bulk', body: '{"create":{}}\n{"message":"x"}\n', contentType: 'application/x-ndjson', projectScoped: false, root: true },
  'GET /es': { url: '/es', projectScoped: false, root: true },
  'GET /es/_license': { url: '/es/_license', projectScoped: false, root: true },
  'GET /es/_cluster/health': { url: '/es/_cluster/health', projectScoped: false, root: true },
  'GET /es/_cat/health': { url: '/es/_cat/health', projectScoped: false, root: true },
  'PUT /es/_index_template/:name': { url: '/es/_index_template/x', body: {}, projectScoped: false, root: true },
  'POST /es/_index_template/:name': { url: '/es/_index_template/x', body: {}, projectScoped: false, root: true },
  'PUT /es/_ilm/policy/:name': { url: '/es/_ilm/policy/x', body: {}, projectScoped: false, root: true },
  'PUT /es/_data_stream/:name': { url: '/es/_data_stream/x', projectScoped: false, root: true },
  'GET /api/v1/logs/projects': { url: '/logs/projects', projectScoped: false },
  'POST /api/v1/logs/projects': { url: '/logs/projects', body: { name: 'walk' }, projectScoped: false },
  'GET /api/v1/logs/projects/:id': { url: `/logs/projects/${projectA.id}`, projectScoped: true },
  'PUT /api/v1/logs/projects/:id': { url: `/logs/projects/${projectA.id}`, body: { description: 'x' }, projectScoped: true },
  'DELETE /api/v1/logs/projects/:id': { url: `/logs/projects/${projectA.id}`, projectScoped: true },
  'POST /api/v1/logs/projects/:id/rotate_token': { url: `/logs/projects/${projectA.id}/rotate_token`, body: {}, projectScoped: true },
  'GET /api/v1/logs/projects/:id/streams': { url: `/logs/projects/${projectA.id}/streams`, projectScoped: true },
  'GET /api/v1/logs/projects/:id/usage': { url: `/logs/projects/${projectA.id}/usage`, projectScoped: true },
  'GET /api/v1/logs/projects/:id/tokens': { url: `/logs/projects/${projectA.id}/tokens`, projectScoped: true },
  'POST /api/v1/logs/projects/:id/tokens': { url: `/logs/projects/${projectA.id}/tokens`, body: { name: 'walk' }, projectScoped: true },
  'DELETE /api/v1/logs/projects/:id/tokens/:token_id': { url: `/logs/projects/${projectA.id}/tokens/${tokenA}`, projectScoped: true },
  'POST /api/v1/logs/ingest': { url: '/logs/ingest', body: { message: 'x' }, projectScoped: false },
  'POST /api/v1/logs/ingest/batch': { url: '/logs/ingest/batch', body: [{ message: 'x' }], projectScoped: false },
  'GET /api/v1/logs/search': { url: `/logs/search?project_id=${projectA.id}`, projectScoped: true },
  'POST /api/v1/logs/search': { url: '/logs/search', body: { project_id: projectA.id }, projectScoped: true },
  'GET /api/v1/logs/stats': { url: `/logs/stats?project_id=${projectA.id}`, projectScoped: true },
  'GET /api/v1/logs/export': { url: `/logs/export?project_id=${projectA.id}`, projectScoped: true },
  'GET /api/v1/logs/tail': { url: `/logs/tail?project_id=${projectA.id}`, projectScoped: true },
  'GET /api/v1/logs/context': { url: `/logs/context?project_id=${projectA.id}&id=x`, projectScoped: true },
  'GET /api/v1/logs/facets': { url: `/logs/facets?project_id=${projectA.id}`, projectScoped: true },
  'GET /api/v1/logs/patterns': { url: `/logs/patterns?project_id=${projectA.id}`, projectScoped: true },
  'GET /api/v1/logs/alerts': { url: `/logs/alerts?project_id=${projectA.id}`, projectScoped: true },
  'POST /api/v1/logs/alerts': {
    url: '/logs/alerts',
    body: { project_id: projectA.id, name: 'x', query: 'x', condition: { type: 'count', threshold: 1, window_minutes: 1 }, channels: [{ type: 'email', to: ['a@b.co'] }] },
    projectScoped: true,
  },
  'POST /api/v1/logs/alerts/preview': {
    url: '/logs/alerts/preview',
    body: { project_id: projectA.id, query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 5 } },
    projectScoped: true,
  },
  'GET /api/v1/logs/alerts/:id': { url: `/logs/alerts/${ruleA}`, projectScoped: true },
  'PUT /api/v1/logs/alerts/:id': { url: `/logs/alerts/${ruleA}`, body: { enabled: false }, projectScoped: true },
  'DELETE /api/v1/logs/alerts/:id': { url: `/logs/alerts/${ruleA}`, projectScoped: true },
  'POST /api/v1/logs/alerts/:id/test': { url: `/logs/alerts/${ruleA}/test`, projectScoped: true },
  'GET /api/v1/logs/alerts/:id/events': { url: `/logs/alerts/${ruleA}/events`, projectScoped: true },
  'GET /api/v1/logs/alert-events/:id': { url: `/logs/alert-events/${eventA}`, projectScoped: true },
  'PATCH /api/v1/logs/alert-events/:id': { url: `/logs/alert-events/${eventA}`, body: { status: 'acknowledged' }, projectScoped: true },
  'POST /api/v1/admin/retention/run': { url: '/admin/retention/run', body: {}, projectScoped: false },
  'POST /api/v1/admin/backups': { url: '/admin/backups', body: {}, projectScoped: false },
  'GET /api/v1/admin/backups': { url: '/admin/backups', projectScoped: false },
  'GET /api/v1/admin/status': { url: '/admin/status', projectScoped: false },
  'GET /api/v1/admin/jobs': { url: '/admin/jobs', projectScoped: false },
  'GET /api/v1/keys': { url: '/keys', projectScoped: false },
  'POST /api/v1/keys': { url: '/keys', body: { name: 'x', scopes: ['logs:read'] }, projectScoped: false },
  'DELETE /api/v1/keys/:id': { url: `/keys/${otherKeyId}`, projectScoped: false },
  'GET /api/v1/audit-logs': { url: '/audit-logs', projectScoped: false },
  'GET /api/v1/redaction/rules': { url: `/redaction/rules?project_id=${projectA.id}`, projectScoped: true },
  'POST /api/v1/redaction/rules': { url: '/redaction/rules', body: { project_id: projectA.id, name: 'walk', pattern: 'x' }, projectScoped: true },
  'PUT /api/v1/redaction/rules/:id': { url: `/redaction/rules/${redactionRuleA}`, body: { enabled: false }, projectScoped: true },
  'DELETE /api/v1/redaction/rules/:id': { url: `/redaction/rules/${redactionRuleA}`, projectScoped: true },
  'POST /api/v1/redaction/test': { url: '/redaction/test', body: { project_id: projectA.id, entries: [{ message: 'x' }] }, projectScoped: true },
  'POST /api/v1/sessions/login-links': { url: '/sessions/login-links', projectScoped: false },
  'POST /api/v1/viewer-tokens': { url: '/viewer-tokens', body: { project_id: projectA.id }, projectScoped: true },
  'POST /api/v1/streams/claim': { url: '/streams/claim', body: { token: 'walk-walk-walk-walk-walk', project_id: projectA.id }, projectScoped: true },
})

// Routes open to this machine (GET /metrics) answer inject's loopback calls without a token;
// test/security/auth-matrix.test.ts walks them from a remote address too.
const protectedRoutes = (): RouteEntry[] => t.app.routeTable.filter((r) => r.auth.kind !== 'none' && !(r.auth.kind === 'team' && r.auth.openOnLoopback))
const call = (route: RouteEntry, headers: Record<string, string>) => {
  const sample = sampleRequests()[`${route.method} ${route.url}`]!
  if (!sample.root) return api(route.method as Method, sample.url, sample.body, headers)
  return t.app.inject({
    method: route.method as Method,
    url: sample.url,
    headers: { ...headers, ...(sample.contentType ? { 'content-type': sample.contentType } : {}) },
    ...(sample.body === undefined ? {} : { payload: sample.body as object }),
  })
}

describe('every route declares its auth, and every wrong token gets the envelope', () => {
  it('has a sample request for every protected route and only health, the OpenAPI document, the browser-session routes (which check their own credential), the CORS preflights of the browser ingest endpoints, the anonymous streams (whose token is the path) and the console pages and assets are open', () => {
    const samples = sampleRequests()
    const missing = protectedRoutes().map((r) => `${r.method} ${r.url}`).filter((k) => !samples[k])
    expect(missing).toEqual([])
    expect(t.app.routeTable.filter((r) => r.auth.kind === 'none').map((r) => (r.method === 'OPTIONS' ? `OPTIONS ${r.url}` : r.url)).sort()).toEqual(
      [
        ...CONSOLE_PAGES,
        ...['/api/v1/logs/ingest', '/api/v1/logs/ingest/batch', '/v1/logs', '/otlp/v1/logs'].map((url) => `OPTIONS ${url}`),
        '/api/v1/healthz',
        '/api/v1/openapi.json',
        '/api/v1/sessions',
        '/api/v1/sessions/current',
        '/api/v1/sessions/current',
        '/api/v1/streams/:token/events',
        '/api/v1/streams/:token/info',
        '/assets/:file',
        '/embed',
        '/healthz',
        '/login',
      ].sort(),
    )
  })

  it('refuses no token, malformed headers, unknown, expired and revoked keys, and the wrong kind of token', async () => {
    const expired = t.keyWith([...SCOPES], { expiresAt: new Date(t.clock.now().getTime() + 1000).toISOString() })
    const revoked = await api('POST', '/keys', { name: 'to-revoke', scopes: [...SCOPES] })
    expect((await api('DELETE', `/keys/${revoked.json().data.id}`)).statusCode).toBe(204)
    t.clock.advance(2000)
    const spare = await t.project()
    const rotatedOut = spare.ingest_token
    expect((await api('POST', `/logs/projects/${spare.id}/rotate_token`, {})).statusCode).toBe(200)
    // Named ingest tokens, revoked and expired: refused like unknown ones.
    const revokedToken = (await api('POST', `/logs/projects/${spare.id}/tokens`, { name: 'revoked' })).json().data
    expect((await api('DELETE', `/logs/projects/${spare.id}/tokens/${revokedToken.id}`)).statusCode).toBe(204)
    const expiredToken = (await api('POST', `/logs/projects/${spare.id}/tokens`, { name: 'expiring', expires_in: 60 })).json().data
    t.clock.advance(60_000)
    for (const route of protectedRoutes()) {
      const what = `${route.method} ${route.url}`
      expectError(await call(route, {}), 401, 'unauthorized', `${what} without a token`)
      expectError(await call(route, { authorization: 'Bearer' }), 401, 'unauthorized', `${what} with "Bearer"`)
      expectError(await call(route, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401, 'unauthorized', `${what} with Basic`)
      expectError(await call(route, bearer('kr_live_' + 'x'.repeat(32))), 401, 'unauthorized', `${what} with an unknown key`)
      expectError(await call(route, bearer('not-a-token')), 401, 'unauthorized', `${what} with garbage`)
      if (route.auth.kind === 'team') {
        expectError(await call(route, bearer(expired)), 401, 'unauthorized', `${what} with an expired key`)
        expectError(await call(route, bearer(revoked.json().data.key)), 401, 'unauthorized', `${what} with a revoked key`)
        const res = await call(route, bearer(projectB.ingest_token))
        expectError(res, 401, 'unauthorized', `${what} with an ingest token`)
        expect(res.json().error.message).toContain('team API key')
        const scope = route.auth.scope
        const lacking = SCOPES.filter((s) => s !== scope) as Scope[]
        const denied = await call(route, bearer(t.keyWith(lacking)))
        expectError(denied, 403, 'forbidden', `${what} without ${scope}`)
        expect(denied.json().error.message).toContain(scope)
      } else {
        const res = await call(route, bearer(t.teamKey))
        expectError(res, 401, 'unauthorized', `${what} with a team key`)
        expect(res.json().error.message).toContain('ingest token')
        expectError(await call(route, bearer(rotatedOut)), 401, 'unauthorized', `${what} with a rotated-out ingest token`)
        for (const [token, which] of [[revokedToken.token, 'revoked'], [expiredToken.token, 'expired']] as const) {
          const refused = await call(route, bearer(token))
          expectError(refused, 401, 'unauthorized', `${what} with a ${which} named ingest token`)
          expect(refused.json().error.message).toBe('Invalid ingest token')
        }
      }
    }
  })

  it('answers unknown, revoked and expired keys identically', async () => {
    const created = (await api('POST', '/keys', { name: 'soon-gone', scopes: ['logs:read'], expires_at: new Date(t.clock.now().getTime() + 60_000).toISOString() })).json().data
    const revokedKey = (await api('POST', '/keys', { name: 'gone', scopes: ['logs:read'] })).json().data
    await api('DELETE', `/keys/${revokedKey.id}`)
    t.clock.advance(61_000)
    const bodies = []
    for (const token of ['kr_live_' + 'q'.repeat(32), revokedKey.key, created.key]) {
      const res = await api('GET', '/logs/projects', undefined, bearer(token))
      expect(res.statusCode).toBe(401)
      const { request_id: _r, ...rest } = res.json()
      bodies.push(rest)
    }
    expect(bodies[1]).toEqual(bodies[0])
    expect(bodies[2]).toEqual(bodies[0])
  })

  it('a key limited to another project gets 403 or 404 on every project-scoped route, never data', async () => {
    const limited = t.keyWith([...SCOPES], { projectIds: [projectB.id] })
    for (const route of protectedRoutes()) {
      const sample = sampleRequests()[`${route.method} ${route.url}`]!
      if (route.auth.kind !== 'team' || !sample.projectScoped) continue
      const res = await call(route, bearer(limited))
      expect([403, 404], `${route.method} ${route.url}: ${res.body}`).toContain(res.statusCode)
      expect(JSON.stringify(res.json())).not.toContain('alpha')
    }
    const listed = await api('GET', '/logs/projects', undefined, bearer(limited))
    expect(listed.json().data.map((p: { id: string }) => p.id)).toEqual([projectB.id])
    expect((await api('GET', '/logs/alerts', undefined, bearer(limited))).json().data).toEqual([])
  })
})

describe('read-only dashboard keys', () => {
  it('can search and export their projects and nothing else', async () => {
    const reader = t.keyWith(['logs:read'], { projectIds: [projectB.id] })
    const headers = bearer(reader)
    expect((await api('GET', `/logs/search?project_id=${projectB.id}`, undefined, headers)).statusCode).toBe(200)
    expect((await api('GET', `/logs/export?project_id=${projectB.id}&format=json`, undefined, headers)).statusCode).toBe(200)
    expect((await api('GET', `/logs/stats?project_id=${projectB.id}`, undefined, headers)).statusCode).toBe(200)
    expectError(await api('GET', `/logs/export?project_id=${projectA.id}`, undefined, headers), 403, 'forbidden', 'export of another project')
    expectError(await api('GET', `/logs/search?project_id=${projectA.id}`, undefined, headers), 403, 'forbidden', 'search of another project')
    expectError(await api('POST', `/logs/projects/${projectB.id}/rotate_token`, {}, headers), 403, 'forbidden', 'rotate')
    expectError(await api('PUT', `/logs/projects/${projectB.id}`, { name: 'renamed' }, headers), 403, 'forbidden', 'update')
    expectError(await api('POST', '/logs/projects', { name: 'new' }, headers), 403, 'forbidden', 'create')
    expectError(await api('POST', '/keys', { name: 'escalate', scopes: ['admin'] }, headers), 403, 'forbidden', 'keys')
    expectError(await api('POST', '/logs/ingest', { message: 'x' }, headers), 401, 'unauthorized', 'ingest')
  })
})

describe('keys API', () => {
  it('creates a key shown once, lists prefixes only, validates, and refuses escalation', async () => {
    const res = await api('POST', '/keys', { name: 'grafana', scopes: ['logs:read', 'logs:read'], project_ids: [projectA.id], expires_at: '2099-01-01T00:00:00+02:00' })
    expect(res.statusCode, res.body).toBe(201)
    const created = res.json().data
    expect(created).toMatchObject({ name: 'grafana', scopes: ['logs:read'], project_ids: [projectA.id], expires_at: '2098-12-31T22:00:00.000Z', status: 'active', revoked_at: null, last_used_at: null })
    expect(created.key).toMatch(/^kr_live_[a-z0-9]{32}$/)
    expect(created.prefix).toBe(created.key.slice(0, 12))
    expect((await api('GET', '/logs/projects', undefined, bearer(created.key))).statusCode).toBe(200)
    const listed = await api('GET', '/keys?limit=100')
    const text = listed.body
    expect(text).not.toContain(created.key)
    expect(text).not.toMatch(/key_hash|[0-9a-f]{64}/)
    const mine = listed.json().data.find((k: { id: string }) => k.id === created.id)
    expect(mine).toMatchObject({ prefix: created.prefix, last_used_at: t.clock.now().toISOString() })
    expect(mine.key).toBeUndefined()

    const bad: [Record<string, unknown>, string][] = [
      [{ scopes: ['logs:read'] }, 'name'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: ['root'] }, 'scopes.0'],
      [{ name: 'x', scopes: ['logs:read'], project_ids: ['nope'] }, 'project_ids.0'],
      [{ name: 'x', scopes: ['logs:read'], project_ids: ['00000000-0000-4000-8000-000000000000'] }, 'project_ids.0'],
      [{ name: 'x', scopes: ['logs:read'], expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', scopes: ['logs:read'], expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
      [{ name: 'x', scopes: ['logs:read'], admin: true }, 'admin'],
    ]
    for (const [body, field] of bad) {
      const r = await api('POST', '/keys', body)
      expectError(r, 400, 'validation_error', `POST /keys ${JSON.stringify(body)}`)
      expect(r.json().error.details.map((d: { field: string }) => d.field)).toContain(field)
    }
    // A key limited to a project, even with admin, cannot mint an unlimited or wider key.
    const limitedAdmin = t.keyWith(['admin', 'logs:read'], { projectIds: [projectB.id] })
    expectError(await api('POST', '/keys', { name: 'wide', scopes: ['logs:read'] }, bearer(limitedAdmin)), 403, 'forbidden', 'unlimited from limited')
    expectError(await api('POST', '/keys', { name: 'w', scopes: ['logs:write'], project_ids: [projectB.id] }, bearer(limitedAdmin)), 403, 'forbidden', 'scope it lacks')
    // Changed with issue 11 point 6: this was 201. Keys are team-wide, so a limited key manages none.
    const within = await api('POST', '/keys', { name: 'ok', scopes: ['logs:read'], project_ids: [projectB.id] }, bearer(limitedAdmin))
    expectError(within, 403, 'forbidden', 'limited key creating a key within its projects')
    expect(within.json().error.message).toContain('unlimited API key')
    expectError(await api('DELETE', `/keys/${created.id}`, undefined, bearer(limitedAdmin)), 403, 'forbidden', 'revoke outside')
    // An unlimited key without logs:write still cannot hand it out.
    const adminOnly = t.keyWith(['admin'])
    const lacking = await api('POST', '/keys', { name: 'w', scopes: ['logs:write'] }, bearer(adminOnly))
    expectError(lacking, 403, 'forbidden', 'unlimited key granting a scope it lacks')
    expect(lacking.json().error.message).toContain('scopes it lacks itself: logs:write')
  })

  it('revocation and expiry take effect on the very next request', async () => {
    const created = (await api('POST', '/keys', { name: 'short', scopes: ['logs:read'], expires_at: new Date(t.clock.now().getTime() + 5000).toISOString() })).json().data
    expect((await api('GET', '/logs/projects', undefined, bearer(created.key))).statusCode).toBe(200)
    t.clock.advance(5000)
    expect((await api('GET', '/logs/projects', undefined, bearer(created.key))).statusCode).toBe(401)
    expect((await api('GET', '/keys?limit=100')).json().data.find((k: { id: string }) => k.id === created.id).status).toBe('expired')

    const other = (await api('POST', '/keys', { name: 'revoke-me', scopes: ['logs:read'] })).json().data
    expect((await api('GET', '/logs/projects', undefined, bearer(other.key))).statusCode).toBe(200)
    expect((await api('DELETE', `/keys/${other.id}`)).statusCode).toBe(204)
    expect((await api('GET', '/logs/projects', undefined, bearer(other.key))).statusCode).toBe(401)
    expect((await api('DELETE', `/keys/${other.id}`)).statusCode).toBe(204)
    expectError(await api('DELETE', '/keys/00000000-0000-4000-8000-000000000000'), 404, 'not_found', 'unknown key')
  })

  it('refuses to revoke the last active admin key with a clear 409', async () => {
    const keys = (await api('GET', '/keys?limit=100')).json().data as { id: string; scopes: string[]; project_ids: string[] | null; status: string; prefix: string }[]
    const admins = keys.filter((k) => k.status === 'active' && k.scopes.includes('admin') && k.project_ids === null)
    const initKey = keys.find((k) => t.teamKey.startsWith(k.prefix))!
    // Revoke every other unlimited admin key first.
    for (const k of admins.filter((a) => a.id !== initKey.id)) expect((await api('DELETE', `/keys/${k.id}`)).statusCode).toBe(204)
    const res = await api('DELETE', `/keys/${initKey.id}`)
    expectError(res, 409, 'conflict', 'last admin key')
    expect(res.json().error.message).toContain('last active admin key')
    expect((await api('GET', '/keys')).statusCode).toBe(200)
    const next = (await api('POST', '/keys', { name: 'next-admin', scopes: [...SCOPES] })).json().data
    expect((await api('DELETE', `/keys/${initKey.id}`, undefined, bearer(next.key))).statusCode).toBe(204)
    expectError(await api('GET', '/keys'), 401, 'unauthorized', 'the revoked init key')
    t.teamKey = next.key
  })
})

describe('audit log', () => {
  it('records every management action with actor, action, target, time and request id', async () => {
    const created = await api('POST', '/logs/projects', { name: 'audited' }, { ...bearer(t.teamKey), 'x-request-id': 'audit-create-1' })
    const id = created.json().data.id
    await api('PUT', `/logs/projects/${id}`, { retention_days: 3 })
    await api('POST', `/logs/projects/${id}/rotate_token`, {})
    const rule = (await api('POST', '/logs/alerts', {
      project_id: id,
      name: 'r',
      query: 'x',
      condition: { type: 'count', threshold: 1, window_minutes: 1 },
      channels: [{ type: 'email', to: ['a@b.co'] }],
    })).json().data
    await api('PUT', `/logs/alerts/${rule.id}`, { enabled: false })
    await api('DELETE', `/logs/alerts/${rule.id}`)
    await api('POST', '/admin/retention/run', { dry_run: true })
    const key = (await api('POST', '/keys', { name: 'audited-key', scopes: ['logs:read'] })).json().data
    await api('DELETE', `/keys/${key.id}`)
    await api('DELETE', `/logs/projects/${id}`)

    const page = await api('GET', '/audit-logs?limit=500')
    expect(page.statusCode).toBe(200)
    const entries = page.json().data as { action: string; actor: string; target_id: string; request_id: string; at: string }[]
    const mine = entries.filter((e) => e.target_id === id || e.target_id === rule.id || e.target_id === key.id)
    expect(mine.map((e) => e.action).reverse()).toEqual([
      'project.create',
      'project.update',
      'project.rotate_token',
      'alert.create',
      'alert.update',
      'alert.delete',
      'key.create',
      'key.revoke',
      'project.delete',
    ])
    const prefix = t.teamKey.slice(0, 12)
    expect(mine.every((e) => e.actor === prefix)).toBe(true)
    expect(mine.find((e) => e.action === 'project.create')!.request_id).toBe('audit-create-1')
    expect(entries.some((e) => e.action === 'retention.run')).toBe(true)
    expect(JSON.stringify(entries)).not.toContain(key.key)

    const filtered = (await api('GET', '/audit-logs?action=key.revoke')).json().data
    expect(filtered.length).toBeGreaterThan(0)
    expect(filtered.every((e: { action: string }) => e.action === 'key.revoke')).toBe(true)
    expect((await api('GET', `/audit-logs?from=${Date.parse(t.clock.now().toISOString()) + 1}`)).json().data).toEqual([])
    // Keyset paging, newest first, nothing twice.
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await api('GET', `/audit-logs?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...res.json().data.map((e: { id: string }) => e.id))
      cursor = res.json().cursor
    } while (cursor)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.length).toBe(entries.length)
    expectError(await api('GET', '/audit-logs?action=nope'), 400, 'validation_error', 'bad action')
    expectError(await api('GET', '/audit-logs', undefined, bearer(t.keyWith(['logs:read', 'logs:write']))), 403, 'forbidden', 'non-admin')
  })
})
