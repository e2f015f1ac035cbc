import { createHash, randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { findStreamByHash } from '../../src/meta/anonymous-streams.js'
import { insertProject } from '../../src/meta/projects.js'
import { createTeam } from '../../src/meta/teams.js'
import { cleanupStreams } from '../../src/streams/cleanup.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

/*
 * Anonymous streams (API.md "Anonymous streams") through the real app and the real embedded
 * engine. Caps are set low here so each can be reached; the rate limit's bucket never refills
 * (the test clock stands still), so every test that sends much uses an address of its own.
 */

const MAX_EVENTS = 250
const MAX_MB = 1
const BURST = 120

let t: TestApp
let project: { id: string; name: string; ingest_token: string }
beforeAll(async () => {
  t = await createTestApp({
    config: { anonymous_streams: { max_events: MAX_EVENTS, max_mb: MAX_MB, lifetime_hours: 24, rate_per_minute: 60, burst: BURST, keep_finished_days: 30 } },
  })
  project = await t.project({ name: 'claims' })
})
afterAll(async () => t?.close())
afterEach(() => {
  t.clock.reset()
  t.config.anonymous_streams.enabled = true
})

let addressCounter = 0
/** A client address no other test used (each has a full rate-limit bucket). */
const freshAddress = () => `10.1.${Math.floor(++addressCounter / 250)}.${addressCounter % 250}`
const newToken = () => randomBytes(24).toString('base64url') // 32 chars of [A-Za-z0-9_-]
const sha = (token: string) => createHash('sha256').update(token).digest('hex')
const streamName = (token: string) => `anonymous-${sha(token).slice(0, 12)}`

type Body = object | object[] | string
const send = (token: string, body: Body, options: { contentType?: string; address?: string } = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/streams/${token}/events`,
    headers: { 'content-type': options.contentType ?? (typeof body === 'string' ? 'application/x-ndjson' : 'application/json') },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    remoteAddress: options.address ?? '10.0.0.1',
  })
const ndjson = (entries: object[]) => entries.map((e) => JSON.stringify(e)).join('\n')
const info = (token: string, address = '10.0.0.2') => t.app.inject({ method: 'GET', url: `/api/v1/streams/${token}/info`, remoteAddress: address })
const claim = (token: string, projectId: string, key = t.teamKey) =>
  t.app.inject({ method: 'POST', url: '/api/v1/streams/claim', headers: bearer(key), payload: { token, project_id: projectId } })
const sourceRows = async (token: string) => {
  const row = findStreamByHash(t.meta, sha(token))!
  const [r] = await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID}', { p: row.id })
  return Number(r!.n)
}
const projectRows = (projectId: string, stream: string) =>
  t.rows<{ id: string; message: string; timestamp: string; stream: string; level: string; metadata: Record<string, unknown> }>(
    'SELECT id, message, toString(timestamp) AS timestamp, stream, level, metadata FROM krafter.log_entries WHERE project_id = {p:UUID} AND stream = {s:String} ORDER BY message',
    { p: projectId, s: stream },
  )
const cleanup = () => cleanupStreams({ meta: t.meta, engine: t.engine, clock: t.clock.now, config: t.config, ...t.app.anonymousStreams })

describe('sending to an anonymous stream', () => {
  it('creates the stream on its first event, answers like batch ingest, and info shows counts, never events', async () => {
    const token = newToken()
    expect((await info(token)).statusCode).toBe(404)
    const res = await send(token, ndjson([{ message: 'first', level: 'warn' }, { message: 'second' }, { level: 'info' }, { message: 'third' }]))
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json().data).toEqual({ accepted: 3, rejected: 1, errors: [{ line: 3, field: 'message', message: 'is required and must be a string' }] })
    expect(res.headers['x-request-id']).toBe(res.json().request_id)

    const answer = await info(token)
    expect(answer.statusCode).toBe(200)
    const data = answer.json().data
    expect(Object.keys(data).sort()).toEqual(['bytes', 'created_at', 'event_count', 'expires_at', 'status'])
    expect(data.status).toBe('active')
    expect(data.event_count).toBe(3)
    // bytes_in: message + stream (the anonymous-… name) per entry.
    expect(data.bytes).toBe('firstsecondthird'.length + 3 * streamName(token).length)
    expect(Date.parse(data.expires_at) - Date.parse(data.created_at)).toBe(24 * 3_600_000)
    expect(answer.body).not.toContain('first')
    expect(await sourceRows(token)).toBe(3)
  })

  it('takes one JSON object (a 400 names the field at fault), a JSON array, pretty-printed JSON and NDJSON sent as application/json', async () => {
    const token = newToken()
    expect((await send(token, { message: 'one' })).json().data).toEqual({ accepted: 1, rejected: 0 })
    const bad = await send(token, { message: 'x', level: 'info', metadata: 'nope' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error).toMatchObject({ code: 'validation_error', details: [{ field: 'metadata', message: 'must be a JSON object' }] })
    expect((await send(token, [{ message: 'two' }, { message: 'three' }])).json().data).toEqual({ accepted: 2, rejected: 0 })
    expect((await send(token, JSON.stringify({ message: 'four' }, null, 2), { contentType: 'application/json' })).json().data).toEqual({ accepted: 1, rejected: 0 })
    expect((await send(token, ndjson([{ message: 'five' }, { message: 'six' }]), { contentType: 'application/json' })).json().data).toEqual({ accepted: 2, rejected: 0 })
    expect((await info(token)).json().data.event_count).toBe(6)
  })

  it('refuses a token that is not 22–64 characters of [A-Za-z0-9_-], naming the token', async () => {
    for (const token of ['a'.repeat(21), 'b'.repeat(65), `${'c'.repeat(30)}.x`, `${'d'.repeat(30)}%20`]) {
      for (const res of [await send(token, { message: 'x' }), await info(token)]) {
        expect(res.statusCode, token).toBe(400)
        expect(res.json().error.code).toBe('validation_error')
        expect(res.json().error.details[0].field).toBe('token')
      }
    }
    expect((await send('e'.repeat(22), { message: 'shortest' })).statusCode).toBe(202)
    expect((await send('F_-9'.repeat(16), { message: 'longest' })).statusCode).toBe(202)
  })

  it('takes at most 100 entries a request (413), as NDJSON or as an array', async () => {
    const token = newToken()
    const entries = Array.from({ length: 101 }, (_, i) => ({ message: `m${i}` }))
    for (const res of [await send(token, ndjson(entries)), await send(token, entries)]) {
      expect(res.statusCode).toBe(413)
      expect(res.json().error).toMatchObject({ code: 'payload_too_large', message: 'A batch takes at most 100 entries' })
    }
    expect((await send(token, ndjson(entries.slice(0, 100)))).json().data.accepted).toBe(100)
  })

  it('keeps every event in the stream named after the token hash; a stream the entry named stays as metadata.original_stream; built-in redaction applies', async () => {
    const token = newToken()
    await send(token, [{ message: 'plain' }, { message: 'named', stream: 'checkout', metadata: { password: 'hunter2' } }])
    const row = findStreamByHash(t.meta, sha(token))!
    const rows = await t.rows<{ stream: string; message: string; metadata: Record<string, unknown> }>(
      'SELECT stream, message, metadata FROM krafter.log_entries WHERE project_id = {p:UUID} ORDER BY message',
      { p: row.id },
    )
    expect(rows.map((r) => r.stream)).toEqual([streamName(token), streamName(token)])
    expect(rows[0]!.metadata).toEqual({ original_stream: 'checkout', password: '[REDACTED:secret_fields]' })
    expect(rows[1]!.metadata).toEqual({})
    expect(JSON.stringify(rows)).not.toContain(token)
  })
})

describe('caps and limits', () => {
  it(`refuses a request that would take the stream over ${MAX_EVENTS} events with 429 naming the cap; nothing of it is stored`, async () => {
    const token = newToken()
    const address = freshAddress()
    const batch = (n: number, tag: string) => ndjson(Array.from({ length: n }, (_, i) => ({ message: `${tag}-${i}` })))
    for (const [n, tag] of [[100, 'a'], [100, 'b'], [40, 'c']] as const) expect((await send(token, batch(n, tag), { address })).statusCode).toBe(202)
    const over = await send(token, batch(11, 'd'), { address })
    expect(over.statusCode).toBe(429)
    expect(over.json().error.code).toBe('rate_limited')
    expect(over.json().error.message).toMatch(new RegExp(`at most ${MAX_EVENTS} events \\(it has 240, this request 11\\)`))
    // Waiting does not help a full stream: no Retry-After.
    expect(over.headers['retry-after']).toBeUndefined()
    expect((await send(token, batch(10, 'e'), { address })).statusCode).toBe(202)
    expect((await send(token, { message: 'one more' }, { address })).statusCode).toBe(429)
    expect((await info(token)).json().data.event_count).toBe(MAX_EVENTS)
    expect(await sourceRows(token)).toBe(MAX_EVENTS)
  })

  it(`refuses a request that would take the stream over ${MAX_MB} MiB with 429 naming the cap`, async () => {
    const token = newToken()
    const address = freshAddress()
    const big = (tag: string) => ({ message: `${tag}`.padEnd(200_000, 'x') })
    for (const tag of ['a', 'b', 'c', 'd', 'e']) expect((await send(token, big(tag), { address })).statusCode).toBe(202)
    const over = await send(token, big('f'), { address })
    expect(over.statusCode).toBe(429)
    expect(over.json().error.message).toMatch(/at most 1 MiB of entries/)
    const data = (await info(token)).json().data
    expect(data.event_count).toBe(5)
    expect(data.bytes).toBe(5 * (200_000 + streamName(token).length))
  })

  it('limits requests per client address (429 with Retry-After), whatever the token, and only that address', async () => {
    const address = freshAddress()
    for (let i = 0; i < BURST; i++) {
      const res = i % 2 === 0 ? await send(newToken(), { message: `r${i}` }, { address }) : await info(newToken(), address)
      expect(res.statusCode, `request ${i}`).not.toBe(429)
    }
    for (const res of [await send(newToken(), { message: 'over' }, { address }), await info(newToken(), address)]) {
      expect(res.statusCode).toBe(429)
      expect(res.json().error.message).toMatch(/Too many anonymous stream requests from this address; retry in \d+ s/)
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
    expect((await send(newToken(), { message: 'elsewhere' }, { address: freshAddress() })).statusCode).toBe(202)
    // The bucket refills with time (rate_per_minute: 60, so one a second).
    t.clock.advance(1000)
    expect((await send(newToken(), { message: 'later' }, { address })).statusCode).toBe(202)
  })

  it('answers 404 on every anonymous stream endpoint when anonymous_streams.enabled is false', async () => {
    const token = newToken()
    await send(token, { message: 'before' })
    t.config.anonymous_streams.enabled = false
    for (const res of [await send(token, { message: 'x' }), await info(token), await claim(token, project.id)]) {
      expect(res.statusCode).toBe(404)
      expect(res.json().error).toMatchObject({ code: 'not_found', message: 'Anonymous streams are turned off on this server (anonymous_streams.enabled)' })
    }
    t.config.anonymous_streams.enabled = true
    expect((await info(token)).json().data.event_count).toBe(1)
  })
})

describe('expiry and cleanup', () => {
  it('is gone (410) after its lifetime, and the cleanup job removes its events, keeps its row for info a while, then forgets it', async () => {
    const token = newToken()
    await send(token, [{ message: 'a' }, { message: 'b' }])
    t.clock.advance(12 * 3_600_000)
    const younger = newToken()
    await send(younger, { message: 'twelve hours younger' })
    t.clock.advance(12 * 3_600_000 - 1)
    expect((await send(token, { message: 'just in time' })).statusCode).toBe(202)
    t.clock.advance(1)
    const late = await send(token, { message: 'too late' })
    expect(late.statusCode).toBe(410)
    expect(late.json().error.code).toBe('gone')
    expect(late.json().error.message).toMatch(/expired at .*its events are removed/)
    expect((await claim(token, project.id)).statusCode).toBe(410)
    expect((await info(token)).json().data).toMatchObject({ status: 'expired', event_count: 3 })
    expect(await sourceRows(token)).toBe(3)

    const result = await cleanup()
    expect(result.expired).toBeGreaterThanOrEqual(1)
    expect(await sourceRows(token)).toBe(0)
    expect((await info(token)).json().data).toMatchObject({ status: 'expired', event_count: 3 })
    expect((await send(token, { message: 'after cleanup' })).statusCode).toBe(410)
    // The younger stream is untouched.
    expect(await sourceRows(younger)).toBe(1)
    expect((await info(younger)).json().data.status).toBe('active')

    // keep_finished_days (30) after it expired, the row is forgotten: the token names nothing.
    t.clock.advance(30 * 86_400_000 + 1)
    expect((await cleanup()).forgotten).toBeGreaterThanOrEqual(1)
    expect((await info(token, freshAddress())).statusCode).toBe(404)
    // The younger one expired (and was cleaned) in that run; its row is kept for now.
    expect(await sourceRows(younger)).toBe(0)
    expect((await info(younger, freshAddress())).json().data.status).toBe('expired')
  })

  it('leaves active streams alone', async () => {
    const token = newToken()
    await send(token, { message: 'young' })
    await cleanup()
    expect(await sourceRows(token)).toBe(1)
    expect((await info(token)).json().data.status).toBe('active')
  })
})

describe('claiming a stream into a project', () => {
  const fill = async (token: string, n: number, address = freshAddress()) => {
    const base = t.clock.now().getTime() - 3_600_000
    const entries = Array.from({ length: n }, (_, i) => ({ message: `event-${String(i).padStart(4, '0')}`, timestamp: new Date(base + i * 1000).toISOString(), service: 'trial' }))
    for (let i = 0; i < n; i += 100) {
      const res = await send(token, ndjson(entries.slice(i, i + 100)), { address })
      expect(res.statusCode, res.body).toBe(202)
    }
    return entries
  }

  it('moves every event into the project, timestamps intact, in a stream named after the token hash; counted in usage; audited without the token', async () => {
    const token = newToken()
    const entries = await fill(token, 230)
    const streamBytes = (await info(token)).json().data.bytes
    const usageBefore = (await t.app.inject({ method: 'GET', url: `/api/v1/logs/projects/${project.id}/usage`, headers: bearer(t.teamKey) })).json().data.today

    const res = await claim(token, project.id)
    expect(res.statusCode, res.body).toBe(200)
    const result = res.json().data
    expect(result).toEqual({ project_id: project.id, stream: streamName(token), events: 230, bytes: streamBytes, claimed_at: expect.any(String) })

    const rows = await projectRows(project.id, streamName(token))
    expect(rows.map((r) => r.message)).toEqual(entries.map((e) => e.message))
    expect(new Set(rows.map((r) => r.id)).size).toBe(230)
    expect(rows.map((r) => `${r.timestamp.replace(' ', 'T')}Z`)).toEqual(entries.map((e) => e.timestamp.replace(/\.(\d{3})Z$/, '.$1000Z')))
    expect(await sourceRows(token)).toBe(0)

    // Searchable like any entry of the project.
    const search = await t.app.inject({
      method: 'GET',
      url: `/api/v1/logs/search?project_id=${project.id}&stream=${streamName(token)}&from=${encodeURIComponent(entries[0]!.timestamp)}&limit=1000&order=asc`,
      headers: bearer(t.teamKey),
    })
    expect(search.json().data.map((e: { message: string }) => e.message)).toEqual(entries.map((e) => e.message))

    const usageAfter = (await t.app.inject({ method: 'GET', url: `/api/v1/logs/projects/${project.id}/usage`, headers: bearer(t.teamKey) })).json().data.today
    expect(usageAfter.entries - usageBefore.entries).toBe(230)
    expect(usageAfter.bytes_in - usageBefore.bytes_in).toBe(streamBytes)

    const audit = (await t.app.inject({ method: 'GET', url: '/api/v1/audit-logs?action=stream.claim', headers: bearer(t.teamKey) })).json().data
    const entry = audit.find((a: { target_id: string }) => a.target_id === streamName(token))
    expect(entry).toMatchObject({ action: 'stream.claim', target_type: 'anonymous_stream', details: { project_id: project.id, stream: streamName(token), events: 230 } })
    expect(JSON.stringify(audit)).not.toContain(token)
    // Request lines name the stream's path with the token redacted.
    expect(t.logs()).toContain('"url":"/api/v1/streams/[redacted]/events"')
    expect(t.logs()).not.toContain(token)

    expect((await info(token)).json().data).toMatchObject({ status: 'claimed', event_count: 230 })
    const after = await send(token, { message: 'after the claim' })
    expect(after.statusCode).toBe(410)
    expect(after.json().error.message).toMatch(/claimed into a project/)
  })

  it('answers a retry by the same project with the same result and moves nothing twice; another project gets 410', async () => {
    const token = newToken()
    await fill(token, 20)
    const first = await claim(token, project.id)
    expect(first.statusCode).toBe(200)
    const again = await claim(token, project.id)
    expect(again.statusCode).toBe(200)
    expect(again.json().data).toEqual(first.json().data)
    expect(await projectRows(project.id, streamName(token))).toHaveLength(20)
    const other = await t.project({ name: `other-${newToken().slice(0, 6)}` })
    const stolen = await claim(token, other.id)
    expect(stolen.statusCode).toBe(410)
    expect(stolen.json().error.code).toBe('gone')
    expect(await projectRows(other.id, streamName(token))).toHaveLength(0)
  })

  it('loses and duplicates nothing when events arrive while the claim runs: each is stored in the project (202) or refused (410)', async () => {
    const token = newToken()
    await fill(token, 50)
    const address = freshAddress()
    const sends = Array.from({ length: 20 }, (_, i) => send(token, ndjson([{ message: `late-${i}-a` }, { message: `late-${i}-b` }]), { address }))
    const claimed = claim(token, project.id)
    const answers = await Promise.all(sends)
    const result = await claimed
    expect(result.statusCode).toBe(200)
    expect(answers.every((a) => a.statusCode === 202 || a.statusCode === 410)).toBe(true)
    const stored = answers.filter((a) => a.statusCode === 202).length * 2
    const rows = await projectRows(project.id, streamName(token))
    expect(rows).toHaveLength(50 + stored)
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length)
    expect(result.json().data.events).toBe(50 + stored)
    expect(await sourceRows(token)).toBe(0)
  })

  it('refuses a key without logs:write, a key limited to another project, another team’s project, an unknown or malformed token', async () => {
    const token = newToken()
    await fill(token, 5)
    const reader = await claim(token, project.id, t.keyWith(['logs:read']))
    expect(reader.statusCode).toBe(403)
    expect(reader.json().error.message).toMatch(/logs:write/)
    const elsewhere = await t.project({ name: `elsewhere-${newToken().slice(0, 6)}` })
    const limited = await claim(token, project.id, t.keyWith(['logs:read', 'logs:write'], { projectIds: [elsewhere.id] }))
    expect(limited.statusCode).toBe(403)
    const team = createTeam(t.meta, 'another team', t.clock.now())
    const foreign = insertProject(t.meta, team.id, { name: 'theirs', retention_days: 7, daily_limit_mb: 500 }, t.clock.now()).project
    const theirs = await claim(token, foreign.id)
    expect(theirs.statusCode).toBe(404)
    expect(theirs.json().error.message).toBe('Project not found')
    expect((await claim(newToken(), project.id)).statusCode).toBe(404)
    const malformed = await claim('short', project.id)
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json().error.details[0].field).toBe('token')
    const noKey = await t.app.inject({ method: 'POST', url: '/api/v1/streams/claim', payload: { token, project_id: project.id } })
    expect(noKey.statusCode).toBe(401)
    // Nothing moved: the stream is still active with its events.
    expect((await info(token)).json().data).toMatchObject({ status: 'active', event_count: 5 })
    expect(await sourceRows(token)).toBe(5)
  })

  it('refuses a claim that would take the project over its daily limit, whole (429 daily_limit_exceeded)', async () => {
    const small = await t.project({ name: `small-${newToken().slice(0, 6)}`, daily_limit_mb: 1 })
    const token = newToken()
    const address = freshAddress()
    for (const tag of ['a', 'b', 'c', 'd']) expect((await send(token, { message: tag.padEnd(250_000, 'x') }, { address })).statusCode).toBe(202)
    const filler = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest',
      headers: { ...bearer(small.ingest_token), 'content-type': 'application/json' },
      payload: { message: 'y'.repeat(250_000) },
    })
    expect(filler.statusCode).toBe(202)
    const res = await claim(token, small.id)
    expect(res.statusCode).toBe(429)
    expect(res.json().error).toMatchObject({ code: 'daily_limit_exceeded', message: 'Daily log ingestion limit exceeded' })
    expect((await info(token)).json().data.status).toBe('active')
    expect(await sourceRows(token)).toBe(4)
  })

  it('works from a browser session like any POST: with the CSRF token, and 403 without', async () => {
    const token = newToken()
    await fill(token, 3)
    const session = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { api_key: t.teamKey } })
    const cookie = String(session.headers['set-cookie']).split(';')[0]!
    const csrf = session.json().data.csrf_token
    const body = { token, project_id: project.id }
    const without = await t.app.inject({ method: 'POST', url: '/api/v1/streams/claim', headers: { cookie }, payload: body })
    expect(without.statusCode).toBe(403)
    const withCsrf = await t.app.inject({ method: 'POST', url: '/api/v1/streams/claim', headers: { cookie, 'x-csrf-token': csrf }, payload: body })
    expect(withCsrf.statusCode, withCsrf.body).toBe(200)
    expect(withCsrf.json().data.events).toBe(3)
  })
})
