import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

// Many ingest tokens per project (issue 17 part 2): docs/api.md "Ingest tokens of a project".
let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
  t.clock.pin(new Date())
})
afterAll(async () => {
  await t?.close()
})
afterEach(() => t.clock.reset())

type Method = 'GET' | 'POST' | 'DELETE'
const api = (method: Method, url: string, payload?: unknown, headers: Record<string, string> = bearer(t.teamKey)) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers, ...(payload === undefined ? {} : { payload: payload as object }) })
// Each send and each creation a millisecond later than the one before: entries and tokens list
// in a known order (both sort by time, then by a random id).
const ingest = (token: string, message: string) => {
  t.clock.advance(1)
  return t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify({ message }) })
}
const stored = async (projectId: string): Promise<string[]> =>
  (await t.rows<{ message: string }>('SELECT message FROM krafter.log_entries WHERE project_id = {p:UUID} ORDER BY timestamp', { p: projectId })).map((r) => r.message)
const tokensOf = async (projectId: string) => {
  const res = await api('GET', `/logs/projects/${projectId}/tokens?limit=100`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json().data as Record<string, any>[]
}
const create = async (projectId: string, body: Record<string, unknown>) => {
  t.clock.advance(1)
  const res = await api('POST', `/logs/projects/${projectId}/tokens`, body)
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as Record<string, any> & { id: string; token: string }
}
const expectError = (res: { statusCode: number; json: () => any }, status: number, code: string, field?: string) => {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status)
  expect(res.json().error.code).toBe(code)
  if (field) expect(res.json().error.details.map((d: { field: string }) => d.field)).toContain(field)
  return res.json().error as { message: string; details?: { field: string; message: string }[] }
}
const INVALID_INGEST = { error: { code: 'unauthorized', message: 'Invalid ingest token' } }
const bodyWithoutId = (res: { json: () => any }) => {
  const { request_id: _r, ...rest } = res.json()
  return rest
}

