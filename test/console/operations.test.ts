import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, type PageProblems, screenshotPath } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'
import { startWebhookReceiver } from '../helpers/receivers.js'

// The console's operations pages against a real serve: projects (token once, edit, rotation
// with grace, usage, streams, delete), alert rules (preview, enable/disable, test, firings
// acknowledged and resolved), API keys (a read-only key signs in to a console without write
// buttons, and its session ends when it is revoked) and the audit log.
let server: ConsoleServer
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>

beforeAll(async () => {
  hooks = await startWebhookReceiver()
  server = await startConsoleServer('console-ops', {
    // The evaluator at its fastest, so a rule that holds fires while the test waits for it.
    KRAFTER_ALERTS_EVALUATE_EVERY_SECONDS: '5',
    // The webhook receiver listens on loopback.
    KRAFTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS: 'true',
  })
})
afterAll(async () => {
  await server?.close()
  await hooks?.close()
})

const open = async (): Promise<{ context: BrowserContext; problems: PageProblems; page: Page }> => {
  const { context, problems } = await newContext(server.browser)
  return { context, problems, page: await context.newPage() }
}

const signIn = async (page: Page, path: string, key = server.teamKey) => {
  await page.goto(`${server.url}${path}`)
  await page.fill('input[name=api_key]', key)
  await page.click('button[type=submit]')
  await page.waitForSelector('[data-testid=who]')
}

/** bytes_in of an entry as docs/api.md counts it: UTF-8 of message, stream, service, trace/span ids and the metadata JSON. */
const bytesOf = (e: { message: string; stream: string; service: string; metadata: object }) =>
  Buffer.byteLength(e.message) + Buffer.byteLength(e.stream) + Buffer.byteLength(e.service) + Buffer.byteLength(JSON.stringify(e.metadata))

const ingestAnswer = async (token: string, entries: object[]) =>
  (await fetch(`${server.url}/api/v1/logs/ingest/batch`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(entries) })).status

