import { randomUUID } from 'node:crypto'
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AlertEvaluator } from '../../src/alerts/evaluate.js'
import { Notifier } from '../../src/alerts/notify.js'
import { openMeta } from '../../src/meta/db.js'
import { Metrics } from '../../src/metrics/metrics.js'
import { insertCustomRule } from '../../src/meta/redaction.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { encodeOtlpJson, otlpRequestOf } from '../helpers/otlp.js'
import { storedEntries } from '../helpers/stored.js'
import { startWebhookReceiver } from '../helpers/receivers.js'
import { eventually, startSyslogApp, type SyslogApp } from '../helpers/syslog.js'

/**
 * Redaction in the one pipeline (issue 14): every front door stores the redacted entry, nothing
 * unredacted reaches the engine or serve's log, rules change without a restart.
 */
let t: TestApp
let s: SyslogApp
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>
let project: { id: string; name: string; ingest_token: string }

// What the default rules must catch, in a message and in metadata.
const BEARER = 'Bearer eyQ1x8sS0m3OpaqueT0kenValue42'
const PASSWORD = 'hunter2-correct-horse'
const CARD = '4111 1111 1111 1111'
const secretsEntry = (tag: string) => ({
  message: `${tag}: login failed for card ${CARD} with header Authorization: ${BEARER}`,
  metadata: { password: PASSWORD, user: { id: 'u-42', session_token: 'tok-abcdef' }, note: `auth ${BEARER}` },
})
const SECRETS = [PASSWORD, 'tok-abcdef', '4111 1111 1111 1111', 'eyQ1x8sS0m3OpaqueT0kenValue42']

const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, token = t.teamKey) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(body === undefined ? {} : { payload: body as object }) })
const ingestBatch = async (entries: unknown[], token = project.ingest_token) => {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest/batch', headers: bearer(token), payload: entries as object })
  expect(res.statusCode, res.body).toBe(202)
  return res.json()
}
const storedByTag = async (tag: string, projectId = project.id) => (await storedEntries(t, projectId)).filter((e) => e.message.startsWith(`${tag}`))

beforeAll(async () => {
  // The webhook receiver listens on loopback, which alert webhooks may reach only when allowed.
  t = await createTestApp({ config: { alerts: { allow_private_webhooks: true, delivery_retries: 0 } } })
  hooks = await startWebhookReceiver()
  project = await t.project({ name: 'redaction' })
  s = await startSyslogApp(t, { listeners: [{ protocol: 'udp', port: 0, project: project.id }] })
})
afterAll(async () => {
  await s?.close()
  await hooks?.close()
  await t?.close()
})
afterEach(() => t.clock.reset())

const expectRedacted = (entry: { message: string; metadata: Record<string, any> }, where: string) => {
  const text = JSON.stringify(entry)
  for (const secret of SECRETS) expect(text, `${where} stored ${secret}`).not.toContain(secret)
  expect(entry.message, where).toContain('[REDACTED:credit_card]')
  expect(entry.message, where).toContain('[REDACTED:authorization]')
}

