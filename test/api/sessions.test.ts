import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  // A small failure burst, so counting a wrong key against it is visible; every test gets its own client address.
  t = await createTestApp({ config: { server: { auth_failure_burst: 3, auth_failures_per_minute: 10 } } })
})
afterAll(async () => {
  await t?.close()
})
afterEach(() => t.clock.reset())

let addressCounter = 0
let address = ''
beforeEach(() => {
  address = `198.51.100.${++addressCounter}`
})

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const call = (method: Method, url: string, headers: Record<string, string> = {}, payload?: unknown) =>
  t.app.inject({ method, url, headers, remoteAddress: address, ...(payload === undefined ? {} : { payload: payload as object }) })

interface Signed {
  cookie: string
  csrf: string
  expiresAt: string
  setCookie: string
}

const signIn = async (apiKey: string): Promise<Signed> => {
  const res = await call('POST', '/api/v1/sessions', {}, { api_key: apiKey })
  expect(res.statusCode, res.body).toBe(201)
  const setCookie = String(res.headers['set-cookie'])
  const value = /^krafter_session=([^;]+);/.exec(setCookie)![1]!
  return { cookie: `krafter_session=${value}`, csrf: res.json().data.csrf_token, expiresAt: res.json().data.expires_at, setCookie }
}

const asSession = (s: Signed, method: Method, url: string, payload?: unknown, csrf: string | null = s.csrf) =>
  call(method, url, { cookie: s.cookie, ...(csrf === null ? {} : { 'x-csrf-token': csrf }) }, payload)

const projectBody = (name: string) => ({ name: `${name}-${addressCounter}-${Math.random().toString(36).slice(2, 8)}` })

describe('POST /sessions', () => {
  it('sets an HttpOnly SameSite=Strict cookie for the whole site that lasts console.session_hours, and answers the CSRF token', async () => {
    const res = await call('POST', '/api/v1/sessions', {}, { api_key: t.teamKey })
    expect(res.statusCode, res.body).toBe(201)
    const data = res.json().data
    expect(Object.keys(data).sort()).toEqual(['csrf_token', 'expires_at'])
    expect(data.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(data.expires_at).toBe(new Date(t.clock.now().getTime() + 12 * 3_600_000).toISOString())
    expect(res.json().request_id).toBe(res.headers['x-request-id'])
    expect(res.headers['cache-control']).toBe('no-store')
    const cookie = String(res.headers['set-cookie'])
    const [pair, ...attributes] = cookie.split(';').map((s) => s.trim())
    expect(pair).toMatch(/^krafter_session=krs_[A-Za-z0-9_-]{43}$/)
    expect(attributes.sort()).toEqual(['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Strict'])
    // Plain HTTP (the loopback default): no Secure, or the browser would drop the cookie.
    expect(cookie).not.toMatch(/Secure/i)
    // The key itself never comes back.
    expect(res.body).not.toContain(t.teamKey)
    expect(cookie).not.toContain(t.teamKey)
  })

  it('ends a session no later than its key expires', async () => {
    const expiresAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString()
    const s = await signIn(t.keyWith(['logs:read'], { expiresAt }))
    expect(s.expiresAt).toBe(expiresAt)
    expect(s.setCookie).toContain('Max-Age=3600;')
  })

  it('refuses a body without a well-formed team key with a 400 naming api_key', async () => {
    for (const body of [{}, { api_key: 'nope' }, { api_key: `krl_live_${'a'.repeat(32)}` }, { api_key: 42 }]) {
      const res = await call('POST', '/api/v1/sessions', {}, body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json().error.code).toBe('validation_error')
      expect(res.json().error.details.map((d: { field: string }) => d.field)).toEqual(['api_key'])
      expect(res.headers['set-cookie']).toBeUndefined()
    }
    const extra = await call('POST', '/api/v1/sessions', {}, { api_key: t.teamKey, remember: true })
    expect(extra.statusCode).toBe(400)
    expect(extra.json().error.details).toEqual([{ field: 'remember', message: 'is not a known field' }])
  })

  it('answers an unknown, revoked or expired key 401 without a cookie, and counts it as a failed authentication', async () => {
    const expired = t.keyWith(['logs:read'], { expiresAt: new Date(t.clock.now().getTime() + 1000).toISOString() })
    t.clock.advance(2000)
    for (const key of [`kr_live_${'q'.repeat(32)}`, expired, `kr_live_${'z'.repeat(32)}`]) {
      const res = await call('POST', '/api/v1/sessions', {}, { api_key: key })
      expect(res.statusCode).toBe(401)
      expect(res.json().error).toEqual({ code: 'unauthorized', message: 'Invalid API key' })
      expect(res.headers['set-cookie']).toBeUndefined()
    }
    // The burst (3) is spent: the next wrong key from this address is 429 ...
    const limited = await call('POST', '/api/v1/sessions', {}, { api_key: `kr_live_${'w'.repeat(32)}` })
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error.code).toBe('rate_limited')
    expect(limited.headers['retry-after']).toBeDefined()
    // ... and the same bucket serves the bearer path: a wrong bearer token from here is 429 too.
    expect((await call('GET', '/api/v1/logs/projects', bearer(`kr_live_${'v'.repeat(32)}`))).statusCode).toBe(429)
    // A right key still signs in.
    expect((await call('POST', '/api/v1/sessions', {}, { api_key: t.teamKey })).statusCode).toBe(201)
  })
})

