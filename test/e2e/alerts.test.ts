import { createHmac } from 'node:crypto'
import { rmSync } from 'node:fs'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { startServe, waitFor, cliFor, apiFor, stopServe } from '../helpers/cli.js'
import { startSmtpServer, startWebhookReceiver } from '../helpers/receivers.js'

// serve's alert scheduler and `krafter-logs alert list|test` as the real built CLI.
const home = tempDir('alerts-e2e')
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>
let env: Record<string, string>
let serve: { proc: ResultPromise; url: string } | undefined
let teamKey: string
let ruleId: string

const cli = cliFor(() => env)
const api = apiFor(() => serve!.url, () => teamKey)

beforeAll(async () => {
  smtp = await startSmtpServer()
  hooks = await startWebhookReceiver()
  env = {
    KRAFTER_HOME: home,
    KRAFTER_LOG_LEVEL: 'warn',
    // The webhook receiver listens on loopback, which webhooks may reach only when allowed.
    KRAFTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS: 'true',
    KRAFTER_ALERTS_EVALUATE_EVERY_SECONDS: '5',
    KRAFTER_SMTP_HOST: '127.0.0.1',
    KRAFTER_SMTP_PORT: String(smtp.port),
  }
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  teamKey = JSON.parse(init.stdout).team_api_key
  const created = await cli('project', 'create', 'shop', '--json')
  expect(created.exitCode, created.stderr).toBe(0)
  const { id: projectId, ingest_token: token } = JSON.parse(created.stdout)
  serve = await startServe(home, env)
  const sent = await fetch(`${serve.url}/api/v1/logs/ingest/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: ['db down', 'db still down', 'all good'].map((m, i) => JSON.stringify({ message: m, level: i < 2 ? 'error' : 'info' })).join('\n'),
  })
  expect(sent.status).toBe(202)
  const rule = await api('POST', '/logs/alerts', {
    project_id: projectId,
    name: 'DB errors',
    query: 'level:error db',
    condition: { type: 'count', threshold: 2, window_minutes: 10 },
    channels: [
      { type: 'email', to: ['oncall@example.com'] },
      { type: 'webhook', url: hooks.url('/e2e'), secret: 'e2e-secret-value' },
    ],
  })
  expect(rule.status, JSON.stringify(rule.body)).toBe(201)
  ruleId = rule.body.data.id
})

afterAll(async () => {
  await stopServe(serve)
  await hooks?.close()
  await smtp?.close()
  rmSync(home, { recursive: true, force: true })
})

describe('alerts in a running serve', () => {
  it('serve evaluates rules on its schedule and notifies every channel', async () => {
    const hook = await waitFor(() => hooks.at('/e2e')[0], 20_000)
    expect(hook.headers['x-krafter-signature']).toBe(`sha256=${createHmac('sha256', 'e2e-secret-value').update(hook.raw).digest('hex')}`)
    expect(JSON.parse(hook.raw)).toMatchObject({ type: 'alert.firing', rule: { id: ruleId, project_name: 'shop' }, firing: { matched: 2, status: 'open' } })
    const mail = await waitFor(() => smtp.mails[0], 10_000)
    expect(mail.subject).toBe('[Krafter Logs] FIRING: DB errors (shop)')
    expect(mail.text).toContain('db still down')
    const listed = await cli('alert', 'list', '--json')
    expect(listed.exitCode, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout)[0]).toMatchObject({ id: ruleId, last_value: 2, last_error: null, last_fired_at: expect.any(String) })
    const events = await api('GET', `/logs/alerts/${ruleId}/events`)
    expect(events.body.data).toHaveLength(1)
  })

  it('`alert test` goes through serve, reports each delivery, and exits 1 when one fails', async () => {
    const good = await cli('alert', 'test', ruleId, '--json')
    expect(good.exitCode, good.stderr).toBe(0)
    const out = JSON.parse(good.stdout)
    expect(out).toMatchObject({ ok: true, via: 'server', rule_id: ruleId })
    expect(out.deliveries.map((d: { channel: string; ok: boolean }) => [d.channel, d.ok])).toEqual([
      ['email', true],
      ['webhook', true],
    ])
    expect(smtp.mails.some((m) => m.subject?.includes('[TEST] DB errors'))).toBe(true)

    hooks.set('/broken', { status: 500 })
    const put = await api('PUT', `/logs/alerts/${ruleId}`, {
      channels: [
        { type: 'webhook', url: hooks.url('/e2e') },
        { type: 'webhook', url: hooks.url('/broken'), secret: 'broken-secret' },
      ],
    })
    expect(put.status).toBe(200)
    const bad = await cli('alert', 'test', ruleId)
    expect(bad.exitCode).toBe(1)
    expect(bad.stdout).toMatch(/webhook .*\/broken\s+FAILED\s+500/)
    expect(bad.stderr).toContain('1 of 2 deliveries failed')
    expect(hooks.at('/broken')).toHaveLength(1)
  })

  it('`alert test` works directly when serve is stopped, and refuses unknown rules', async () => {
    serve!.proc.kill('SIGTERM')
    expect((await serve!.proc).exitCode).toBe(0)
    const direct = await cli('alert', 'test', ruleId, '--json')
    expect(direct.exitCode).toBe(1)
    const out = JSON.parse(direct.stdout)
    expect(out).toMatchObject({ ok: false, via: 'direct' })
    expect(out.deliveries.map((d: { ok: boolean; status_code: number }) => [d.ok, d.status_code])).toEqual([
      [true, 200],
      [false, 500],
    ])
    const unknown = await cli('alert', 'test', '00000000-0000-4000-8000-000000000000', '--json')
    expect(unknown.exitCode).toBe(1)
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'not_found', message: 'Alert rule not found' })
  })
})