describe('the default rules on every front door', () => {
  it('JSON ingest (batch and single) stores the redacted entry, metadata at any depth', async () => {
    await ingestBatch([secretsEntry('json-batch')])
    const single = await t.app.inject({ method: 'POST', url: '/api/v1/logs/ingest', headers: bearer(project.ingest_token), payload: secretsEntry('json-single') })
    expect(single.statusCode, single.body).toBe(202)
    for (const tag of ['json-batch', 'json-single']) {
      const [stored] = await storedByTag(tag)
      expectRedacted(stored!, tag)
      expect(stored!.metadata.password).toBe('[REDACTED:secret_fields]')
      expect(stored!.metadata.user).toEqual({ id: 'u-42', session_token: '[REDACTED:secret_fields]' })
      // The scheme stays: what kind of credential it was is not the secret.
      expect(stored!.metadata.note).toBe('auth Bearer [REDACTED:authorization]')
    }
  })

  it('OTLP, Loki push, Elasticsearch bulk and syslog go through the same stage', async () => {
    const e = secretsEntry('otlp')
    const otlp = await t.app.inject({
      method: 'POST',
      url: '/v1/logs',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/json' },
      payload: encodeOtlpJson(otlpRequestOf([{ message: e.message, service: 'otel-svc', metadata: e.metadata }])),
    })
    expect(otlp.statusCode, otlp.body).toBe(200)

    const ns = `${BigInt(t.clock.now().getTime()) * 1_000_000n}`
    const loki = await t.app.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/json' },
      payload: { streams: [{ stream: { service_name: 'loki-svc' }, values: [[ns, secretsEntry('loki').message, { password: PASSWORD }]] }] },
    })
    expect(loki.statusCode, loki.body).toBe(204)

    const es = await t.app.inject({
      method: 'POST',
      url: '/es/_bulk',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/x-ndjson' },
      payload: `{"create":{"_index":"es"}}\n${JSON.stringify({ ...secretsEntry('es').metadata, message: secretsEntry('es').message, '@timestamp': t.clock.now().toISOString() })}\n`,
    })
    expect(es.statusCode, es.body).toBe(200)
    expect(es.json().errors).toBe(false)

    const socket = dgram.createSocket('udp4')
    const line = `<11>1 ${t.clock.now().toISOString()} host app - - [meta password="${PASSWORD}"] ${secretsEntry('syslog').message}`
    await new Promise<void>((resolve, reject) => socket.send(line, s.listeners[0]!.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
    socket.close()

    for (const tag of ['otlp', 'loki', 'es']) {
      const [stored] = await storedByTag(tag)
      expect(stored, tag).toBeDefined()
      expectRedacted(stored!, tag)
    }
    const loki0 = (await storedByTag('loki'))[0]!
    expect(loki0.metadata.password).toBe('[REDACTED:secret_fields]')
    const syslog = await eventually(async () => (await storedByTag('syslog'))[0], 'the syslog message stored')
    expectRedacted(syslog, 'syslog')
    expect(syslog.metadata.sd.meta.password).toBe('[REDACTED:secret_fields]')
  })

  it("counts bytes_in and the daily limit on the redacted entry, and serve's log never holds a secret", async () => {
    const fresh = await t.project({ name: `bytes-${randomUUID().slice(0, 8)}` })
    const big = 'p'.repeat(5000)
    await ingestBatch([{ message: 'bytes', metadata: { password: big } }], fresh.ingest_token)
    // A refused line beside it: the refusal is logged (field and reason), never the values.
    const mixed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest/batch',
      headers: bearer(fresh.ingest_token),
      payload: [{ message: `ok ${BEARER}`, metadata: { password: PASSWORD } }, { message: 42, password: PASSWORD }],
    })
    expect(mixed.json().data).toMatchObject({ accepted: 1, rejected: 1 })
    t.meta.pragma('wal_checkpoint')
    const usage = (await api('GET', `/logs/projects/${fresh.id}/usage?days=1`)).json().data
    const today = usage.days?.[0] ?? usage[0]
    const bytes = today.bytes_in ?? today.bytes
    // "bytes" + "default" + {"password":"[REDACTED:secret_fields]"} and the second entry: far below the 5,000 sent.
    expect(bytes).toBeGreaterThan(0)
    expect(bytes).toBeLessThan(500)
    const logs = t.logs() + s.logs()
    for (const secret of [...SECRETS, big]) expect(logs).not.toContain(secret)
  })
})