describe('the session cookie acts as its key', () => {
  it('reads with the cookie alone, and a read-only key signs in to a read-only session', async () => {
    const s = await signIn(t.keyWith(['logs:read']))
    const list = await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)
    expect(list.statusCode, list.body).toBe(200)
    const write = await asSession(s, 'POST', '/api/v1/logs/projects', projectBody('ro'))
    expect(write.statusCode).toBe(403)
    expect(write.json().error).toMatchObject({ code: 'forbidden', message: 'This API key lacks the logs:write scope' })
    expect((await asSession(s, 'GET', '/api/v1/keys', undefined, null)).statusCode).toBe(403)
  })

  it('sees only the projects of a key limited to projects', async () => {
    const mine = await t.project(projectBody('mine'))
    const other = await t.project(projectBody('other'))
    const s = await signIn(t.keyWith(['logs:read', 'logs:write'], { projectIds: [mine.id] }))
    const list = await asSession(s, 'GET', '/api/v1/logs/projects?limit=100', undefined, null)
    expect(list.statusCode).toBe(200)
    expect(list.json().data.map((p: { id: string }) => p.id)).toEqual([mine.id])
    expect((await asSession(s, 'GET', `/api/v1/logs/projects/${mine.id}`, undefined, null)).statusCode).toBe(200)
    const denied = await asSession(s, 'GET', `/api/v1/logs/search?project_id=${other.id}`, undefined, null)
    expect(denied.statusCode).toBe(403)
    expect(denied.json().error.message).toBe('This API key is not allowed to access this project')
  })

  it('refuses a state-changing request without the CSRF token, or with a wrong one, with 403 forbidden', async () => {
    const s = await signIn(t.teamKey)
    const before = (await call('GET', '/api/v1/logs/projects?limit=100', bearer(t.teamKey))).json().data.length
    for (const csrf of [null, '', 'x'.repeat(43), s.csrf.slice(0, -1) + (s.csrf.endsWith('A') ? 'B' : 'A')]) {
      const res = await asSession(s, 'POST', '/api/v1/logs/projects', projectBody('csrf'), csrf)
      expect(res.statusCode, String(csrf)).toBe(403)
      expect(res.json().error.code).toBe('forbidden')
      expect(res.json().error.message).toMatch(/CSRF token/)
      expect(res.json().request_id).toBe(res.headers['x-request-id'])
    }
    // Nothing was created by the refused requests.
    expect((await call('GET', '/api/v1/logs/projects?limit=100', bearer(t.teamKey))).json().data.length).toBe(before)
    const created = await asSession(s, 'POST', '/api/v1/logs/projects', projectBody('csrf'))
    expect(created.statusCode, created.body).toBe(201)
    for (const method of ['PUT', 'DELETE'] as const) {
      const res = await asSession(s, method, `/api/v1/logs/projects/${created.json().data.id}`, method === 'PUT' ? { description: 'x' } : undefined, null)
      expect(res.statusCode, method).toBe(403)
    }
    const csrfOfAnother = (await signIn(t.teamKey)).csrf
    expect((await asSession(s, 'DELETE', `/api/v1/logs/projects/${created.json().data.id}`, undefined, csrfOfAnother)).statusCode).toBe(403)
    expect((await asSession(s, 'DELETE', `/api/v1/logs/projects/${created.json().data.id}`)).statusCode).toBe(204)
  })

  it('ignores the cookie when a token is presented, and never takes it on ingest routes', async () => {
    const readOnly = await signIn(t.keyWith(['logs:read']))
    // A full key in the header wins over a read-only cookie, and needs no CSRF token.
    const res = await call('POST', '/api/v1/logs/projects', { cookie: readOnly.cookie, ...bearer(t.teamKey) }, projectBody('explicit'))
    expect(res.statusCode, res.body).toBe(201)
    const full = await signIn(t.teamKey)
    // A wrong token is refused even beside a good cookie.
    expect((await call('GET', '/api/v1/logs/projects', { cookie: full.cookie, ...bearer(`kr_live_${'u'.repeat(32)}`) })).statusCode).toBe(401)
    const ingest = await call('POST', '/api/v1/logs/ingest', { cookie: full.cookie, 'x-csrf-token': full.csrf }, { message: 'x' })
    expect(ingest.statusCode).toBe(401)
    expect(ingest.json().error.message).toMatch(/^Missing token/)
  })

  it('answers 401 for a cookie naming no session, and counts it as a failed authentication', async () => {
    for (const value of ['nope', `krs_${'a'.repeat(43)}`, `krs_${'b'.repeat(43)}`]) {
      const res = await call('GET', '/api/v1/logs/projects', { cookie: `other=1; krafter_session=${value}` })
      expect(res.statusCode).toBe(401)
      expect(res.json().error).toEqual({ code: 'unauthorized', message: 'Invalid or expired session; sign in again' })
    }
    expect((await call('GET', '/api/v1/logs/projects', { cookie: `krafter_session=krs_${'c'.repeat(43)}` })).statusCode).toBe(429)
  })
})

