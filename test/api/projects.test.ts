import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countProjectEntries } from '../../src/logs/entries.js'
import { findProjectByIngestToken } from '../../src/meta/projects.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ config: { server: { body_limit_mb: 1 } } })
})
afterAll(async () => {
  await t?.close()
})

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, token = t.teamKey) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(body === undefined ? {} : { payload: body as object }) })

const create = async (body: Record<string, unknown>) => {
  const res = await call('POST', '/logs/projects', body)
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: string; name: string; ingest_token: string; ingest_token_prefix: string }
}

const expectError = (res: { statusCode: number; json: () => any; headers: Record<string, unknown> }, status: number, code: string, field?: string) => {
  expect(res.statusCode).toBe(status)
  const body = res.json()
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(body.request_id).toMatch(/^req_/)
  expect(res.headers['x-request-id']).toBe(body.request_id)
  if (field) expect(body.error.details.map((d: { field: string }) => d.field)).toContain(field)
  return body
}

describe('POST /logs/projects', () => {
  it('creates a project with defaults and shows the ingest token once', async () => {
    const res = await call('POST', '/logs/projects', { name: 'My App', description: 'Production logs' })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body.request_id).toMatch(/^req_/)
    expect(res.headers['x-request-id']).toBe(body.request_id)
    const p = body.data
    expect(p).toMatchObject({ name: 'My App', description: 'Production logs', retention_days: 7, daily_limit_mb: 500 })
    expect(p.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(p.ingest_token).toMatch(/^krl_live_[a-z0-9]{32}$/)
    expect(p.ingest_token_prefix).toBe(p.ingest_token.slice(0, 12))
    expect(p.created_at).toBe(p.updated_at)
    expect(p.team_id).toBeUndefined()

    const got = await call('GET', `/logs/projects/${p.id}`)
    expect(got.json().data.ingest_token).toBeUndefined()
    expect(got.json().data.ingest_token_prefix).toBe(p.ingest_token_prefix)
    // Stored as a hash only: the token itself is nowhere in the metadata database.
    const rows = t.meta.prepare('SELECT * FROM ingest_tokens WHERE project_id = ?').all(p.id)
    expect(JSON.stringify(rows)).not.toContain(p.ingest_token)
  })

  it('refuses a taken name with 409, case-insensitively', async () => {
    await create({ name: 'Taken' })
    expectError(await call('POST', '/logs/projects', { name: 'Taken' }), 409, 'conflict', 'name')
    expectError(await call('POST', '/logs/projects', { name: 'tAKEN' }), 409, 'conflict', 'name')
  })

  it.each([
    [{}, 'name'],
    [{ name: '' }, 'name'],
    [{ name: '   ' }, 'name'],
    [{ name: 'x'.repeat(101) }, 'name'],
    [{ name: 42 }, 'name'],
    [{ name: 'a', retention_days: 0 }, 'retention_days'],
    [{ name: 'a', retention_days: 91 }, 'retention_days'],
    [{ name: 'a', retention_days: 1.5 }, 'retention_days'],
    [{ name: 'a', retention_days: '7' }, 'retention_days'],
    [{ name: 'a', daily_limit_mb: 0 }, 'daily_limit_mb'],
    [{ name: 'a', daily_limit_mb: -5 }, 'daily_limit_mb'],
    [{ name: 'a', owner: 'me' }, 'owner'],
    [{ name: 'a', __proto__x: 1 }, '__proto__x'],
  ])('rejects %j naming %s', async (body, field) => {
    expectError(await call('POST', '/logs/projects', body), 400, 'validation_error', field)
  })

  it('accepts the boundaries 1 and 90 days and 100-char names', async () => {
    const a = await create({ name: 'n'.repeat(100), retention_days: 1, daily_limit_mb: 1 })
    const b = await create({ name: 'ninety', retention_days: 90 })
    expect(a.name).toHaveLength(100)
    expect(b).toMatchObject({ retention_days: 90 })
  })

  it('answers malformed, empty, wrongly typed and oversized bodies with the envelope', async () => {
    const raw = (payload: string, contentType: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/logs/projects', headers: { ...bearer(t.teamKey), 'content-type': contentType }, payload })
    expectError(await raw('{"name": "x",', 'application/json'), 400, 'validation_error', 'body')
    expectError(await raw('', 'application/json'), 400, 'validation_error', 'body')
    expectError(await raw('[1,2]', 'application/json'), 400, 'validation_error')
    expectError(await raw('{"__proto__": {"x": 1}, "name": "p"}', 'application/json'), 400, 'validation_error')
    expectError(await raw('name=x', 'text/plain'), 415, 'unsupported_media_type')
    expectError(await raw(JSON.stringify({ name: 'big', description: 'x'.repeat(2 * 1024 * 1024) }), 'application/json'), 413, 'payload_too_large')
  })
})

describe('GET /logs/projects', () => {
  it('pages with a cursor, without gaps or repeats', async () => {
    for (let i = 0; i < 5; i++) await create({ name: `page-${i}` })
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await call('GET', `/logs/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode).toBe(200)
      const body = res.json()
      expect(body.data.length).toBeLessThanOrEqual(2)
      expect(typeof body.has_more).toBe('boolean')
      seen.push(...body.data.map((p: { id: string }) => p.id))
      cursor = body.cursor
      expect(body.has_more).toBe(cursor !== null)
      pages++
    } while (cursor)
    const all = (await call('GET', '/logs/projects?limit=100')).json()
    expect(all.has_more).toBe(false)
    expect(all.cursor).toBeNull()
    expect(seen).toEqual(all.data.map((p: { id: string }) => p.id))
    expect(new Set(seen).size).toBe(seen.length)
    expect(pages).toBe(Math.ceil(seen.length / 2))
  })

  it('validates the query', async () => {
    expectError(await call('GET', '/logs/projects?limit=0'), 400, 'validation_error', 'limit')
    expectError(await call('GET', '/logs/projects?limit=101'), 400, 'validation_error', 'limit')
    expectError(await call('GET', '/logs/projects?limit=abc'), 400, 'validation_error', 'limit')
    expectError(await call('GET', '/logs/projects?sort=name'), 400, 'validation_error', 'sort')
    expectError(await call('GET', '/logs/projects?cursor=not-a-cursor'), 400, 'validation_error', 'cursor')
  })
})

describe('GET/PUT /logs/projects/:id', () => {
  it('returns 404 for an unknown id and 400 for a malformed one', async () => {
    expectError(await call('GET', '/logs/projects/00000000-0000-4000-8000-000000000000'), 404, 'not_found')
    expectError(await call('GET', '/logs/projects/not-a-uuid'), 400, 'validation_error', 'id')
    expectError(await call('PUT', '/logs/projects/00000000-0000-4000-8000-000000000000', { name: 'x' }), 404, 'not_found')
  })

  it('updates only the given fields', async () => {
    const p = await create({ name: 'partial', description: 'keep me', retention_days: 30 })
    t.clock.advance(1000)
    const res = await call('PUT', `/logs/projects/${p.id}`, { retention_days: 90 })
    expect(res.statusCode).toBe(200)
    const updated = res.json().data
    expect(updated).toMatchObject({ name: 'partial', description: 'keep me', retention_days: 90, daily_limit_mb: 500 })
    expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(updated.created_at))
    const cleared = (await call('PUT', `/logs/projects/${p.id}`, { description: null })).json().data
    expect(cleared.description).toBeNull()
    expect(cleared.retention_days).toBe(90)
  })

  it('validates updates and keeps names unique', async () => {
    const p = await create({ name: 'upd-a' })
    await create({ name: 'upd-b' })
    expectError(await call('PUT', `/logs/projects/${p.id}`, { name: 'upd-b' }), 409, 'conflict', 'name')
    expectError(await call('PUT', `/logs/projects/${p.id}`, { retention_days: 100 }), 400, 'validation_error', 'retention_days')
    expectError(await call('PUT', `/logs/projects/${p.id}`, { ingest_token: 'x' }), 400, 'validation_error', 'ingest_token')
    expect((await call('GET', `/logs/projects/${p.id}`)).json().data.name).toBe('upd-a')
  })
})

describe('POST /logs/projects/:id/rotate_token', () => {
  it('kills the old token at once and returns the new one', async () => {
    const p = await create({ name: 'rotate' })
    expect(findProjectByIngestToken(t.meta, p.ingest_token, t.clock.now())?.id).toBe(p.id)
    const res = await call('POST', `/logs/projects/${p.id}/rotate_token`)
    expect(res.statusCode).toBe(200)
    const rotated = res.json().data
    expect(rotated.ingest_token).toMatch(/^krl_live_[a-z0-9]{32}$/)
    expect(rotated.ingest_token).not.toBe(p.ingest_token)
    expect(rotated.ingest_token_prefix).toBe(rotated.ingest_token.slice(0, 12))
    expect(findProjectByIngestToken(t.meta, p.ingest_token, t.clock.now())).toBeUndefined()
    expect(findProjectByIngestToken(t.meta, rotated.ingest_token, t.clock.now())?.id).toBe(p.id)
  })

  it('keeps the old token for grace_seconds when asked', async () => {
    const p = await create({ name: 'grace' })
    const res = await call('POST', `/logs/projects/${p.id}/rotate_token`, { grace_seconds: 60 })
    const rotated = res.json().data
    expect(findProjectByIngestToken(t.meta, p.ingest_token, t.clock.now())?.id).toBe(p.id)
    expect(findProjectByIngestToken(t.meta, rotated.ingest_token, t.clock.now())?.id).toBe(p.id)
    t.clock.advance(61_000)
    expect(findProjectByIngestToken(t.meta, p.ingest_token, t.clock.now())).toBeUndefined()
    expect(findProjectByIngestToken(t.meta, rotated.ingest_token, t.clock.now())?.id).toBe(p.id)
  })

  it('validates grace_seconds and the project', async () => {
    const p = await create({ name: 'grace-bad' })
    expectError(await call('POST', `/logs/projects/${p.id}/rotate_token`, { grace_seconds: 86_401 }), 400, 'validation_error', 'grace_seconds')
    expectError(await call('POST', `/logs/projects/${p.id}/rotate_token`, { grace_seconds: -1 }), 400, 'validation_error', 'grace_seconds')
    expectError(await call('POST', `/logs/projects/${p.id}/rotate_token`, { grace: 5 }), 400, 'validation_error', 'grace')
    expectError(await call('POST', '/logs/projects/00000000-0000-4000-8000-000000000000/rotate_token'), 404, 'not_found')
    expect(findProjectByIngestToken(t.meta, p.ingest_token, t.clock.now())?.id).toBe(p.id)
  })
})

describe('streams and usage', () => {
  it('lists no streams before any ingest and usage with zeros and the limit', async () => {
    const p = await create({ name: 'usage', daily_limit_mb: 2 })
    const streams = await call('GET', `/logs/projects/${p.id}/streams`)
    expect(streams.statusCode).toBe(200)
    expect(streams.json().data).toEqual([])
    const usage = await call('GET', `/logs/projects/${p.id}/usage?days=3`)
    expect(usage.statusCode).toBe(200)
    const u = usage.json().data
    expect(u).toMatchObject({ project_id: p.id, daily_limit_mb: 2, daily_limit_bytes: 2 * 1024 * 1024 })
    expect(u.days).toHaveLength(3)
    expect(u.today).toMatchObject({ date: t.clock.now().toISOString().slice(0, 10), bytes_in: 0, entries: 0, percent_of_limit: 0 })
    expectError(await call('GET', `/logs/projects/${p.id}/usage?days=0`), 400, 'validation_error', 'days')
    expectError(await call('GET', '/logs/projects/00000000-0000-4000-8000-000000000000/streams'), 404, 'not_found')
  })

  it('shows recorded usage per UTC day', async () => {
    const p = await create({ name: 'usage-recorded', daily_limit_mb: 1 })
    const today = t.clock.now().toISOString().slice(0, 10)
    t.meta.prepare('INSERT INTO usage_daily (project_id, day, bytes_in, entries) VALUES (?, ?, ?, ?)').run(p.id, today, 524_288, 10)
    const u = (await call('GET', `/logs/projects/${p.id}/usage`)).json().data
    expect(u.today).toMatchObject({ bytes_in: 524_288, entries: 10, percent_of_limit: 50 })
    expect(u.days).toHaveLength(7)
  })
})

describe('DELETE /logs/projects/:id', () => {
  it('deletes the project, its entries, streams and usage, and only those', async () => {
    const doomed = await create({ name: 'doomed' })
    const kept = await create({ name: 'kept' })
    const row = (projectId: string, message: string) => ({
      project_id: projectId,
      timestamp: '2026-11-27 10:00:00.000000',
      id: `${projectId}-${message}`,
      level: 'info',
      service: 'api',
      stream: 'default',
      message,
      trace_id: '',
      span_id: '',
      metadata: {},
      received_at: '2026-11-27 10:00:00.000000',
    })
    await t.engine.client.insert({
      table: `${t.engine.database}.log_entries`,
      values: [row(doomed.id, 'a'), row(doomed.id, 'b'), row(kept.id, 'c')],
      format: 'JSONEachRow',
    })
    t.meta.prepare("INSERT INTO streams (id, project_id, name, inserted_at) VALUES ('s1', ?, 'default', 'x')").run(doomed.id)
    t.meta.prepare("INSERT INTO usage_daily (project_id, day, bytes_in, entries) VALUES (?, '2026-11-27', 5, 2)").run(doomed.id)
    expect(await countProjectEntries(t.engine, doomed.id)).toBe(2)

    const res = await call('DELETE', `/logs/projects/${doomed.id}`)
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect(res.headers['x-request-id']).toMatch(/^req_/)

    expect(await countProjectEntries(t.engine, doomed.id)).toBe(0)
    expect(await countProjectEntries(t.engine, kept.id)).toBe(1)
    expect(t.meta.prepare('SELECT count(*) AS n FROM streams WHERE project_id = ?').get(doomed.id)).toEqual({ n: 0 })
    expect(t.meta.prepare('SELECT count(*) AS n FROM usage_daily WHERE project_id = ?').get(doomed.id)).toEqual({ n: 0 })
    expect(findProjectByIngestToken(t.meta, doomed.ingest_token, t.clock.now())).toBeUndefined()
    expectError(await call('GET', `/logs/projects/${doomed.id}`), 404, 'not_found')
    expectError(await call('DELETE', `/logs/projects/${doomed.id}`), 404, 'not_found')
    expect((await call('GET', `/logs/projects/${kept.id}`)).statusCode).toBe(200)
  })
})

describe('authentication and scopes', () => {
  it('accepts a team key as Bearer, X-API-KEY and ?api_key', async () => {
    const url = '/api/v1/logs/projects'
    expect((await t.app.inject({ url, headers: { authorization: `Bearer ${t.teamKey}` } })).statusCode).toBe(200)
    expect((await t.app.inject({ url, headers: { 'x-api-key': t.teamKey } })).statusCode).toBe(200)
    expect((await t.app.inject({ url: `${url}?api_key=${t.teamKey}&limit=1` })).statusCode).toBe(200)
  })

  it('refuses missing, unknown, malformed, expired and revoked keys alike', async () => {
    const url = '/api/v1/logs/projects'
    expectError(await t.app.inject({ url }), 401, 'unauthorized')
    const unknown = expectError(await t.app.inject({ url, headers: bearer('kr_live_' + 'a'.repeat(32)) }), 401, 'unauthorized')
    const garbage = expectError(await t.app.inject({ url, headers: bearer('hello') }), 401, 'unauthorized')
    expectError(await t.app.inject({ url, headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'unauthorized')
    const expiredKey = t.keyWith(['logs:read'], { expiresAt: new Date(t.clock.now().getTime() - 1000).toISOString() })
    const expired = expectError(await t.app.inject({ url, headers: bearer(expiredKey) }), 401, 'unauthorized')
    const revokedKey = t.keyWith(['logs:read'])
    expect((await t.app.inject({ url, headers: bearer(revokedKey) })).statusCode).toBe(200)
    t.meta.prepare("UPDATE api_keys SET revoked_at = '2026-01-01T00:00:00Z' WHERE prefix = ?").run(revokedKey.slice(0, 12))
    const revoked = expectError(await t.app.inject({ url, headers: bearer(revokedKey) }), 401, 'unauthorized')
    expect(new Set([unknown.error.message, garbage.error.message, expired.error.message, revoked.error.message]).size).toBe(1)
  })

  it('refuses an ingest token on management routes, saying which token is needed', async () => {
    const p = await create({ name: 'wrong-kind' })
    const body = expectError(await call('GET', '/logs/projects', undefined, p.ingest_token), 401, 'unauthorized')
    expect(body.error.message).toContain('team API key')
    expect(body.error.message).toContain('kr_live_')
  })

  it('enforces logs:read and logs:write', async () => {
    const readOnly = t.keyWith(['logs:read'])
    const writeOnly = t.keyWith(['logs:write'])
    expect((await call('GET', '/logs/projects', undefined, readOnly)).statusCode).toBe(200)
    const denied = expectError(await call('POST', '/logs/projects', { name: 'ro' }, readOnly), 403, 'forbidden')
    expect(denied.error.message).toContain('logs:write')
    expectError(await call('GET', '/logs/projects', undefined, writeOnly), 403, 'forbidden')
    expect((await call('POST', '/logs/projects', { name: 'wo' }, writeOnly)).statusCode).toBe(201)
    const p = await create({ name: 'ro-target' })
    expectError(await call('DELETE', `/logs/projects/${p.id}`, undefined, readOnly), 403, 'forbidden')
    expectError(await call('POST', `/logs/projects/${p.id}/rotate_token`, undefined, readOnly), 403, 'forbidden')
  })

  it('limits keys to their projects', async () => {
    const mine = await create({ name: 'mine' })
    const other = await create({ name: 'other' })
    const limited = t.keyWith(['logs:read', 'logs:write'], { projectIds: [mine.id] })
    const list = (await call('GET', '/logs/projects', undefined, limited)).json()
    expect(list.data.map((p: { id: string }) => p.id)).toEqual([mine.id])
    expect((await call('GET', `/logs/projects/${mine.id}`, undefined, limited)).statusCode).toBe(200)
    const a = expectError(await call('GET', `/logs/projects/${other.id}`, undefined, limited), 403, 'forbidden')
    const b = expectError(await call('GET', '/logs/projects/00000000-0000-4000-8000-000000000000', undefined, limited), 403, 'forbidden')
    expect(a.error.message).toBe(b.error.message)
    expectError(await call('DELETE', `/logs/projects/${other.id}`, undefined, limited), 403, 'forbidden')
    expectError(await call('POST', '/logs/projects', { name: 'escape' }, limited), 403, 'forbidden')
  })
})

describe('envelope, request ids, health and logs', () => {
  it('reuses a well-formed X-Request-Id and replaces a bad one', async () => {
    const good = await t.app.inject({ url: '/api/v1/logs/projects', headers: { ...bearer(t.teamKey), 'x-request-id': 'trace-abc.123_X' } })
    expect(good.headers['x-request-id']).toBe('trace-abc.123_X')
    expect(good.json().request_id).toBe('trace-abc.123_X')
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon']) {
      const res = await t.app.inject({ url: '/api/v1/logs/projects', headers: { ...bearer(t.teamKey), 'x-request-id': bad } })
      expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]{24}$/)
    }
  })

  it('answers unknown routes and methods with a 404 envelope', async () => {
    expectError(await t.app.inject({ url: '/api/v1/nope', headers: bearer(t.teamKey) }), 404, 'not_found')
    expectError(await t.app.inject({ method: 'PATCH', url: '/api/v1/logs/projects', headers: bearer(t.teamKey) }), 404, 'not_found')
  })

  it('serves /healthz without auth', async () => {
    for (const url of ['/healthz', '/api/v1/healthz']) {
      const res = await t.app.inject({ url })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ status: 'ok', engine: { mode: 'embedded', ok: true }, version: expect.any(String) })
      expect(res.json().engine.version).toMatch(/^\d+\.\d+/)
    }
  })

  it('never writes a token to the logs', async () => {
    const p = await create({ name: 'log-redaction' })
    await t.app.inject({ url: `/api/v1/logs/projects?api_key=${t.teamKey}` })
    await t.app.inject({ url: '/api/v1/logs/projects', headers: { 'x-api-key': t.teamKey } })
    await t.app.inject({ url: '/api/v1/logs/projects', headers: bearer(p.ingest_token) })
    await t.app.inject({ url: `/api/v1/logs/projects?api_key=${p.ingest_token}` })
    const logs = t.logs()
    expect(logs).toContain('[redacted]')
    expect(logs).toContain('"msg":"request"')
    expect(logs).not.toContain(t.teamKey)
    expect(logs).not.toContain(p.ingest_token)
    expect(logs).not.toMatch(/krl?_live_[a-z0-9]{32}/)
  })

  it('never shows a stack trace or SQL in an error body', async () => {
    const res = await call('POST', '/logs/projects', { name: "'; DROP TABLE projects; --" })
    expect(res.statusCode).toBe(201)
    const weird = await call('GET', "/logs/projects/' OR 1=1 --")
    expect(weird.statusCode).toBe(400)
    expect(weird.body).not.toMatch(/at .*\.ts:\d+|SELECT|sqlite/i)
    expect((await call('GET', '/logs/projects')).statusCode).toBe(200)
  })
})
