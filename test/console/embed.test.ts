import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, screenshotPath } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'

// The embeddable viewer at /embed?token=: a read-only explorer locked to the token's project
// and fixed filter, without a session. The server enforces the lock (test/api/viewer-tokens
// covers every route); here the page shows only what the token may see and offers no writes.
let server: ConsoleServer
let shop: { id: string; ingest_token: string }
let other: { id: string; ingest_token: string }

const now = Date.now()
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString()

beforeAll(async () => {
  server = await startConsoleServer('console-embed')
  shop = await server.project('shop')
  other = await server.project('other')
  await server.ingest(shop.ingest_token, [
    { timestamp: at(1), level: 'error', service: 'api', message: 'api failed once' },
    { timestamp: at(2), level: 'info', service: 'api', message: 'api served' },
    { timestamp: at(3), level: 'error', service: 'billing', message: 'billing secret failure' },
  ])
  await server.ingest(other.ingest_token, [{ timestamp: at(1), level: 'error', service: 'api', message: 'another project entirely' }])
})
afterAll(async () => {
  await server?.close()
})

const viewerToken = async (body: object): Promise<string> => {
  const r = await server.api('POST', '/viewer-tokens', body)
  expect(r.status).toBe(201)
  return r.body.data.token
}
const param = (page: Page, name: string) => new URL(page.url()).searchParams.get(name)
const rows = async (page: Page) => {
  await expect.poll(() => page.getAttribute('[data-testid=rows]', 'aria-busy')).toBe('false')
  return page.$$eval('[data-testid=row] .col-message', (els) => els.map((e) => e.textContent))
}

describe('embed viewer', () => {
  it('shows only the token project under its fixed filter, searches within it, tails it, and offers no writes', async () => {
    const token = await viewerToken({ project_id: shop.id, query: 'service:api', expires_in: 3600 })
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    // A project in the URL is not the token's: the viewer shows the token's project regardless.
    await page.goto(`${server.url}/embed?token=${token}&project=${other.id}`)
    expect(await rows(page)).toEqual(['api failed once', 'api served'])
    expect(await page.textContent('[data-testid=viewer-filter]')).toBe('service:api')
    // The histogram has its own request: wait for its answer rather than read it once.
    await expect.poll(async () => Number(await page.getAttribute('[data-testid=histogram]', 'data-total'))).toBe(2)
    const shot = screenshotPath('embed')
    if (shot) await page.screenshot({ path: shot })

    // Nothing to write, sign in to, export, or navigate to.
    for (const selector of ['[data-testid=sign-out]', '[data-testid=export]', '[data-testid=facets]', '[data-testid=view-patterns]', '[data-testid=project-picker]', 'nav', 'input[name=api_key]'])
      expect(await page.locator(selector).count(), selector).toBe(0)
    // No cookie was set and nothing was stored: the token lives in the URL only.
    expect(await context.cookies()).toEqual([])
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0])

    // A query narrows within the fixed filter; one that would reach billing finds nothing.
    await page.fill('#query-input', 'level:error')
    await page.press('#query-input', 'Enter')
    await expect.poll(() => rows(page)).toEqual(['api failed once'])
    // The viewer's state is in its URL beside the token: a reload shows the same.
    expect(param(page, 'q')).toBe('level:error')
    await page.reload()
    expect(await rows(page)).toEqual(['api failed once'])
    expect(await page.inputValue('#query-input')).toBe('level:error')
    await page.fill('#query-input', 'service:billing')
    await page.press('#query-input', 'Enter')
    await page.waitForSelector('[data-testid=no-results]')
    expect(await rows(page)).toEqual([])
    // A q that tries to widen it (OR at the top level) is refused as malformed on its own terms.
    await page.fill('#query-input', ') OR (service:billing')
    await page.press('#query-input', 'Enter')
    await page.waitForSelector('[data-testid=query-error]')
    expect(await page.locator('[data-testid=row]').count()).toBe(0)

    // Live tail of the locked view: a new api entry shows, a billing one does not.
    await page.fill('#query-input', '')
    await page.press('#query-input', 'Enter')
    await page.click('[data-testid=view-tail]')
    await page.waitForSelector('[data-testid=tail][data-status=live]')
    await server.ingest(shop.ingest_token, [{ level: 'error', service: 'billing', message: 'billing live' }])
    await server.ingest(other.ingest_token, [{ level: 'error', service: 'api', message: 'other live' }])
    await server.ingest(shop.ingest_token, [{ level: 'warn', service: 'api', message: 'api live' }])
    await expect.poll(() => page.$$eval('[data-testid=tail-row] .col-message', (els) => els.map((e) => e.textContent))).toEqual(['api live'])
    // Opening an entry works with the token too.
    await page.click('[data-testid=tail-row]')
    await page.waitForSelector('[data-testid=entry-json]')
    expect(JSON.parse((await page.textContent('[data-testid=entry-json]'))!).message).toBe('api live')
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('a tampered or missing token shows a message, not data', async () => {
    const token = await viewerToken({ project_id: shop.id, query: 'service:api' })
    const [h, p, s] = token.split('.') as [string, string, string]
    // Widen the claims (drop the fixed filter) and keep the old signature: the server refuses it.
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    delete claims.q
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await page.goto(`${server.url}/embed?token=${forged}`)
    await page.waitForSelector('[data-testid=embed-message]')
    expect(await page.textContent('[data-testid=embed-message] h1')).toBe('This viewer link is not valid')
    expect(await page.locator('[data-testid=row]').count()).toBe(0)
    await page.goto(`${server.url}/embed`)
    expect(await page.textContent('[data-testid=embed-message] h1')).toBe('No viewer token')
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })
})