describe('sessions end', () => {
  it('at logout: DELETE /sessions/current needs the CSRF token, clears the cookie, and the cookie stops working', async () => {
    const s = await signIn(t.teamKey)
    expect((await asSession(s, 'DELETE', '/api/v1/sessions/current', undefined, null)).statusCode).toBe(403)
    expect((await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)).statusCode).toBe(200)
    const out = await asSession(s, 'DELETE', '/api/v1/sessions/current')
    expect(out.statusCode).toBe(204)
    expect(String(out.headers['set-cookie'])).toMatch(/^krafter_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/)
    const after = await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)
    expect(after.statusCode).toBe(401)
    // Logging out again (or without a session) is still 204.
    expect((await asSession(s, 'DELETE', '/api/v1/sessions/current')).statusCode).toBe(204)
    expect((await call('DELETE', '/api/v1/sessions/current')).statusCode).toBe(204)
    const audit = (await call('GET', '/api/v1/audit-logs?limit=100', bearer(t.teamKey))).json().data.map((e: { action: string }) => e.action)
    expect(audit).toContain('session.create')
    expect(audit).toContain('session.delete')
  })

  it('when its key is revoked', async () => {
    const created = (await call('POST', '/api/v1/keys', bearer(t.teamKey), { name: 'console', scopes: ['logs:read'] })).json().data
    const s = await signIn(created.key)
    expect((await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)).statusCode).toBe(200)
    expect((await call('DELETE', `/api/v1/keys/${created.id}`, bearer(t.teamKey))).statusCode).toBe(204)
    expect((await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)).statusCode).toBe(401)
    expect(t.meta.prepare('SELECT count(*) AS n FROM sessions WHERE api_key_id = ?').get(created.id)).toEqual({ n: 0 })
  })

  it('when its key is revoked in the database by another process (the CLI), at the next request', async () => {
    const created = (await call('POST', '/api/v1/keys', bearer(t.teamKey), { name: 'console', scopes: ['logs:read'] })).json().data
    const s = await signIn(created.key)
    // Only the key row changes: the session row is still there, the key lookup refuses it.
    t.meta.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(t.clock.now().toISOString(), created.id)
    expect((await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)).statusCode).toBe(401)
  })

  it('when it expires', async () => {
    const s = await signIn(t.teamKey)
    t.clock.advance(12 * 3_600_000 - 1000)
    expect((await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)).statusCode).toBe(200)
    t.clock.advance(1000)
    const res = await asSession(s, 'GET', '/api/v1/logs/projects', undefined, null)
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('unauthorized')
  })
})

describe('GET /sessions/current', () => {
  it("answers the session's CSRF token, expiry, scopes and projects, and 401 without a session", async () => {
    const p = await t.project(projectBody('cur'))
    const s = await signIn(t.keyWith(['logs:read'], { projectIds: [p.id] }))
    const res = await asSession(s, 'GET', '/api/v1/sessions/current', undefined, null)
    expect(res.statusCode, res.body).toBe(200)
    const data = res.json().data
    expect(data).toMatchObject({ csrf_token: s.csrf, expires_at: s.expiresAt, scopes: ['logs:read'], project_ids: [p.id] })
    expect(data.key.prefix).toMatch(/^kr_live_/)
    expect(res.headers['cache-control']).toBe('no-store')
    const none = await call('GET', '/api/v1/sessions/current')
    expect(none.statusCode).toBe(401)
    expect(none.json().error.code).toBe('unauthorized')
    // A bearer token is not a session.
    expect((await call('GET', '/api/v1/sessions/current', bearer(t.teamKey))).statusCode).toBe(401)
  })
})

