import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AlertEvaluator, buildNotification } from '../../src/alerts/evaluate.js'
import { Notifier } from '../../src/alerts/notify.js'
import { getRule } from '../../src/meta/alerts.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { startSmtpServer, startWebhookReceiver } from '../helpers/receivers.js'

let t: TestApp
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>
let evaluator: AlertEvaluator
let notifier: Notifier
/** Backoff waits the notifier asked for: recorded, not slept. */
const sleeps: number[] = []

const WEBHOOK_TIMEOUT_MS = 400
const RETRY_BASE_MS = 1000

beforeAll(async () => {
  smtp = await startSmtpServer()
  hooks = await startWebhookReceiver()
  t = await createTestApp({
    config: {
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'Krafter Alerts <alerts@krafter.test>' },
      // The receivers listen on loopback, which webhooks may reach only when allowed.
      alerts: { webhook_timeout_ms: WEBHOOK_TIMEOUT_MS, retry_base_ms: RETRY_BASE_MS, delivery_retries: 3, allow_private_webhooks: true },
    },
  })
  notifier = new Notifier({
    meta: t.meta,
    config: t.config,
    clock: t.clock.now,
    sleep: async (ms) => {
      sleeps.push(ms)
    },
  })
  evaluator = new AlertEvaluator({ meta: t.meta, engine: t.engine, clock: t.clock.now, notifier })
})
afterAll(async () => {
  await notifier?.close()
  await t?.close()
  await hooks?.close()
  await smtp?.close()
})

const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token = t.teamKey) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) })

/** Sends entries stamped `secondsAgo` before the test clock's now. */
const ingest = async (token: string, entries: { message: string; level?: string; secondsAgo?: number }[]) => {
  const now = t.clock.now().getTime()
  const body = entries
    .map((e) => JSON.stringify({ message: e.message, level: e.level ?? 'info', service: 'api', timestamp: new Date(now - (e.secondsAgo ?? 30) * 1000).toISOString() }))
    .join('\n')
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/logs/ingest/batch',
    headers: { ...bearer(token), 'content-type': 'application/x-ndjson' },
    payload: body,
  })
  expect(res.statusCode, res.body).toBe(202)
}

const errors = (n: number, label: string) => Array.from({ length: n }, (_, i) => ({ message: `${label} failure ${i}`, level: 'error' }))