describe('what reads stored entries sees them redacted', () => {
  it('an alert notification quotes the redacted entry', async () => {
    const p = await t.project({ name: `alert-${randomUUID().slice(0, 8)}` })
    const rule = await api('POST', '/logs/alerts', {
      project_id: p.id,
      name: 'leaky errors',
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'webhook', url: hooks.url('/alert'), secret: 'webhook-secret-1' }],
    })
    expect(rule.statusCode, rule.body).toBe(201)
    // A second back: the evaluation window ends at now.
    await ingestBatch([{ ...secretsEntry('alert'), level: 'error', timestamp: new Date(t.clock.now().getTime() - 1000).toISOString() }], p.ingest_token)
    const notifier = new Notifier({ meta: t.meta, config: t.config, clock: t.clock.now, sleep: async () => {} })
    try {
      const results = await new AlertEvaluator({ meta: t.meta, engine: t.engine, clock: t.clock.now, notifier, metrics: new Metrics() }).evaluateAll()
      expect(results.find((r) => r.rule_id === rule.json().data.id)?.outcome).toBe('opened')
      await notifier.drain()
    } finally {
      await notifier.close()
    }
    const [hook] = hooks.at('/alert')
    expect(hook, 'the rule fired').toBeDefined()
    expect(hook!.raw).toContain('[REDACTED:credit_card]')
    for (const secret of SECRETS) expect(hook!.raw).not.toContain(secret)
  })
})

