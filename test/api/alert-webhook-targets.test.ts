import { lookup as systemLookup } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendTestNotification } from '../../src/alerts/evaluate.js'
import { Notifier } from '../../src/alerts/notify.js'
import { isPrivateAddress } from '../../src/alerts/webhook-target.js'
import { insertRule, type AlertRule } from '../../src/meta/alerts.js'
import { CLI_ACTOR } from '../../src/meta/audit.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { startWebhookReceiver } from '../helpers/receivers.js'

// SSRF: with the default config (alerts.allow_private_webhooks: false) a key that may write
// alert rules cannot make serve call loopback, link-local or private addresses. No request in
// this file goes anywhere but the loopback receiver, and only where that is allowed.
let t: TestApp
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>

beforeAll(async () => {
  hooks = await startWebhookReceiver()
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
  await hooks?.close()
})

const api = (method: 'POST' | 'PUT', url: string, payload: unknown) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(t.teamKey), payload: payload as object })

const ruleBody = (projectId: string, url: string) => ({
  project_id: projectId,
  name: 'probe',
  query: 'level:error',
  condition: { type: 'count', threshold: 1, window_minutes: 5 },
  channels: [
    { type: 'email', to: ['ops@example.com'] },
    { type: 'webhook', url, secret: 'probe-secret' },
  ],
})

/** A rule as one saved while private webhooks were allowed (straight into SQLite). */
const storedRule = (projectId: string, url: string): AlertRule =>
  insertRule(
    t.meta,
    t.teamId,
    {
      project_id: projectId,
      name: 'stored',
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'webhook', url, secret: 'stored-secret' }],
      cooldown_minutes: 15,
      enabled: true,
    },
    t.clock.now(),
  )

const deliveryRows = (ruleId: string) =>
  t.meta.prepare('SELECT ok, attempt, error FROM alert_deliveries WHERE rule_id = ?').all(ruleId) as { ok: number; attempt: number; error: string }[]

describe('webhook targets', () => {
  it('is off by default in the config', () => {
    expect(t.config.alerts.allow_private_webhooks).toBe(false)
  })

  it('refuses loopback, link-local, private and unspecified addresses at create and update, naming channels.N.url', async () => {
    const p = await t.project()
    const refused = [
      'http://127.0.0.1:8080/api/v1/keys',
      'http://127.9.9.9/',
      'http://localhost:9000/',
      'http://LOCALHOST./x',
      'http://metrics.localhost/',
      'http://0.0.0.0:8123/',
      'http://0.1.2.3/',
      'http://10.0.0.5/',
      'http://172.16.0.1/',
      'http://172.31.255.255/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/',
      'http://[::]/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[fe80::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:a00:1]/',
      // Other spellings of 127.0.0.1 that URL parsing turns into it.
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://127.1/',
    ]
    for (const url of refused) {
      const res = await api('POST', '/logs/alerts', ruleBody(p.id, url))
      expect(res.statusCode, url).toBe(400)
      const error = res.json().error
      expect(error.code).toBe('validation_error')
      expect(error.details.map((d: { field: string }) => d.field), url).toEqual(['channels.1.url'])
      expect(error.message).toContain('allow_private_webhooks')
    }
    // Neighbours of the private ranges and names that need DNS are accepted when saved.
    for (const url of ['https://hooks.example.com/x', 'http://172.32.0.1/', 'http://192.169.0.1/', 'http://[fec0::1]/', 'http://11.0.0.1/']) {
      const res = await api('POST', '/logs/alerts', ruleBody(p.id, url))
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201)
    }
    const created = (await api('POST', '/logs/alerts', ruleBody(p.id, 'https://hooks.example.com/y'))).json().data
    const put = await api('PUT', `/logs/alerts/${created.id}`, { channels: [{ type: 'webhook', url: 'http://[::1]:9/' }] })
    expect(put.statusCode).toBe(400)
    expect(put.json().error.details[0].field).toBe('channels.0.url')
    // An update that leaves the channels alone is not refused because of them.
    const rule = storedRule(p.id, hooks.url('/untouched'))
    expect((await api('PUT', `/logs/alerts/${rule.id}`, { enabled: false })).statusCode).toBe(200)
  })

  it('refuses the delivery of a stored rule to a private address, records it as failed, and sends nothing', async () => {
    const p = await t.project()
    const rule = storedRule(p.id, hooks.url('/stored'))
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/logs/alerts/${rule.id}/test`, headers: bearer(t.teamKey) })
    expect(res.statusCode, res.body).toBe(200)
    const [delivery] = res.json().data.deliveries
    expect(delivery).toMatchObject({ channel: 'webhook', ok: false, attempts: 1, status_code: null })
    expect(delivery.error).toMatch(/^refused: 127\.0\.0\.1 is a loopback, link-local or private address; set alerts\.allow_private_webhooks/)
    expect(deliveryRows(rule.id)).toEqual([{ ok: 0, attempt: 1, error: delivery.error }])
    expect(hooks.at('/stored')).toHaveLength(0)
  })

  it('checks the addresses a name resolves to at delivery time, and connects to the checked address', async () => {
    const p = await t.project()
    const port = new URL(hooks.url('/')).port
    // A public-looking name that resolves to this host's loopback receiver.
    const lookup: LookupFunction = (hostname, options, callback) =>
      hostname === 'hooks.example.test' ? systemLookup('127.0.0.1', options, callback) : systemLookup(hostname, options, callback)
    const rule = storedRule(p.id, `http://hooks.example.test:${port}/resolved`)
    const send = async (allow: boolean) => {
      const notifier = new Notifier({ meta: t.meta, config: { ...t.config, alerts: { ...t.config.alerts, allow_private_webhooks: allow } }, clock: t.clock.now, lookup })
      try {
        return await sendTestNotification({ meta: t.meta, engine: t.engine, clock: t.clock.now, notifier }, rule, CLI_ACTOR)
      } finally {
        await notifier.close()
      }
    }

    const refused = await send(false)
    expect(refused.deliveries[0]).toMatchObject({ ok: false, attempts: 1, status_code: null })
    expect(refused.deliveries[0]!.error).toBe(
      'refused: hooks.example.test resolves to 127.0.0.1, a loopback, link-local or private address; set alerts.allow_private_webhooks: true in krafter.yaml to allow it',
    )
    expect(hooks.at('/resolved')).toHaveLength(0)
    expect(deliveryRows(rule.id)).toEqual([{ ok: 0, attempt: 1, error: refused.deliveries[0]!.error }])

    // The same delivery where private webhooks are allowed reaches the receiver, through the same lookup.
    const allowed = await send(true)
    expect(allowed.deliveries[0]).toMatchObject({ ok: true, status_code: 200 })
    expect(hooks.at('/resolved')).toHaveLength(1)
  })

  it('classifies addresses by range', () => {
    for (const a of ['127.0.0.1', '10.255.0.1', '172.20.1.1', '192.168.0.10', '169.254.1.1', '0.0.0.0', '::1', '::', 'fc00::5', 'fdff::1', 'fe80::1', '::ffff:10.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true)
    }
    for (const a of ['8.8.8.8', '172.15.255.255', '172.32.0.0', '192.167.255.255', '169.255.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'example.com']) {
      expect(isPrivateAddress(a), a).toBe(false)
    }
  })
})