describe('console projects page', () => {
  it('creates a project with its token shown once, edits, rotates with grace, shows usage and streams, and deletes it by typing its name', async () => {
    const { context, problems, page } = await open()
    await signIn(page, '/projects')
    await page.waitForSelector('[data-testid=projects]')

    // Create: the token is shown once, with the warning and a copy button.
    await page.click('[data-testid=project-new]')
    await page.fill('[data-testid=project-form] input[name=name]', 'checkout')
    await page.fill('[data-testid=project-form] input[name=retention_days]', '7')
    await page.fill('[data-testid=project-form] input[name=daily_limit_mb]', '2')
    await page.press('[data-testid=project-form] input[name=daily_limit_mb]', 'Enter')
    const tokenBox = page.locator('[data-testid=ingest-token]')
    await tokenBox.waitFor()
    const token = (await tokenBox.textContent())!
    expect(token).toMatch(/^krl_live_[a-z0-9]{32}$/)
    expect(await page.locator('[data-testid=project-created]').textContent()).toContain('you will not see this again')
    expect(await page.locator('[data-testid=project-created] button', { hasText: 'Copy' }).count()).toBe(1)
    const shot = screenshotPath('projects-token')
    if (shot) await page.screenshot({ path: shot })

    // The created project, as the API has it.
    const listed = await server.api('GET', '/logs/projects')
    const project = listed.body.data.find((p: { name: string }) => p.name === 'checkout')
    expect(project).toMatchObject({ retention_days: 7, daily_limit_mb: 2, ingest_token_prefix: token.slice(0, 12) })

    // A name already taken: the 409 shows next to the field.
    await page.click('[data-testid=project-created] button:has-text("Done")')
    await page.click('[data-testid=project-new]')
    await page.fill('[data-testid=project-form] input[name=name]', 'CHECKOUT')
    await page.press('[data-testid=project-form] input[name=name]', 'Enter')
    await page.waitForSelector('[data-testid=project-form] [data-testid=field-error][data-field=name]')
    expect(await page.textContent('[data-testid=project-form] [data-testid=field-error][data-field=name]')).toContain('already taken')
    await page.keyboard.press('Escape')
    await page.waitForSelector('[data-testid=project-form]', { state: 'detached' })

    // The token works for ingest. Entries in two streams.
    const entries = [
      { level: 'info', service: 'web', stream: 'frontend', message: 'GET /cart 200', metadata: { status: 200 } },
      { level: 'error', service: 'web', stream: 'frontend', message: 'GET /pay 502', metadata: { status: 502 } },
      { level: 'info', service: 'worker', stream: 'jobs', message: 'mail sent', metadata: {} },
    ]
    await server.ingest(token, entries)
    let bytes = entries.reduce((s, e) => s + bytesOf(e), 0)

    // After a reload (list, then the project page) the token is shown nowhere, only its prefix.
    await page.reload()
    await page.waitForSelector(`[data-testid=project-row][data-id="${project.id}"]`)
    expect(await page.content()).not.toContain(token)
    await page.click(`[data-testid=project-row][data-id="${project.id}"] a`)
    await expect.poll(() => new URL(page.url()).searchParams.get('id')).toBe(project.id)
    await page.waitForSelector('[data-testid=usage-today]')
    expect(await page.content()).not.toContain(token)
    expect(await page.textContent('[data-testid=project-token-prefix]')).toBe(`${token.slice(0, 12)}…`)
    expect(await page.getAttribute('[data-testid=project-explore]', 'href')).toBe(`/?project=${project.id}`)

    // Usage: today's bytes are the bytes ingested, against the 2 MB limit.
    expect(Number(await page.getAttribute('[data-testid=usage-today]', 'data-bytes'))).toBe(bytes)
    expect(await page.locator('[data-testid=usage-day]').count()).toBe(7)
    const today = page.locator('[data-testid=usage-day]').first()
    expect(Number(await today.getAttribute('data-bytes'))).toBe(bytes)
    expect(Number(await today.getAttribute('data-entries'))).toBe(3)
    expect(await page.textContent('[data-testid=usage-today]')).toContain('of 2.0 MB')
    // Streams: both, as ingested.
    expect((await page.$$eval('[data-testid=stream]', (els) => els.map((e) => e.getAttribute('data-name')))).sort()).toEqual(['frontend', 'jobs'])

    // Edit: an invalid retention is refused next to its field, then 30 days is saved.
    await page.click('[data-testid=project-edit]')
    await page.fill('[data-testid=project-edit-form] input[name=retention_days]', '500')
    await page.press('[data-testid=project-edit-form] input[name=retention_days]', 'Enter')
    await page.waitForSelector('[data-testid=project-edit-form] [data-testid=field-error][data-field=retention_days]')
    expect(await page.textContent('[data-testid=field-error][data-field=retention_days]')).toBe('must be an integer from 1 to 90')
    await page.fill('[data-testid=project-edit-form] input[name=retention_days]', '30')
    await page.press('[data-testid=project-edit-form] input[name=retention_days]', 'Enter')
    await page.waitForSelector('[data-testid=project-edit-form]', { state: 'detached' })
    await expect.poll(() => page.getAttribute('[data-testid=project-retention]', 'data-value')).toBe('30')
    expect((await server.api('GET', `/logs/projects/${project.id}`)).body.data.retention_days).toBe(30)

    // Rotate with an hour of grace: the new token is shown once; old and new both ingest.
    await page.click('[data-testid=project-rotate]')
    await page.check('[data-testid=grace-3600]')
    await page.click('[data-testid=rotate-submit]')
    const rotatedBox = page.locator('[data-testid=project-rotate-form] [data-testid=ingest-token]')
    await rotatedBox.waitFor()
    const rotated = (await rotatedBox.textContent())!
    expect(rotated).toMatch(/^krl_live_[a-z0-9]{32}$/)
    expect(rotated).not.toBe(token)
    expect(await page.textContent('[data-testid=project-rotate-form]')).toContain('you will not see this again')
    await page.keyboard.press('Escape')
    await expect.poll(() => page.textContent('[data-testid=project-token-prefix]')).toBe(`${rotated.slice(0, 12)}…`)
    const late = [
      { level: 'info', service: 'web', stream: 'frontend', message: 'old token still works', metadata: {} },
      { level: 'info', service: 'web', stream: 'checkout-api', message: 'new token works', metadata: {} },
    ]
    await server.ingest(token, [late[0]!])
    await server.ingest(rotated, [late[1]!])
    bytes += late.reduce((s, e) => s + bytesOf(e), 0)
    // A token that was never issued is refused: the two answers above mean something.
    expect(await ingestAnswer(`krl_live_${'0'.repeat(32)}`, [late[0]!])).toBe(401)

    // The new stream and the new bytes show after a reload.
    await page.reload()
    await page.waitForSelector('[data-testid=usage-today]')
    expect(Number(await page.getAttribute('[data-testid=usage-today]', 'data-bytes'))).toBe(bytes)
    expect(await page.content()).not.toContain(rotated)
    expect((await page.$$eval('[data-testid=stream]', (els) => els.map((e) => e.getAttribute('data-name')))).sort()).toEqual(['checkout-api', 'frontend', 'jobs'])
    const shot2 = screenshotPath('projects')
    if (shot2) await page.screenshot({ path: shot2 })

    // Delete: the button stays off until the name is typed exactly.
    await page.click('[data-testid=project-delete]')
    const confirm = page.locator('[data-testid=confirm] [data-testid=confirm-button]')
    expect(await confirm.isDisabled()).toBe(true)
    await page.fill('[data-testid=confirm-input]', 'Checkout')
    expect(await confirm.isDisabled()).toBe(true)
    await page.fill('[data-testid=confirm-input]', 'checkout')
    await page.press('[data-testid=confirm-input]', 'Enter')
    await expect.poll(() => new URL(page.url()).searchParams.get('id')).toBe(null)
    await page.waitForSelector('[data-testid=projects][aria-busy=false]')
    expect(await page.locator(`[data-testid=project-row][data-id="${project.id}"]`).count()).toBe(0)
    expect((await server.api('GET', `/logs/projects/${project.id}`)).status).toBe(404)
    // Its tokens are revoked with it.
    expect(await ingestAnswer(rotated, [late[1]!])).toBe(401)

    // The audit log lists the creation, by this session's key.
    await page.click('nav >> text=Audit log')
    const created = page.locator(`[data-testid=audit-entry][data-action="project.create"][data-target="${project.id}"]`)
    await created.waitFor()
    expect(await created.getAttribute('data-actor')).toBe(server.teamKey.slice(0, 12))
    for (const action of ['project.update', 'project.rotate_token', 'project.delete']) {
      expect(await page.locator(`[data-testid=audit-entry][data-action="${action}"][data-target="${project.id}"]`).count()).toBe(1)
    }
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })
})