describe('rules API', () => {
  it('lists the built-ins with their defaults, secret-like on, e-mail and IP off', async () => {
    const res = await api('GET', `/redaction/rules?project_id=${project.id}`)
    expect(res.statusCode, res.body).toBe(200)
    const rules = res.json().data as { id: string; enabled: boolean; builtin: boolean }[]
    expect(Object.fromEntries(rules.filter((r) => r.builtin).map((r) => [r.id, r.enabled]))).toEqual({
      'builtin:secret_fields': true,
      'builtin:private_key': true,
      'builtin:authorization': true,
      'builtin:jwt': true,
      'builtin:aws_access_key': true,
      'builtin:credit_card': true,
      'builtin:email': false,
      'builtin:ip_address': false,
    })
  })

  it('a hash rule keeps equal values equal and searchable; /redaction/test shows the hash of a value', async () => {
    const p = await t.project({ name: `hash-${randomUUID().slice(0, 8)}` })
    const created = await api('POST', '/redaction/rules', { project_id: p.id, name: 'user ids', field_names: ['user_id'], behavior: 'hash', applies_to: 'metadata' })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json().data).toMatchObject({ builtin: false, behavior: 'hash', field_names: ['user_id'], project_id: p.id, enabled: true })
    await ingestBatch(
      [
        { message: 'hash one', metadata: { user_id: 'alice@example.com' } },
        { message: 'hash two', metadata: { user_id: 'alice@example.com' } },
        { message: 'hash three', metadata: { user_id: 'bob@example.com' } },
      ],
      p.ingest_token,
    )
    const stored = await storedByTag('hash', p.id)
    const byMessage = Object.fromEntries(stored.map((e) => [e.message, e.metadata.user_id]))
    expect(byMessage['hash one']).toMatch(/^\[hash:[0-9a-f]{12}\]$/)
    expect(byMessage['hash two']).toBe(byMessage['hash one'])
    expect(byMessage['hash three']).not.toBe(byMessage['hash one'])
    expect(JSON.stringify(stored)).not.toContain('alice@example.com')

    const test = await api('POST', '/redaction/test', { project_id: p.id, entries: [{ message: 'x', metadata: { user_id: 'alice@example.com' } }], hash_values: ['alice@example.com'] })
    expect(test.statusCode, test.body).toBe(200)
    const hash = test.json().data.hashes['alice@example.com']
    expect(hash).toBe(byMessage['hash one'])
    expect(test.json().data.entries[0]).toMatchObject({ entry: { metadata: { user_id: hash } }, matched: ['user ids'] })
    // The rule is this project's only: another project stores the value as sent.
    await ingestBatch([{ message: 'hash elsewhere', metadata: { user_id: 'alice@example.com' } }])
    expect((await storedByTag('hash elsewhere'))[0]!.metadata.user_id).toBe('alice@example.com')

    // Searchable: the hash text finds both entries of alice.
    const to = new Date(t.clock.now().getTime() + 60_000).toISOString()
    const search = await api('GET', `/logs/search?project_id=${p.id}&to=${to}&q=${encodeURIComponent(`metadata.user_id:"${hash}"`)}`)
    expect(search.statusCode, search.body).toBe(200)
    expect(search.json().data.map((e: { message: string }) => e.message).sort()).toEqual(['hash one', 'hash two'])
  })

  it('dry run stores nothing and names the field of an invalid entry', async () => {
    const p = await t.project({ name: `dry-${randomUUID().slice(0, 8)}` })
    const res = await api('POST', '/redaction/test', { project_id: p.id, entries: [secretsEntry('dry')] })
    expect(res.statusCode, res.body).toBe(200)
    const [{ entry, matched }] = res.json().data.entries
    expectRedacted(entry, 'dry run')
    expect(matched).toEqual(['secret_fields', 'authorization', 'credit_card'])
    expect(await storedEntries(t, p.id)).toEqual([])
    const bad = await api('POST', '/redaction/test', { project_id: p.id, entries: [{ message: 'ok' }, { message: 'x', timestamp: 'yesterday-ish' }] })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.details[0].field).toBe('entries[1].timestamp')
  })

  it('changes apply to the next request without a restart: disable, change behavior, re-enable a built-in', async () => {
    const p = await t.project({ name: `change-${randomUUID().slice(0, 8)}` })
    const put = (body: unknown) => api('PUT', '/redaction/rules/builtin:secret_fields', body)
    try {
      expect((await put({ enabled: false })).json().data).toMatchObject({ id: 'builtin:secret_fields', enabled: false, builtin: true })
      await ingestBatch([{ message: 'change off', metadata: { password: 'plain-now' } }], p.ingest_token)
      expect((await storedByTag('change off', p.id))[0]!.metadata.password).toBe('plain-now')

      expect((await put({ enabled: true, behavior: 'remove' })).statusCode).toBe(200)
      await ingestBatch([{ message: 'change remove', metadata: { password: 'gone', keep: 1 } }], p.ingest_token)
      expect((await storedByTag('change remove', p.id))[0]!.metadata).toEqual({ keep: 1 })
    } finally {
      expect((await put({ enabled: true, behavior: 'mask' })).statusCode).toBe(200)
    }
    await ingestBatch([{ message: 'change back', metadata: { password: 'masked' } }], p.ingest_token)
    expect((await storedByTag('change back', p.id))[0]!.metadata.password).toBe('[REDACTED:secret_fields]')
  })

  it("picks up a rule another process wrote once the version check comes round (no restart)", async () => {
    const p = await t.project({ name: `other-proc-${randomUUID().slice(0, 8)}` })
    await ingestBatch([{ message: 'before order-123' }], p.ingest_token)
    const other = openMeta(t.paths.meta)
    try {
      insertCustomRule(other, t.teamId, { project_id: p.id, name: 'orders', pattern: 'order-[0-9]+', field_names: null, behavior: 'mask', applies_to: 'all', enabled: true }, new Date())
    } finally {
      other.close()
    }
    t.clock.advance(1000)
    await ingestBatch([{ message: 'after order-456' }], p.ingest_token)
    const messages = (await storedEntries(t, p.id)).map((e) => e.message)
    expect(messages).toEqual(['before order-123', 'after [REDACTED:orders]'])
  })

  it('refuses what cannot be changed, deleted or run, naming the field', async () => {
    const del = await api('DELETE', '/redaction/rules/builtin:jwt')
    expect(del.statusCode).toBe(400)
    expect(del.json().error.message).toMatch(/disable it instead/)
    const fixed = await api('PUT', '/redaction/rules/builtin:jwt', { pattern: 'x' })
    expect(fixed.statusCode).toBe(400)
    expect(fixed.json().error.details[0].field).toBe('pattern')
    for (const pattern of ['(a)\\1', '(?=secret)x', '(?<!a)b', '(unclosed']) {
      const res = await api('POST', '/redaction/rules', { project_id: project.id, name: 'bad', pattern })
      expect(res.statusCode, pattern).toBe(400)
      expect(res.json().error.details[0].field, pattern).toBe('pattern')
    }
    const none = await api('POST', '/redaction/rules', { project_id: project.id, name: 'empty' })
    expect(none.statusCode).toBe(400)
    expect(none.json().error.details[0].field).toBe('pattern')
    expect((await api('PUT', `/redaction/rules/${randomUUID()}`, { enabled: false })).statusCode).toBe(404)
    expect((await api('GET', '/redaction/rules/builtin:nope')).statusCode).toBe(404)
    expect((await api('DELETE', '/redaction/rules/builtin:nope')).statusCode).toBe(404)
  })

  it('a catastrophic-backtracking pattern cannot stall ingest', async () => {
    const p = await t.project({ name: `redos-${randomUUID().slice(0, 8)}` })
    const rule = await api('POST', '/redaction/rules', { project_id: p.id, name: 'redos', pattern: '(a+)+$' })
    expect(rule.statusCode, rule.body).toBe(201)
    // On a backtracking engine this input takes 2^50 steps; on the linear one it finishes.
    const message = `${'a'.repeat(50_000)}!`
    await ingestBatch([{ message }, { message: 'redos tail aaaa' }], p.ingest_token)
    const stored = (await storedEntries(t, p.id)).map((e) => e.message)
    expect(stored).toContain(message)
    expect(stored).toContain('redos tail [REDACTED:redos]')
  })

  it('team-wide rules apply to every project, are audit-logged, and delete cleanly', async () => {
    const a = await t.project({ name: `team-a-${randomUUID().slice(0, 8)}` })
    const b = await t.project({ name: `team-b-${randomUUID().slice(0, 8)}` })
    const created = (await api('POST', '/redaction/rules', { name: 'employee ids', pattern: 'EMP-[0-9]{6}', behavior: 'mask', applies_to: 'message' })).json().data
    expect(created.project_id).toBeNull()
    await ingestBatch([{ message: 'team EMP-123456 a', metadata: { x: 'EMP-654321' } }], a.ingest_token)
    await ingestBatch([{ message: 'team EMP-123456 b' }], b.ingest_token)
    const storedA = (await storedEntries(t, a.id))[0]!
    expect(storedA.message).toBe('team [REDACTED:employee ids] a')
    // applies_to: message leaves metadata alone.
    expect(storedA.metadata.x).toBe('EMP-654321')
    expect((await storedEntries(t, b.id))[0]!.message).toBe('team [REDACTED:employee ids] b')

    const updated = await api('PUT', `/redaction/rules/${created.id}`, { applies_to: 'all' })
    expect(updated.json().data.applies_to).toBe('all')
    expect((await api('DELETE', `/redaction/rules/${created.id}`)).statusCode).toBe(204)
    await ingestBatch([{ message: 'after EMP-000001' }], a.ingest_token)
    expect((await storedEntries(t, a.id)).map((e) => e.message)).toContain('after EMP-000001')

    const audit: { action: string; target_id: string }[] = []
    for (const action of ['redaction_rule.create', 'redaction_rule.update', 'redaction_rule.delete']) {
      const res = await api('GET', `/audit-logs?action=${action}&limit=100`)
      expect(res.statusCode, res.body).toBe(200)
      audit.push(...res.json().data)
    }
    expect(audit.filter((e) => e.target_id === created.id).map((e) => e.action).sort()).toEqual(['redaction_rule.create', 'redaction_rule.delete', 'redaction_rule.update'])
  })
})

describe('the hash key', () => {
  it('is made once per install, kept in meta.sqlite (0600) and so in every backup', async () => {
    const res = await api('POST', '/admin/backups', { keep: 1 })
    expect(res.statusCode, res.body).toBe(201)
    const dir = res.json().data.path as string
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
    expect(manifest.files.map((f: { name: string }) => f.name)).toContain('meta.sqlite')
    const copy = new Database(path.join(dir, 'meta.sqlite'), { readonly: true })
    const live = t.meta.prepare(`SELECT value FROM install_state WHERE name = 'redaction_key'`).get() as { value: Buffer }
    const backedUp = copy.prepare(`SELECT value FROM install_state WHERE name = 'redaction_key'`).get() as { value: Buffer }
    copy.close()
    expect(live.value.length).toBe(32)
    expect(Buffer.compare(backedUp.value, live.value)).toBe(0)
  })
})