const rule = async (projectId: string, overrides: Record<string, unknown> = {}) => {
  const res = await api('POST', '/logs/alerts', {
    project_id: projectId,
    name: 'errors',
    query: 'level:error OR level:fatal',
    condition: { type: 'count', threshold: 3, window_minutes: 5 },
    channels: [{ type: 'webhook', url: hooks.url('/default'), secret: 'default-secret' }],
    ...overrides,
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: string; channels: { type: string; url?: string; secret?: string }[] }
}

/** A loopback port nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const verify = (secret: string, hook: { headers: Record<string, unknown>; raw: string }) =>
  hook.headers['x-krafter-signature'] === `sha256=${createHmac('sha256', secret).update(hook.raw).digest('hex')}`

const expectError = (res: { statusCode: number; json: () => any }, status: number, code: string, field?: string) => {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status)
  const body = res.json()
  expect(body.error.code).toBe(code)
  expect(body.request_id).toMatch(/^req_/)
  if (field) expect(body.error.details.map((d: { field: string }) => d.field)).toContain(field)
}

describe('alert rules API', () => {
  it('creates a rule with defaults, shows a generated webhook secret once, hides it afterwards', async () => {
    const p = await t.project()
    const res = await api('POST', '/logs/alerts', {
      project_id: p.id,
      name: 'Too many errors',
      query: 'level:error',
      condition: { type: 'rate', threshold_percent: 5, window_minutes: 10 },
      channels: [{ type: 'email', to: ['ops@example.com', 'ops@example.com'] }, { type: 'webhook', url: 'https://hooks.example.com/x' }],
    })
    expect(res.statusCode, res.body).toBe(201)
    const created = res.json().data
    expect(created).toMatchObject({
      project_id: p.id,
      name: 'Too many errors',
      condition: { type: 'rate', threshold_percent: 5, window_minutes: 10, min_entries: 10 },
      cooldown_minutes: 15,
      enabled: true,
      last_evaluated_at: null,
    })
    expect(created.channels[0]).toEqual({ type: 'email', to: ['ops@example.com'] })
    expect(created.channels[1].secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/)
    const shown = (await api('GET', `/logs/alerts/${created.id}`)).json().data
    expect(shown.channels[1]).toEqual({ type: 'webhook', url: 'https://hooks.example.com/x' })
    expect(JSON.stringify((await api('GET', '/logs/alerts')).json())).not.toContain('whsec_')

    // A partial PUT keeps what it does not name, including the stored secret of the same URL.
    const put = await api('PUT', `/logs/alerts/${created.id}`, { cooldown_minutes: 30, enabled: false })
    expect(put.statusCode, put.body).toBe(200)
    expect(put.json().data).toMatchObject({ cooldown_minutes: 30, enabled: false, name: 'Too many errors' })
    const stored = getRule(t.meta, t.teamId, created.id)!
    expect(stored.channels[1]).toMatchObject({ type: 'webhook', secret: created.channels[1].secret })
    const rechannel = await api('PUT', `/logs/alerts/${created.id}`, { channels: [{ type: 'webhook', url: 'https://hooks.example.com/x' }] })
    expect(rechannel.json().data.channels[0].secret).toBe(created.channels[1].secret)
  })

  it('rejects bad rules with the envelope naming the field', async () => {
    const p = await t.project()
    const good = {
      project_id: p.id,
      name: 'x',
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'email', to: ['a@b.co'] }],
    }
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, name: '' }, 'name'],
      [{ ...good, query: 'level:(' }, 'query'],
      [{ ...good, query: '"unterminated' }, 'query'],
      [{ ...good, condition: { type: 'median', threshold: 1, window_minutes: 5 } }, 'condition.type'],
      [{ ...good, condition: { type: 'count', threshold: 0, window_minutes: 5 } }, 'condition.threshold'],
      [{ ...good, condition: { type: 'count', threshold: 1, window_minutes: 5000 } }, 'condition.window_minutes'],
      [{ ...good, condition: { type: 'rate', threshold_percent: 150, window_minutes: 5 } }, 'condition.threshold_percent'],
      [{ ...good, channels: [] }, 'channels'],
      [{ ...good, channels: [{ type: 'email', to: ['not-an-address'] }] }, 'channels.0.to.0'],
      [{ ...good, channels: [{ type: 'webhook', url: 'ftp://example.com/x' }] }, 'channels.0.url'],
      [{ ...good, channels: [{ type: 'webhook', url: 'https://e.com', secret: 'short' }] }, 'channels.0.secret'],
      [{ ...good, channels: [{ type: 'sms', to: '+1' }] }, 'channels.0.type'],
      [{ ...good, cooldown_minutes: -1 }, 'cooldown_minutes'],
      [{ ...good, enabled: 'yes' }, 'enabled'],
      [{ ...good, project_id: 'nope' }, 'project_id'],
      [{ ...good, project_id: '00000000-0000-4000-8000-000000000000' }, 'project_id'],
      [{ ...good, surprise: 1 }, 'surprise'],
    ]
    for (const [body, field] of cases) expectError(await api('POST', '/logs/alerts', body), 400, 'validation_error', field)
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/alerts',
      headers: { ...bearer(t.teamKey), 'content-type': 'application/json' },
      payload: '{"name":',
    })
    expectError(malformed, 400, 'validation_error')
    expectError(await api('PUT', `/logs/alerts/${(await rule(p.id)).id}`, { query: 'a OR' }), 400, 'validation_error', 'query')
  })

  it("accepts API.md's own e-mail example and single-label domains, refuses what is no address", async () => {
    const p = await t.project()
    const accepted = ['a@b.c', 'root@localhost', 'first.last+tag@mail-1.example.co.uk']
    const created = await rule(p.id, { channels: [{ type: 'email', to: accepted }] })
    expect(created.channels[0]).toEqual({ type: 'email', to: accepted })
    const refused = ['a@', '@b.c', 'a b@c.d', 'a@b..c', 'a@-b.c', 'a@b-.c', 'a..b@c.d', '.a@b.c', 'a@b.c.', 'a@@b.c', `${'x'.repeat(65)}@b.c`, `a@${'b'.repeat(251)}.c`]
    for (const address of refused) {
      const body = { project_id: p.id, name: 'x', query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 5 }, channels: [{ type: 'email', to: [address] }] }
      const res = await api('POST', '/logs/alerts', body)
      expect(res.statusCode, address).toBe(400)
      expect(res.json().error.details.map((d: { field: string }) => d.field)).toContain('channels.0.to.0')
    }
  })

  it('lists with a cursor, checks scopes and projects, and deletes rules (also with their project)', async () => {
    const p = await t.project()
    const other = await t.project()
    const ids = [(await rule(p.id)).id, (await rule(p.id)).id, (await rule(p.id)).id, (await rule(other.id)).id]
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await api('GET', `/logs/alerts?project_id=${p.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode).toBe(200)
      seen.push(...res.json().data.map((r: { id: string }) => r.id))
      cursor = res.json().cursor
      expect(res.json().has_more).toBe(cursor !== null)
    } while (cursor)
    // Same-millisecond rules are ordered by id: compare as sets, each seen once.
    expect([...seen].sort()).toEqual(ids.slice(0, 3).sort())
    expectError(await api('GET', '/logs/alerts?cursor=garbage'), 400, 'validation_error', 'cursor')

    const reader = t.keyWith(['logs:read'])
    expect((await api('GET', `/logs/alerts/${ids[0]}`, undefined, reader)).statusCode).toBe(200)
    expectError(await api('POST', '/logs/alerts', { name: 'x' }, reader), 403, 'forbidden')
    expectError(await api('DELETE', `/logs/alerts/${ids[0]}`, undefined, reader), 403, 'forbidden')
    expectError(await api('POST', `/logs/alerts/${ids[0]}/test`, undefined, reader), 403, 'forbidden')
    const limited = t.keyWith(['logs:read', 'logs:write'], { projectIds: [other.id] })
    expectError(await api('GET', `/logs/alerts/${ids[0]}`, undefined, limited), 403, 'forbidden')
    const visible = (await api('GET', '/logs/alerts?limit=100', undefined, limited)).json().data.map((r: { id: string }) => r.id)
    expect(visible).toEqual([ids[3]])
    expectError(await api('PUT', `/logs/alerts/${ids[3]}`, { project_id: p.id }, limited), 403, 'forbidden')
    expectError(await api('GET', `/logs/alerts/${ids[0]}`, undefined, (await t.project()).ingest_token), 401, 'unauthorized')

    expect((await api('DELETE', `/logs/alerts/${ids[0]}`)).statusCode).toBe(204)
    expectError(await api('GET', `/logs/alerts/${ids[0]}`), 404, 'not_found')
    expectError(await api('DELETE', `/logs/alerts/${ids[0]}`), 404, 'not_found')
    expect((await api('DELETE', `/logs/projects/${p.id}`)).statusCode).toBe(204)
    expectError(await api('GET', `/logs/alerts/${ids[1]}`), 404, 'not_found')
    expect((await api('GET', `/logs/alerts/${ids[3]}`)).statusCode).toBe(200)
  })
})

describe('evaluation, notifications and the firing lifecycle', () => {
  it('opens a firing once, notifies email and webhook, keeps quiet, resolves, then respects the cooldown', async () => {
    const p = await t.project({ name: 'checkout' })
    const noise = await t.project()
    const created = await rule(p.id, {
      name: 'Checkout errors',
      channels: [
        { type: 'email', to: ['oncall@example.com', 'lead@example.com'] },
        { type: 'webhook', url: hooks.url('/lifecycle'), secret: 'lifecycle-secret' },
      ],
    })
    const start = t.clock.now().getTime()
    await ingest(p.ingest_token, [...errors(2, 'payment'), { message: 'fine', level: 'info' }])
    // Another project's errors never count: tenant isolation holds for alerts too.
    await ingest(noise.ingest_token, errors(10, 'noise'))
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)).outcome).toBe('ok')

    await ingest(p.ingest_token, errors(2, 'gateway'))
    const opened = await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)
    expect(opened).toMatchObject({ outcome: 'opened', measurement: { matched: 4, total: 5, value: 4, threshold: 3, holds: true } })
    await notifier.drain()

    expect(smtp.mails).toHaveLength(1)
    const mail = smtp.mails[0]!
    expect(mail.subject).toBe('[Krafter Logs] FIRING: Checkout errors (checkout)')
    expect(mail.envelopeTo.sort()).toEqual(['lead@example.com', 'oncall@example.com'])
    expect(mail.from?.text).toContain('alerts@krafter.test')
    expect(mail.text).toContain('4 matching entries in the last 5 min (threshold 3)')
    expect(mail.text).toContain('gateway failure')
    expect(mail.text).not.toContain('noise failure')
    expect(mail.html).toContain('<h2')
    expect(mail.html).toContain('4 matching entries in the last 5 min (threshold 3)')

    const [hook] = hooks.at('/lifecycle')
    expect(hook).toBeDefined()
    expect(verify('lifecycle-secret', hook!)).toBe(true)
    expect(verify('another-secret', hook!)).toBe(false)
    const body = JSON.parse(hook!.raw)
    expect(hook!.headers['x-krafter-event-id']).toBe(body.id)
    expect(hook!.headers['content-type']).toBe('application/json')
    expect(body).toMatchObject({
      type: 'alert.firing',
      test: false,
      rule: { id: created.id, name: 'Checkout errors', project_name: 'checkout', query: 'level:error OR level:fatal' },
      firing: { id: opened.event_id, status: 'open', value: 4, threshold: 3, matched: 4, window_minutes: 5 },
    })
    expect(body.entries).toHaveLength(4)
    expect(body.entries.every((e: { level: string }) => e.level === 'error')).toBe(true)

    // Still above the threshold a minute later: the firing stays open, nothing is sent again.
    t.clock.advance(60_000)
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)).outcome).toBe('still_firing')
    await notifier.drain()
    expect(smtp.mails).toHaveLength(1)
    expect(hooks.at('/lifecycle')).toHaveLength(1)

    // The errors leave the 5-minute window: resolved, with a resolve notification.
    t.clock.advance(5 * 60_000)
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)).outcome).toBe('resolved')
    await notifier.drain()
    expect(smtp.mails[1]!.subject).toBe('[Krafter Logs] RESOLVED: Checkout errors (checkout)')
    const resolvedHook = JSON.parse(hooks.at('/lifecycle')[1]!.raw)
    expect(resolvedHook).toMatchObject({ type: 'alert.resolved', firing: { id: opened.event_id, status: 'resolved', resolved_by: 'condition' } })
    expect(resolvedHook.id).not.toBe(body.id)

    // Firing again 7 minutes after the first firing: inside the 15-minute cooldown, so quiet.
    await ingest(p.ingest_token, errors(3, 'again'))
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)).outcome).toBe('cooldown')
    await notifier.drain()
    expect(smtp.mails).toHaveLength(2)

    // After the cooldown a new firing opens and notifies.
    t.clock.current = new Date(start + 16 * 60_000)
    await ingest(p.ingest_token, errors(3, 'later'))
    const reopened = await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)
    expect(reopened.outcome).toBe('opened')
    await notifier.drain()
    expect(smtp.mails).toHaveLength(3)
    expect(hooks.at('/lifecycle')).toHaveLength(3)

    const events = (await api('GET', `/logs/alerts/${created.id}/events`)).json()
    expect(events.data.map((e: { id: string }) => e.id)).toEqual([reopened.event_id, opened.event_id])
    expect(events.data[0]).toMatchObject({ status: 'open', matched: 3 })
    expect(events.data[1]).toMatchObject({ status: 'resolved', resolved_by: 'condition' })
    // Every attempt is recorded: firing + resolve on both channels for the first event.
    expect(events.data[1].deliveries.map((d: { kind: string; channel: string; ok: boolean }) => `${d.kind}/${d.channel}/${d.ok}`).sort()).toEqual(
      ['firing/email/true', 'firing/webhook/true', 'resolved/email/true', 'resolved/webhook/true'],
    )
    expect(events.data[1].deliveries.find((d: { channel: string }) => d.channel === 'webhook')).toMatchObject({ status_code: 200, attempt: 1, error: null })
    const firstPage = (await api('GET', `/logs/alerts/${created.id}/events?limit=1`)).json()
    expect(firstPage.has_more).toBe(true)
    const secondPage = (await api('GET', `/logs/alerts/${created.id}/events?limit=1&cursor=${firstPage.cursor}`)).json()
    expect(secondPage.data[0].id).toBe(opened.event_id)
    expect(secondPage.has_more).toBe(false)

    // By hand: acknowledge, not twice, then resolve.
    const ack = await api('PATCH', `/logs/alert-events/${reopened.event_id}`, { status: 'acknowledged' })
    expect(ack.statusCode, ack.body).toBe(200)
    expect(ack.json().data).toMatchObject({ status: 'acknowledged', acknowledged_at: expect.any(String) })
    expectError(await api('PATCH', `/logs/alert-events/${reopened.event_id}`, { status: 'acknowledged' }), 409, 'conflict', 'status')
    expectError(await api('PATCH', `/logs/alert-events/${reopened.event_id}`, { status: 'open' }), 400, 'validation_error', 'status')
    // Acknowledged and still over the threshold: no new firing.
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)).outcome).toBe('still_firing')
    const resolved = await api('PATCH', `/logs/alert-events/${reopened.event_id}`, { status: 'resolved' })
    expect(resolved.json().data).toMatchObject({ status: 'resolved', resolved_by: 'manual' })
    expect((await api('GET', `/logs/alert-events/${reopened.event_id}`)).json().data.status).toBe('resolved')
    expectError(await api('PATCH', `/logs/alert-events/${reopened.event_id}`, { status: 'resolved' }), 409, 'conflict')
    expectError(await api('PATCH', '/logs/alert-events/00000000-0000-4000-8000-000000000000', { status: 'resolved' }), 404, 'not_found')
  })

  it('fires a rate condition only above its share and minimum count', async () => {
    const p = await t.project()
    const rate = await rule(p.id, { condition: { type: 'rate', threshold_percent: 25, window_minutes: 5, min_entries: 10 } })
    const quiet = await rule(p.id, { condition: { type: 'rate', threshold_percent: 25, window_minutes: 5, min_entries: 20 } })
    const high = await rule(p.id, { condition: { type: 'rate', threshold_percent: 40, window_minutes: 5, min_entries: 10 } })
    await ingest(p.ingest_token, [...errors(3, 'rate'), ...Array.from({ length: 7 }, (_, i) => ({ message: `ok ${i}` }))])
    const result = await evaluator.evaluateRule(getRule(t.meta, t.teamId, rate.id)!)
    expect(result).toMatchObject({ outcome: 'opened', measurement: { matched: 3, total: 10, value: 30, threshold: 25 } })
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, quiet.id)!)).outcome).toBe('ok')
    expect((await evaluator.evaluateRule(getRule(t.meta, t.teamId, high.id)!)).outcome).toBe('ok')
    await notifier.drain()
    const hook = JSON.parse(hooks.at('/default').at(-1)!.raw)
    expect(hook.summary).toContain('30 % of entries matching (3 of 10)')
  })

  it('evaluates every enabled rule in one pass and skips disabled ones', async () => {
    const p = await t.project()
    const on = await rule(p.id, { condition: { type: 'count', threshold: 1, window_minutes: 5 } })
    const off = await rule(p.id, { enabled: false, condition: { type: 'count', threshold: 1, window_minutes: 5 } })
    await ingest(p.ingest_token, errors(1, 'pass'))
    const results = await evaluator.evaluateAll()
    expect(results.find((r) => r.rule_id === on.id)?.outcome).toBe('opened')
    expect(results.find((r) => r.rule_id === off.id)).toBeUndefined()
    const shown = (await api('GET', `/logs/alerts/${on.id}`)).json().data
    expect(shown).toMatchObject({ last_value: 1, last_error: null, last_evaluated_at: t.clock.now().toISOString() })
    await notifier.drain()
  })
})

describe('webhook delivery', () => {
  it('retries a failing receiver with exponential backoff and records every attempt', async () => {
    const p = await t.project()
    hooks.set('/flaky', { failFirst: 2 })
    const created = await rule(p.id, {
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'webhook', url: hooks.url('/flaky'), secret: 'flaky-secret' }],
    })
    await ingest(p.ingest_token, errors(1, 'flaky'))
    sleeps.length = 0
    const opened = await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)
    await notifier.drain()
    const attempts = hooks.at('/flaky')
    expect(attempts).toHaveLength(3)
    // Retries send the same message: same event id and body, so receivers can dedupe.
    expect(new Set(attempts.map((a) => a.headers['x-krafter-event-id'])).size).toBe(1)
    expect(new Set(attempts.map((a) => a.raw)).size).toBe(1)
    expect(attempts.every((a) => verify('flaky-secret', a))).toBe(true)
    expect(sleeps).toEqual([RETRY_BASE_MS, 2 * RETRY_BASE_MS])
    const event = (await api('GET', `/logs/alert-events/${opened.event_id}`)).json().data
    expect(event.deliveries.map((d: { attempt: number; ok: boolean; status_code: number; error: string | null }) => [d.attempt, d.ok, d.status_code, d.error])).toEqual([
      [1, false, 500, 'HTTP 500'],
      [2, false, 500, 'HTTP 500'],
      [3, true, 200, null],
    ])
    expect(event.deliveries.every((d: { duration_ms: number }) => d.duration_ms >= 0)).toBe(true)
  })

  it('does not retry a 4xx answer', async () => {
    const p = await t.project()
    hooks.set('/gone', { status: 410 })
    const created = await rule(p.id, {
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'webhook', url: hooks.url('/gone'), secret: 'gone-secret' }],
    })
    await ingest(p.ingest_token, errors(1, 'gone'))
    await evaluator.evaluateRule(getRule(t.meta, t.teamId, created.id)!)
    await notifier.drain()
    expect(hooks.at('/gone')).toHaveLength(1)
  })

  it('times out a receiver that hangs without holding up the evaluator', async () => {
    const p = await t.project()
    hooks.set('/hang', { hang: true })
    const hanging = await rule(p.id, {
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'webhook', url: hooks.url('/hang'), secret: 'hang-secret' }],
    })
    await ingest(p.ingest_token, errors(1, 'hang'))
    const started = Date.now()
    const opened = await evaluator.evaluateRule(getRule(t.meta, t.teamId, hanging.id)!)
    expect(opened.outcome).toBe('opened')
    // The evaluation returned while the receiver still hangs: the next pass can run.
    expect(hooks.at('/hang').length).toBeLessThanOrEqual(1)
    const next = await evaluator.evaluateRule(getRule(t.meta, t.teamId, hanging.id)!)
    expect(next.outcome).toBe('still_firing')
    await notifier.drain()
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * WEBHOOK_TIMEOUT_MS)
    expect(hooks.at('/hang')).toHaveLength(4)
    const event = (await api('GET', `/logs/alert-events/${opened.event_id}`)).json().data
    expect(event.deliveries).toHaveLength(4)
    for (const d of event.deliveries) {
      expect(d).toMatchObject({ ok: false, status_code: null, error: `no answer within ${WEBHOOK_TIMEOUT_MS} ms` })
      expect(d.duration_ms).toBeGreaterThanOrEqual(WEBHOOK_TIMEOUT_MS - 50)
    }
  })
})

describe('POST /logs/alerts/:id/test', () => {
  it('sends a marked test on every channel and reports each delivery', async () => {
    const p = await t.project({ name: 'test-target' })
    await ingest(p.ingest_token, errors(2, 'sample'))
    const created = await rule(p.id, {
      name: 'Test me',
      channels: [
        { type: 'email', to: ['test@example.com'] },
        { type: 'webhook', url: hooks.url('/test-ok'), secret: 'test-secret' },
      ],
    })
    const before = smtp.mails.length
    const res = await api('POST', `/logs/alerts/${created.id}/test`)
    expect(res.statusCode, res.body).toBe(200)
    const data = res.json().data
    expect(data.ok).toBe(true)
    expect(data.deliveries).toHaveLength(2)
    expect(data.deliveries.map((d: { channel: string; ok: boolean; attempts: number }) => [d.channel, d.ok, d.attempts])).toEqual([
      ['email', true, 1],
      ['webhook', true, 1],
    ])
    const mail = smtp.mails[before]!
    expect(mail.subject).toBe('[Krafter Logs] [TEST] Test me (test-target): test notification')
    expect(mail.text).toContain('This is a TEST notification')
    expect(mail.text).toContain('sample failure')
    const hook = hooks.at('/test-ok')[0]!
    expect(verify('test-secret', hook)).toBe(true)
    expect(JSON.parse(hook.raw)).toMatchObject({ type: 'alert.test', test: true, firing: null, id: data.notification_id })
    // A test opens no firing.
    expect((await api('GET', `/logs/alerts/${created.id}/events`)).json().data).toEqual([])
  })

  it('reports a failing channel once, without retries', async () => {
    const p = await t.project()
    hooks.set('/test-fail', { status: 503 })
    const created = await rule(p.id, {
      channels: [
        { type: 'webhook', url: hooks.url('/test-fail'), secret: 'test-secret' },
        { type: 'webhook', url: `http://127.0.0.1:${await closedPort()}/unreachable`, secret: 'test-secret' },
      ],
    })
    const data = (await api('POST', `/logs/alerts/${created.id}/test`)).json().data
    expect(data.ok).toBe(false)
    expect(data.deliveries[0]).toMatchObject({ ok: false, status_code: 503, error: 'HTTP 503', attempts: 1 })
    expect(data.deliveries[1]).toMatchObject({ ok: false, status_code: null, attempts: 1 })
    expect(data.deliveries[1].error).toMatch(/ECONNREFUSED/)
    expect(hooks.at('/test-fail')).toHaveLength(1)
  })
})

describe('email with SMTP authentication', () => {
  it('logs in with smtp.user and smtp.password, and a refused login is final (no retries)', async () => {
    const secured = await startSmtpServer({ login: { user: 'alerts@krafter.test', password: 's3cret-pass' } })
    const p = await t.project()
    const created = await rule(p.id, { channels: [{ type: 'email', to: ['oncall@example.com'] }] })
    const stored = getRule(t.meta, t.teamId, created.id)!
    const send = async (password: string) => {
      const mailer = new Notifier({
        meta: t.meta,
        config: { ...t.config, smtp: { ...t.config.smtp, port: secured.port, user: 'alerts@krafter.test', password } },
        clock: t.clock.now,
        sleep: async (ms) => void sleeps.push(ms),
      })
      try {
        return await mailer.send(buildNotification(t.meta, stored, 'test', null, [], t.clock.now()))
      } finally {
        await mailer.close()
      }
    }
    try {
      const [ok] = await send('s3cret-pass')
      expect(ok).toMatchObject({ channel: 'email', ok: true, attempts: 1, status_code: 250 })
      expect(secured.mails).toHaveLength(1)
      expect(secured.mails[0]!.user).toBe('alerts@krafter.test')
      sleeps.length = 0
      const [refused] = await send('wrong')
      expect(refused).toMatchObject({ channel: 'email', ok: false, attempts: 1, status_code: 535 })
      expect(refused!.error).toMatch(/535|Invalid/)
      expect(sleeps).toEqual([])
      expect(secured.mails).toHaveLength(1)
    } finally {
      await secured.close()
    }
  })
})