describe('POST /logs/projects/:id/tokens', () => {
  it('creates a named token shown once, which sends into its project at once', async () => {
    const p = await t.project()
    const res = await api('POST', `/logs/projects/${p.id}/tokens`, { name: ' checkout web ', allowed_origins: ['https://Shop.Example.com', 'http://localhost:5173', 'https://shop.example.com:443'] })
    expect(res.statusCode, res.body).toBe(201)
    const created = res.json().data
    expect(created.token).toMatch(/^krl_live_[a-z0-9]{32}$/)
    expect(created).toEqual({
      id: expect.any(String),
      project_id: p.id,
      name: 'checkout web',
      prefix: created.token.slice(0, 12),
      primary: false,
      // Lower-cased, the default port dropped, duplicates folded: what browsers send as Origin.
      allowed_origins: ['https://shop.example.com', 'http://localhost:5173'],
      created_at: t.clock.now().toISOString(),
      last_used_at: null,
      expires_at: null,
      revoked_at: null,
      status: 'active',
      token: created.token,
    })
    expect((await ingest(created.token, 'from the named token')).statusCode).toBe(202)
    expect((await ingest(p.ingest_token, 'from the primary')).statusCode).toBe(202)
    expect(await stored(p.id)).toEqual(['from the named token', 'from the primary'])
  })

  it('takes an expiry as expires_at or expires_in, and refuses the token from that instant like an unknown one', async () => {
    const p = await t.project()
    const inOneMinute = await create(p.id, { name: 'short', expires_in: 60 })
    expect(inOneMinute.expires_at).toBe(new Date(t.clock.now().getTime() + 60_000).toISOString())
    const until = new Date(t.clock.now().getTime() + 120_000).toISOString()
    const at = await create(p.id, { name: 'dated', expires_at: until.replace('Z', '+00:00') })
    expect(at.expires_at).toBe(until)
    expect((await ingest(inOneMinute.token, 'in time')).statusCode).toBe(202)
    t.clock.advance(60_000)
    const expired = await ingest(inOneMinute.token, 'too late')
    const unknown = await ingest(`krl_live_${'q'.repeat(32)}`, 'unknown')
    expect(expired.statusCode).toBe(401)
    expect(bodyWithoutId(expired)).toEqual(INVALID_INGEST)
    expect(bodyWithoutId(unknown)).toEqual(INVALID_INGEST)
    expect((await ingest(at.token, 'still in time')).statusCode).toBe(202)
    const listed = await tokensOf(p.id)
    expect(listed.find((k) => k.id === inOneMinute.id)!.status).toBe('expired')
    expect(listed.find((k) => k.id === at.id)!.status).toBe('active')
    expect(await stored(p.id)).toEqual(['in time', 'still in time'])
  })

  it('validates every field, naming it, and says why "*" is refused', async () => {
    const p = await t.project()
    const url = `/logs/projects/${p.id}/tokens`
    const bad: [unknown, string][] = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: 5 }, 'name'],
      [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
      [{ name: 'x', expires_in: 59 }, 'expires_in'],
      [{ name: 'x', expires_in: 1.5 }, 'expires_in'],
      [{ name: 'x', expires_in: '3600' }, 'expires_in'],
      [{ name: 'x', expires_in: 3600, expires_at: '2099-01-01T00:00:00Z' }, 'expires_in'],
      [{ name: 'x', allowed_origins: 'https://a.example' }, 'allowed_origins'],
      [{ name: 'x', allowed_origins: Array.from({ length: 21 }, (_, i) => `https://a${i}.example`) }, 'allowed_origins'],
      [{ name: 'x', owner: 'me' }, 'owner'],
    ]
    for (const [body, field] of bad) expectError(await api('POST', url, body), 400, 'validation_error', field)
    const notOrigins = [
      'https://a.example/',
      'https://a.example/path',
      'https://a.example?x=1',
      'https://a.example#top',
      'ftp://a.example',
      'a.example',
      '//a.example',
      'https://user@a.example',
      'https://a.example:99999',
      'https://',
      'null',
      'https://bücher.example',
      'http://127.1',
      ' https://a.example',
      'https://a.example:8080/x',
      7,
    ]
    for (const origin of notOrigins) {
      const error = expectError(await api('POST', url, { name: 'x', allowed_origins: ['https://fine.example', origin] }), 400, 'validation_error', 'allowed_origins.1')
      expect(error.details![0]!.message, String(origin)).toMatch(/origin/)
    }
    for (const wildcard of ['*', 'https://*.example.com', 'https://*']) {
      const error = expectError(await api('POST', url, { name: 'x', allowed_origins: [wildcard] }), 400, 'validation_error', 'allowed_origins.0')
      expect(error.details![0]!.message).toContain('"*" is not allowed')
    }
    expectError(await api('POST', '/logs/projects/00000000-0000-4000-8000-000000000000/tokens', { name: 'x' }), 404, 'not_found')
    expectError(await api('POST', '/logs/projects/nope/tokens', { name: 'x' }), 400, 'validation_error', 'id')
    // Twenty origins is the most, and IPv6 and ports are origins too.
    const most = await create(p.id, { name: 'many', allowed_origins: [...Array.from({ length: 19 }, (_, i) => `https://a${i}.example`), 'http://[::1]:8080'] })
    expect(most.allowed_origins).toHaveLength(20)
    expect(most.allowed_origins).toContain('http://[::1]:8080')
    expect((await tokensOf(p.id)).map((k) => k.name)).toEqual(['primary', 'many'])
  })
})