/** Four errors at one instant (so they share every evaluation window), as a burst. */
const burst = (at: number, n = 4) => Array.from({ length: n }, (_, i) => ({ timestamp: new Date(at).toISOString(), level: 'error', service: 'pay', stream: 'app', message: `payment ${i} declined by bank`, metadata: {} }))

/** The preview's firing count once it is not loading (null while it is). */
const previewFirings = async (page: Page): Promise<string | null> => {
  const el = page.locator('[data-testid=alert-preview]')
  return (await el.getAttribute('data-state')) === 'ready' ? el.getAttribute('data-firings') : null
}

describe('console alerts page', () => {
  it('creates a rule with a 24 h preview that counts the bursts ingested, toggles it, tests it, and acknowledges and resolves its firing', async () => {
    const project = await server.project('payments')
    const now = Date.now()
    const hour = 3_600_000
    // Three past bursts hours apart and one a minute ago (which also makes the rule fire now),
    // among info entries that the query does not match.
    await server.ingest(project.ingest_token, [
      ...burst(now - 20 * hour),
      ...burst(now - 10 * hour),
      ...burst(now - 3 * hour),
      ...burst(now - 60_000),
      ...Array.from({ length: 12 }, (_, i) => ({ timestamp: new Date(now - i * 2 * hour).toISOString(), level: 'info', service: 'pay', stream: 'app', message: 'payment accepted', metadata: {} })),
    ])

    const { context, problems, page } = await open()
    const previews: string[] = []
    page.on('request', (r) => void (r.url().endsWith('/logs/alerts/preview') && previews.push(r.postData() ?? '')))
    await signIn(page, '/alerts')
    await page.waitForSelector('[data-testid=alert-rules][aria-busy=false]')
    await page.click('[data-testid=alert-new]')
    const form = page.locator('[data-testid=alert-form]')
    await form.locator('select[name=project_id]').selectOption(project.id)
    await form.locator('input[name=name]').fill('Declined payments')
    await form.locator('input[name=query]').fill('level:error declined')
    await form.locator('input[name=threshold]').fill('3')
    await form.locator('input[name=window_minutes]').fill('10')
    // Each burst holds at one instant: four firings, each marked on the sparkline.
    await expect.poll(() => previewFirings(page), { timeout: 15_000 }).toBe('4')
    expect(await page.textContent('[data-testid=alert-preview]')).toContain('Would have fired 4 times in the last 24 h')
    expect(await page.locator('[data-testid=alert-preview-met]').count()).toBe(4)
    expect(await page.locator('[data-testid=alert-preview-fired]').count()).toBe(4)
    // The last request carried the whole form as it stands.
    expect(JSON.parse(previews.at(-1)!)).toMatchObject({ project_id: project.id, query: 'level:error declined', condition: { type: 'count', threshold: 3, window_minutes: 10 }, cooldown_minutes: 15 })

    // A threshold above the bursts: never.
    await form.locator('input[name=threshold]').fill('5')
    await expect.poll(() => previewFirings(page)).toBe('0')
    // A rate rule: 4 of the 5 entries in the window of each burst (one with an info entry) or 4 of 4.
    await page.check('[data-testid=condition-rate]')
    await form.locator('input[name=threshold_percent]').fill('50')
    await form.locator('input[name=min_entries]').fill('4')
    await expect.poll(() => previewFirings(page)).toBe('4')
    await page.check('[data-testid=condition-count]')
    await form.locator('input[name=threshold]').fill('3')
    await expect.poll(() => previewFirings(page)).toBe('4')

    // A malformed query: the 400 names the field, and no count is shown.
    await form.locator('input[name=query]').fill('level:error (declined')
    await page.waitForSelector('[data-testid=alert-preview-error][data-field=query]')
    expect(await page.getAttribute('[data-testid=alert-preview]', 'data-firings')).toBe(null)
    expect(await page.textContent('[data-testid=alert-preview-error]')).toContain('query')

    // Typing in bursts sends one request per pause: the edits below make at most two.
    const before = previews.length
    await form.locator('input[name=query]').fill('')
    await form.locator('input[name=query]').pressSequentially('level:error declined')
    await expect.poll(() => previewFirings(page)).toBe('4')
    expect(previews.length - before).toBeLessThanOrEqual(2)

    // Channels: the default e-mail channel replaced by a webhook; cooldown 0 keeps the default rule shape valid.
    await form.locator('[data-testid=channel] button:has-text("Remove")').click()
    await page.click('[data-testid=add-webhook]')
    await form.locator('input[name="channels.0.url"]').fill('ftp://nowhere')
    await form.locator('input[name=name]').press('Enter')
    await page.waitForSelector('[data-testid=alert-form] [data-testid=field-error][data-field="channels.0.url"]')
    await form.locator('input[name="channels.0.url"]').fill(hooks.url('/ops'))
    const shot = screenshotPath('alert-form')
    if (shot) await page.screenshot({ path: shot })
    await form.locator('input[name="channels.0.url"]').press('Enter')
    // The generated webhook secret is shown once.
    await page.waitForSelector('[data-testid=alert-created] [data-testid=webhook-secret]')
    expect(await page.textContent('[data-testid=webhook-secret]')).toMatch(/^whsec_/)
    await page.click('[data-testid=alert-created] button:has-text("Done")')

    const rules = (await server.api('GET', `/logs/alerts?project_id=${project.id}`)).body.data
    expect(rules).toHaveLength(1)
    const rule = rules[0]
    expect(rule).toMatchObject({ name: 'Declined payments', query: 'level:error declined', condition: { type: 'count', threshold: 3, window_minutes: 10 }, channels: [{ type: 'webhook', url: hooks.url('/ops') }], enabled: true })
    const row = page.locator(`[data-testid=alert-rule][data-id="${rule.id}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain('≥ 3 matching in 10 min')

    // Disable and enable again: the switch says it, the API agrees.
    await row.locator('[data-testid=alert-enabled]').click()
    await expect.poll(() => row.getAttribute('data-enabled')).toBe('false')
    expect(await row.locator('[data-testid=alert-enabled]').getAttribute('aria-checked')).toBe('false')
    expect((await server.api('GET', `/logs/alerts/${rule.id}`)).body.data.enabled).toBe(false)
    await row.locator('[data-testid=alert-enabled]').click()
    await expect.poll(() => row.getAttribute('data-enabled')).toBe('true')
    expect((await server.api('GET', `/logs/alerts/${rule.id}`)).body.data.enabled).toBe(true)

    // The rule's page: a test notification reaches the webhook and its result is shown.
    await row.locator('[data-testid=alert-open]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('rule')).toBe(rule.id)
    await page.click('[data-testid=alert-test]')
    await page.waitForSelector('[data-testid=alert-test-result]')
    expect(await page.getAttribute('[data-testid=alert-test-result]', 'data-ok')).toBe('true')
    expect(await page.$$eval('[data-testid=test-delivery]', (els) => els.map((e) => [e.getAttribute('data-channel'), e.getAttribute('data-ok')]))).toEqual([['webhook', 'true']])
    expect(hooks.at('/ops').some((h) => JSON.parse(h.raw).type === 'alert.test')).toBe(true)

    // serve's evaluator (every 5 s here) finds the burst of a minute ago and opens a firing.
    const event = page.locator('[data-testid=alert-event]').first()
    await expect.poll(
      async () => {
        await page.click('[data-testid=events-refresh]')
        await page.waitForSelector('[data-testid=alert-events][aria-busy=false]')
        return event.getAttribute('data-status').catch(() => null)
      },
      { timeout: 30_000, interval: 1000 },
    ).toBe('open')
    // The rule's page now has its last evaluation; the list shows the rule firing.
    expect(await page.textContent('[data-testid=alert-detail]')).not.toContain('not evaluated yet')
    const shot2 = screenshotPath('alert-rule')
    if (shot2) await page.screenshot({ path: shot2 })
    await page.keyboard.press('Escape')
    await page.waitForSelector('[data-testid=alert-detail]', { state: 'detached' })
    expect(new URL(page.url()).searchParams.get('rule')).toBe(null)
    await expect.poll(() => row.getAttribute('data-state')).toBe('firing')
    const shot3 = screenshotPath('alerts')
    if (shot3) await page.screenshot({ path: shot3 })
    await page.goBack()
    await page.waitForSelector('[data-testid=alert-detail] [data-testid=alert-event]')
    await event.locator('[data-testid=event-ack]').click()
    await expect.poll(() => event.getAttribute('data-status')).toBe('acknowledged')
    expect(await event.locator('[data-testid=event-ack]').count()).toBe(0)
    await event.locator('[data-testid=event-resolve]').click()
    await expect.poll(() => event.getAttribute('data-status')).toBe('resolved')
    expect(await event.locator('button').count()).toBe(0)
    expect(await event.textContent()).toContain('by hand')
    const events = (await server.api('GET', `/logs/alerts/${rule.id}/events`)).body.data
    expect(events[0]).toMatchObject({ status: 'resolved', resolved_by: 'manual', acknowledged_at: expect.any(String) })
    await expect.poll(() => row.getAttribute('data-state')).toBe('ok')

    // Edit from the rule's page: the form holds the rule, the new threshold is saved.
    await page.click('[data-testid=alert-detail-edit]')
    const edit = page.locator('[data-testid=alert-form]')
    expect(await edit.locator('input[name=query]').inputValue()).toBe('level:error declined')
    await edit.locator('input[name=threshold]').fill('4')
    await expect.poll(() => previewFirings(page)).toBe('4')
    await edit.locator('input[name=threshold]').press('Enter')
    await page.waitForSelector('[data-testid=alert-form]', { state: 'detached' })
    await expect.poll(() => row.textContent()).toContain('≥ 4 matching in 10 min')
    expect((await server.api('GET', `/logs/alerts/${rule.id}`)).body.data.condition.threshold).toBe(4)

    // Delete by typing its name.
    await page.click('[data-testid=alert-delete]')
    await page.fill('[data-testid=confirm-input]', 'Declined payments')
    await page.click('[data-testid=confirm-button]')
    await page.waitForSelector('[data-testid=alert-detail]', { state: 'detached' })
    await expect.poll(() => page.locator(`[data-testid=alert-rule][data-id="${rule.id}"]`).count()).toBe(0)
    expect((await server.api('GET', `/logs/alerts/${rule.id}`)).status).toBe(404)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })
})

describe('console API keys page', () => {
  it('creates a read-only key shown once; signed in with it the console has no write buttons, and revoking it ends that session', async () => {
    // A project the key may read, with a rule that has fired, and one it may not.
    const inventory = await server.project('inventory')
    const hidden = await server.project('hidden')
    await server.ingest(inventory.ingest_token, burst(Date.now() - 30_000))
    const created = await server.api('POST', '/logs/alerts', {
      project_id: inventory.id,
      name: 'Inventory errors',
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 60 },
      channels: [{ type: 'webhook', url: hooks.url('/inventory') }],
    })
    expect(created.status).toBe(201)
    const ruleId = created.body.data.id
    await expect.poll(async () => (await server.api('GET', `/logs/alerts/${ruleId}/events`)).body.data.length, { timeout: 30_000, interval: 500 }).toBe(1)

    const admin = await open()
    await signIn(admin.page, '/keys')
    await admin.page.waitForSelector('[data-testid=keys][aria-busy=false]')
    await admin.page.click('[data-testid=key-new]')
    const form = admin.page.locator('[data-testid=key-form]')
    await form.locator('input[name=name]').fill('dashboard')
    expect(await admin.page.isChecked('[data-testid="scope-logs:read"]')).toBe(true)
    expect(await admin.page.isChecked('[data-testid="scope-logs:write"]')).toBe(false)
    await admin.page.check('[data-testid=projects-some]')
    await form.locator(`[data-testid=key-project][data-name=inventory]`).check()
    await admin.page.selectOption('[data-testid=key-expiry]', '30')
    await form.locator('input[name=name]').press('Enter')
    const keyBox = admin.page.locator('[data-testid=api-key]')
    await keyBox.waitFor()
    const key = (await keyBox.textContent())!
    expect(key).toMatch(/^kr_live_[a-z0-9]{32}$/)
    expect(await admin.page.textContent('[data-testid=key-created]')).toContain('you will not see this again')
    expect(await admin.page.locator('[data-testid=key-created] button', { hasText: 'Copy' }).count()).toBe(1)
    await admin.page.click('[data-testid=key-created] button:has-text("Done")')

    const listed = (await server.api('GET', '/keys')).body.data.find((k: { name: string }) => k.name === 'dashboard')
    expect(listed).toMatchObject({ scopes: ['logs:read'], project_ids: [inventory.id], status: 'active', prefix: key.slice(0, 12) })
    const days = (Date.parse(listed.expires_at) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(29.9)
    expect(days).toBeLessThanOrEqual(30)
    const row = admin.page.locator(`[data-testid=key-row][data-id="${listed.id}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain('inventory')
    expect(await row.textContent()).toContain(`${key.slice(0, 12)}…`)
    await admin.page.reload()
    await row.waitFor()
    expect(await admin.page.content()).not.toContain(key)
    const shot = screenshotPath('keys')
    if (shot) await admin.page.screenshot({ path: shot })

    // Signed in with the read-only key: its project only, and no way to change anything.
    const ro = await open()
    await signIn(ro.page, '/projects', key)
    await ro.page.waitForSelector('[data-testid=projects][aria-busy=false]')
    expect(await ro.page.textContent('.topnav')).toContain('read-only')
    expect(await ro.page.locator('.topnav a').allTextContents()).toEqual(['Explore', 'Projects', 'Alerts'])
    expect(await ro.page.$$eval('[data-testid=project-row]', (els) => els.map((e) => e.getAttribute('data-name')))).toEqual(['inventory'])
    expect(await ro.page.locator(`[data-testid=project-row][data-id="${hidden.id}"]`).count()).toBe(0)
    /** Every button on the page but the harmless ones. */
    const writeButtons = () => ro.page.$$eval('button', (els) => els.map((e) => e.textContent!.trim()).filter((t) => !/^(Sign out|Refresh|\d+ days|✕|Copy)$/.test(t)))
    expect(await writeButtons()).toEqual([])
    await ro.page.click('[data-testid=project-row] a')
    await ro.page.waitForSelector('[data-testid=usage-today]')
    await ro.page.waitForSelector('[data-testid=streams]')
    expect(await ro.page.locator('[data-testid=project-edit], [data-testid=project-rotate], [data-testid=project-delete]').count()).toBe(0)
    expect(await writeButtons()).toEqual([])

    await ro.page.click('.topnav >> text=Alerts')
    const ruleRow = ro.page.locator(`[data-testid=alert-rule][data-id="${ruleId}"]`)
    await ruleRow.waitFor()
    expect(await ruleRow.getAttribute('data-state')).toBe('firing')
    expect(await ro.page.locator('[data-testid=alert-new], [data-testid=alert-enabled], [data-testid=alert-edit]').count()).toBe(0)
    expect(await ruleRow.locator('[data-testid=alert-enabled-text]').textContent()).toBe('on')
    expect(await writeButtons()).toEqual([])
    await ruleRow.locator('[data-testid=alert-open]').click()
    await ro.page.waitForSelector('[data-testid=alert-event][data-status=open]')
    expect(await ro.page.locator('[data-testid=alert-test], [data-testid=alert-delete], [data-testid=alert-detail-edit], [data-testid=event-ack], [data-testid=event-resolve]').count()).toBe(0)
    expect(await writeButtons()).toEqual([])
    // The admin pages are not there for it.
    await ro.page.goto(`${server.url}/keys`)
    await ro.page.waitForSelector('main h1')
    expect(await ro.page.textContent('main h1')).toBe('Not found')

    // Revoked from the admin's console: the read-only console's next request shows sign-in.
    await row.locator('[data-testid=key-revoke]').click()
    expect(await admin.page.textContent('[data-testid=confirm]')).toContain(key.slice(0, 12))
    await admin.page.click('[data-testid=confirm-button]')
    await expect.poll(() => row.getAttribute('data-status')).toBe('revoked')
    expect(await row.locator('[data-testid=key-revoke]').count()).toBe(0)
    await ro.page.click('.topnav >> text=Projects')
    await ro.page.waitForSelector('input[name=api_key]')
    expect((await server.api('GET', '/logs/projects', undefined, key)).status).toBe(401)

    expect(admin.problems).toEqual({ csp: [], errors: [] })
    expect(ro.problems).toEqual({ csp: [], errors: [] })
    await admin.context.close()
    await ro.context.close()
  })
})

describe('console audit page', () => {
  it('lists actions newest first, filters by action in the URL, and pages with Load more', async () => {
    const project = await server.project('audited')
    for (let i = 0; i < 60; i++) expect((await server.api('PUT', `/logs/projects/${project.id}`, { description: `revision ${i}` })).status).toBe(200)
    const { context, problems, page } = await open()
    await signIn(page, '/audit?action=project.update')
    await page.waitForSelector('[data-testid=audit][aria-busy=false]')
    const rows = () => page.$$eval('[data-testid=audit-entry]', (els) => els.map((e) => ({ action: e.getAttribute('data-action'), target: e.getAttribute('data-target'), time: e.querySelector('time')!.getAttribute('datetime')!, details: e.querySelector('.audit-details')!.textContent })))
    const first = await rows()
    expect(first).toHaveLength(50)
    expect(new Set(first.map((r) => r.action))).toEqual(new Set(['project.update']))
    // Newest first: the last revision heads the list.
    expect(first[0]).toMatchObject({ target: project.id, details: JSON.stringify({ changes: { description: 'revision 59' } }) })
    expect(first.map((r) => r.time)).toEqual([...first.map((r) => r.time)].sort().reverse())
    expect(await page.locator('[data-testid=audit-end]').count()).toBe(0)
    const shot = screenshotPath('audit')
    if (shot) await page.screenshot({ path: shot })
    // Load more until the end: every revision once, in order.
    while ((await page.locator('[data-testid=audit-end]').count()) === 0) {
      const n = (await rows()).length
      await page.click('[data-testid=audit-more]')
      await expect.poll(async () => (await rows()).length).toBeGreaterThan(n)
      await page.waitForSelector('[data-testid=audit][aria-busy=false]')
    }
    const all = (await rows()).filter((r) => r.target === project.id)
    expect(all.map((r) => JSON.parse(r.details!).changes.description)).toEqual(Array.from({ length: 60 }, (_, i) => `revision ${59 - i}`))
    // Another action from the select: the URL follows, the rows are that action's.
    await page.selectOption('[data-testid=audit-action]', 'project.create')
    await expect.poll(() => new URL(page.url()).searchParams.get('action')).toBe('project.create')
    await expect.poll(async () => (await rows()).some((r) => r.target === project.id && r.action === 'project.create')).toBe(true)
    expect(new Set((await rows()).map((r) => r.action))).toEqual(new Set(['project.create']))
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })
})
