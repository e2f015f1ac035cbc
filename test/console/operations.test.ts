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