describe('GET /logs/projects/:id/tokens', () => {
  it('lists every token, primary included, with prefixes only, oldest first, paged', async () => {
    const p = await t.project()
    const a = await create(p.id, { name: 'a' })
    t.clock.advance(1)
    const b = await create(p.id, { name: 'b', allowed_origins: ['https://b.example'] })
    const res = await api('GET', `/logs/projects/${p.id}/tokens`)
    expect(res.body).not.toContain(a.token)
    expect(res.body).not.toContain(b.token)
    expect(res.body).not.toContain(p.ingest_token)
    expect(res.body).not.toMatch(/token_hash|[0-9a-f]{64}/)
    const listed = res.json().data
    expect(listed.map((k: { name: string; primary: boolean }) => [k.name, k.primary])).toEqual([['primary', true], ['a', false], ['b', false]])
    expect(listed[0].prefix).toBe(p.ingest_token.slice(0, 12))
    expect(listed.every((k: Record<string, unknown>) => !('token' in k))).toBe(true)
    expect(Object.keys(listed[2]).sort()).toEqual(['allowed_origins', 'created_at', 'expires_at', 'id', 'last_used_at', 'name', 'prefix', 'primary', 'project_id', 'revoked_at', 'status'])
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: any = (await api('GET', `/logs/projects/${p.id}/tokens?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()
      seen.push(...page.data.map((k: { id: string }) => k.id))
      cursor = page.cursor
    } while (cursor)
    expect(seen).toEqual(listed.map((k: { id: string }) => k.id))
    expectError(await api('GET', `/logs/projects/${p.id}/tokens?limit=0`), 400, 'validation_error', 'limit')
    expectError(await api('GET', `/logs/projects/${p.id}/tokens?name=a`), 400, 'validation_error', 'name')
    expectError(await api('GET', '/logs/projects/00000000-0000-4000-8000-000000000000/tokens'), 404, 'not_found')
  })

  it('shows when each token was last used, from memory written behind', async () => {
    const p = await t.project()
    const named = await create(p.id, { name: 'used' })
    t.clock.advance(5000)
    expect((await ingest(named.token, 'use 1')).statusCode).toBe(202)
    t.clock.advance(5000)
    expect((await ingest(named.token, 'use 2')).statusCode).toBe(202)
    const listed = await tokensOf(p.id)
    expect(listed.find((k) => k.id === named.id)!.last_used_at).toBe(t.clock.now().toISOString())
    expect(listed.find((k) => k.primary)!.last_used_at).toBeNull()
  })
})

describe('DELETE /logs/projects/:id/tokens/:token_id', () => {
  it('revokes at once: the next request is refused exactly like an unknown token; again is 204', async () => {
    const p = await t.project()
    const doomed = await create(p.id, { name: 'leaked' })
    const kept = await create(p.id, { name: 'kept' })
    expect((await ingest(doomed.token, 'before')).statusCode).toBe(202)
    const revokedAt = t.clock.now().toISOString()
    const res = await api('DELETE', `/logs/projects/${p.id}/tokens/${doomed.id}`)
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    const refused = await ingest(doomed.token, 'after')
    expect(refused.statusCode).toBe(401)
    expect(bodyWithoutId(refused)).toEqual(INVALID_INGEST)
    expect((await ingest(kept.token, 'the other token still works')).statusCode).toBe(202)
    expect((await ingest(p.ingest_token, 'and the primary')).statusCode).toBe(202)
    t.clock.advance(1000)
    expect((await api('DELETE', `/logs/projects/${p.id}/tokens/${doomed.id}`)).statusCode).toBe(204)
    expect((await tokensOf(p.id)).find((k) => k.id === doomed.id)).toMatchObject({ status: 'revoked', revoked_at: revokedAt })
    expect(await stored(p.id)).toEqual(['before', 'the other token still works', 'and the primary'])
  })

  it('answers 404 for an unknown token or another project\'s, and 400 for a malformed id', async () => {
    const p = await t.project()
    const q = await t.project()
    const theirs = await create(q.id, { name: 'theirs' })
    expectError(await api('DELETE', `/logs/projects/${p.id}/tokens/${theirs.id}`), 404, 'not_found')
    expectError(await api('DELETE', `/logs/projects/${p.id}/tokens/00000000-0000-4000-8000-000000000000`), 404, 'not_found')
    expectError(await api('DELETE', `/logs/projects/${p.id}/tokens/nope`), 400, 'validation_error', 'token_id')
    expectError(await api('DELETE', `/logs/projects/00000000-0000-4000-8000-000000000000/tokens/${theirs.id}`), 404, 'not_found')
    expect((await ingest(theirs.token, 'untouched')).statusCode).toBe(202)
  })
})

describe('rotate_token keeps its meaning for the primary token', () => {
  it('replaces only the primary; named tokens keep working, with or without a grace period', async () => {
    const p = await t.project()
    const named = await create(p.id, { name: 'service-a' })
    t.clock.advance(1)
    const rotated = await api('POST', `/logs/projects/${p.id}/rotate_token`)
    expect(rotated.statusCode).toBe(200)
    const second = rotated.json().data.ingest_token as string
    expect((await ingest(p.ingest_token, 'old primary')).statusCode).toBe(401)
    expect((await ingest(second, 'new primary')).statusCode).toBe(202)
    expect((await ingest(named.token, 'named after rotation')).statusCode).toBe(202)

    t.clock.advance(1)
    const graced = await api('POST', `/logs/projects/${p.id}/rotate_token`, { grace_seconds: 60 })
    const third = graced.json().data.ingest_token as string
    expect(graced.json().data.ingest_token_prefix).toBe(third.slice(0, 12))
    expect((await ingest(second, 'in grace')).statusCode).toBe(202)
    t.clock.advance(60_000)
    expect((await ingest(second, 'grace over')).statusCode).toBe(401)
    expect((await ingest(third, 'third primary')).statusCode).toBe(202)
    expect((await ingest(named.token, 'named never expires')).statusCode).toBe(202)

    const listed = await tokensOf(p.id)
    expect(listed.map((k) => [k.name, k.primary, k.status])).toEqual([
      ['primary', false, 'revoked'],
      ['service-a', false, 'active'],
      ['primary', false, 'expired'],
      ['primary', true, 'active'],
    ])
    expect(listed.find((k) => k.primary)!.prefix).toBe(third.slice(0, 12))
    expect(await stored(p.id)).toEqual(['new primary', 'named after rotation', 'in grace', 'third primary', 'named never expires'])
  })

  it('a revoked primary leaves the project without one until the next rotation', async () => {
    const p = await t.project()
    const primary = (await tokensOf(p.id)).find((k) => k.primary)!
    expect((await api('DELETE', `/logs/projects/${p.id}/tokens/${primary.id}`)).statusCode).toBe(204)
    expect((await ingest(p.ingest_token, 'revoked primary')).statusCode).toBe(401)
    t.clock.advance(1)
    const next = (await api('POST', `/logs/projects/${p.id}/rotate_token`)).json().data.ingest_token
    expect((await ingest(next, 'next primary')).statusCode).toBe(202)
  })
})

describe('deleting a project', () => {
  it('revokes every token of it, named ones included', async () => {
    const p = await t.project()
    const named = await create(p.id, { name: 'n', allowed_origins: ['https://gone.example'] })
    expect((await api('DELETE', `/logs/projects/${p.id}`)).statusCode).toBe(204)
    expect(bodyWithoutId(await ingest(named.token, 'after delete'))).toEqual(INVALID_INGEST)
    expect(bodyWithoutId(await ingest(p.ingest_token, 'after delete'))).toEqual(INVALID_INGEST)
    const preflight = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/logs/ingest', headers: { origin: 'https://gone.example', 'access-control-request-method': 'POST' } })
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('audit', () => {
  it('records ingest_token.create and ingest_token.revoke with who and what, never the token', async () => {
    const p = await t.project()
    const created = await api('POST', `/logs/projects/${p.id}/tokens`, { name: 'audited', allowed_origins: ['https://a.example'] }, { ...bearer(t.teamKey), 'x-request-id': 'token-create-1' })
    const token = created.json().data
    await api('DELETE', `/logs/projects/${p.id}/tokens/${token.id}`)
    const entries = (await api('GET', '/audit-logs?limit=500')).json().data as Record<string, any>[]
    const mine = entries.filter((e) => e.target_id === token.id)
    expect(mine.map((e) => e.action)).toEqual(['ingest_token.revoke', 'ingest_token.create'])
    expect(mine[1]).toMatchObject({
      actor: t.teamKey.slice(0, 12),
      target_type: 'ingest_token',
      request_id: 'token-create-1',
      details: { project_id: p.id, name: 'audited', prefix: token.prefix, expires_at: null, allowed_origins: ['https://a.example'] },
    })
    expect(mine[0]!.details).toEqual({ project_id: p.id, name: 'audited', prefix: token.prefix })
    expect(JSON.stringify(entries)).not.toContain(token.token)
    const filtered = (await api('GET', '/audit-logs?action=ingest_token.create')).json().data
    expect(filtered.length).toBeGreaterThan(0)
    expect(t.logs()).not.toContain(token.token)
  })
})

describe('scopes', () => {
  it('lists with logs:read, creates and revokes with logs:write only', async () => {
    const p = await t.project()
    const reader = bearer(t.keyWith(['logs:read']))
    const writer = bearer(t.keyWith(['logs:write']))
    expect((await api('GET', `/logs/projects/${p.id}/tokens`, undefined, reader)).statusCode).toBe(200)
    expectError(await api('POST', `/logs/projects/${p.id}/tokens`, { name: 'x' }, reader), 403, 'forbidden')
    const made = await api('POST', `/logs/projects/${p.id}/tokens`, { name: 'x' }, writer)
    expect(made.statusCode).toBe(201)
    expectError(await api('GET', `/logs/projects/${p.id}/tokens`, undefined, writer), 403, 'forbidden')
    expectError(await api('DELETE', `/logs/projects/${p.id}/tokens/${made.json().data.id}`, undefined, reader), 403, 'forbidden')
    expect((await api('DELETE', `/logs/projects/${p.id}/tokens/${made.json().data.id}`, undefined, writer)).statusCode).toBe(204)
    // An ingest token manages nothing, not even its own project's tokens.
    expect(expectError(await api('GET', `/logs/projects/${p.id}/tokens`, undefined, bearer(p.ingest_token)), 401, 'unauthorized').message).toContain('team API key')
  })
})
