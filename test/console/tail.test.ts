import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, screenshotPath } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'

// Live tail in the explorer over the real SSE stream: an entry ingested after the tail opened
// shows up, the query filters it, pause holds entries back until resume, and the screen keeps
// a bounded number of rows.
let server: ConsoleServer
let project: { id: string; ingest_token: string }

beforeAll(async () => {
  server = await startConsoleServer('console-tail')
  project = await server.project('live')
})
afterAll(async () => {
  await server?.close()
})

const openTail = async (path: string): Promise<{ page: Page; done: () => Promise<void> }> => {
  const { context, problems } = await newContext(server.browser)
  const page = await context.newPage()
  await page.goto(`${server.url}${path}`)
  await page.fill('input[name=api_key]', server.teamKey)
  await page.click('button[type=submit]')
  await page.waitForSelector('[data-testid=tail][data-status=live]')
  return {
    page,
    done: async () => {
      expect(problems).toEqual({ csp: [], errors: [] })
      await context.close()
    },
  }
}
const tailMessages = (page: Page) => page.$$eval('[data-testid=tail-row] .col-message', (els) => els.map((e) => e.textContent))

describe('console live tail', () => {
  it('shows newly ingested entries that match the query, newest on top; pause holds them until resume', async () => {
    const { page, done } = await openTail(`/?project=${project.id}&view=tail&q=service:api`)
    await server.ingest(project.ingest_token, [{ level: 'info', service: 'worker', message: 'not for this tail' }])
    await server.ingest(project.ingest_token, [{ level: 'error', service: 'api', message: 'first live entry' }])
    // Entries arrive in the order stored: once the api entry is shown, the worker one was passed over.
    await expect.poll(() => tailMessages(page)).toEqual(['first live entry'])
    await server.ingest(project.ingest_token, [{ level: 'info', service: 'api', message: 'second live entry' }])
    await expect.poll(() => tailMessages(page)).toEqual(['second live entry', 'first live entry'])
    const shot = screenshotPath('tail')
    if (shot) await page.screenshot({ path: shot })

    await page.click('[data-testid=tail-pause]')
    expect(await page.textContent('[data-testid=tail-status]')).toBe('paused')
    await server.ingest(project.ingest_token, [{ level: 'warn', service: 'api', message: 'while paused' }])
    await expect.poll(() => page.getAttribute('[data-testid=tail-count]', 'data-held')).toBe('1')
    expect(await tailMessages(page)).toEqual(['second live entry', 'first live entry'])
    expect(await page.textContent('[data-testid=tail-resume]')).toBe('Resume (1 new)')
    await page.click('[data-testid=tail-resume]')
    expect(await tailMessages(page)).toEqual(['while paused', 'second live entry', 'first live entry'])

    // A tail row opens like a list row.
    await page.click('[data-testid=tail-row] >> text=while paused')
    await page.waitForSelector('[data-testid=entry-json]')
    expect(JSON.parse((await page.textContent('[data-testid=entry-json]'))!).message).toBe('while paused')
    await done()
  })

  it('keeps at most 1000 rows on screen, the newest, and says how many it let go', async () => {
    const { page, done } = await openTail(`/?project=${project.id}&view=tail&q=service:flood`)
    await server.ingest(project.ingest_token, Array.from({ length: 1100 }, (_, i) => ({ level: 'info', service: 'flood', message: `flood ${i}` })))
    await expect.poll(() => page.getAttribute('[data-testid=tail-count]', 'data-count'), { timeout: 20_000 }).toBe('1000')
    await expect.poll(() => page.textContent('[data-testid=tail-count]')).toContain('100 older let go')
    const shown = await tailMessages(page)
    expect(shown[0]).toBe('flood 1099')
    expect(shown.at(-1)).toBe('flood 100')
    await done()
  })
})