describe('one-time login links (krafter-logs open)', () => {
  const newLink = async (token = t.localToken) => {
    const res = await call('POST', '/api/v1/sessions/login-links', bearer(token))
    expect(res.statusCode, res.body).toBe(201)
    return res.json().data as { token: string; path: string; expires_at: string }
  }

  it('signs the browser in once, as the local admin, and redirects to the console', async () => {
    const link = await newLink()
    expect(link.path).toBe(`/login?token=${link.token}`)
    expect(link.expires_at).toBe(new Date(t.clock.now().getTime() + 5 * 60_000).toISOString())
    const res = await call('GET', link.path)
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe('/')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    const setCookie = String(res.headers['set-cookie'])
    expect(setCookie).toMatch(/^krafter_session=krs_[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/)
    const cookie = setCookie.split(';')[0]!
    const current = (await call('GET', '/api/v1/sessions/current', { cookie })).json().data
    expect(current).toMatchObject({ scopes: ['logs:read', 'logs:write', 'admin'], project_ids: null, key: null })
    expect((await call('GET', '/api/v1/keys', { cookie })).statusCode).toBe(200)
    expect((await call('POST', '/api/v1/logs/projects', { cookie, 'x-csrf-token': current.csrf_token }, projectBody('link'))).statusCode).toBe(201)
    // Once only.
    const again = await call('GET', link.path)
    expect(again.statusCode).toBe(401)
    expect(again.json().error.message).toMatch(/already used or expired/)
    expect(again.headers['set-cookie']).toBeUndefined()
  })

  it('stops working after 5 minutes', async () => {
    const late = await newLink()
    const inTime = await newLink()
    t.clock.advance(5 * 60_000 - 1)
    expect((await call('GET', inTime.path)).statusCode).toBe(303)
    t.clock.advance(1)
    expect((await call('GET', late.path)).statusCode).toBe(401)
  })

  it("acts as the key that asked for it, and not after that key's revocation", async () => {
    const created = (await call('POST', '/api/v1/keys', bearer(t.teamKey), { name: 'linker', scopes: ['admin'] })).json().data
    const link = await newLink(created.key)
    const cookie = String((await call('GET', link.path)).headers['set-cookie']).split(';')[0]!
    expect((await call('GET', '/api/v1/sessions/current', { cookie })).json().data).toMatchObject({ scopes: ['admin'], key: { id: created.id } })
    const unused = await newLink(created.key)
    expect((await call('DELETE', `/api/v1/keys/${created.id}`, bearer(t.teamKey))).statusCode).toBe(204)
    expect((await call('GET', link.path)).statusCode).toBe(401)
    expect((await call('GET', unused.path)).statusCode).toBe(401)
  })

  it('is only handed to the local admin or an unlimited admin key, and a malformed token is a 400', async () => {
    expect((await call('POST', '/api/v1/sessions/login-links')).statusCode).toBe(401)
    expect((await call('POST', '/api/v1/sessions/login-links', bearer(t.keyWith(['logs:read', 'logs:write'])))).statusCode).toBe(403)
    const bad = await call('GET', '/login?token=nope')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.details[0].field).toBe('token')
  })
})

describe('secrets stay out of the logs', () => {
  it('never writes a session id, CSRF token, login link token or the key of a sign-in to the serve log', async () => {
    const s = await signIn(t.teamKey)
    await asSession(s, 'POST', '/api/v1/logs/projects', projectBody('log'))
    await asSession(s, 'POST', '/api/v1/logs/projects', projectBody('log'), 'wrong-csrf')
    const link = await call('POST', '/api/v1/sessions/login-links', bearer(t.localToken))
    const linkToken = link.json().data.token as string
    const redeemed = await call('GET', `/login?token=${linkToken}`)
    const linkCookie = String(redeemed.headers['set-cookie']).split(';')[0]!
    await call('GET', `/login?token=${linkToken}`)
    await asSession(s, 'DELETE', '/api/v1/sessions/current')
    const logs = t.logs()
    expect(logs).toContain('/login?token=[redacted]')
    for (const secret of [s.cookie.split('=')[1]!, s.csrf, linkToken, linkCookie.split('=')[1]!, t.teamKey]) {
      expect(logs).not.toContain(secret)
    }
    // Nor are they stored: only hashes are.
    const stored = JSON.stringify([t.meta.prepare('SELECT * FROM sessions').all(), t.meta.prepare('SELECT * FROM login_links').all()])
    for (const secret of [s.cookie.split('=')[1]!, s.csrf, linkToken, linkCookie.split('=')[1]!]) expect(stored).not.toContain(secret)
  })
})
