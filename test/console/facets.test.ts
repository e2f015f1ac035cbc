import type { Page, Route } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, screenshotPath } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'

// The explorer's facets sidebar and patterns view against a real serve with known data: the
// counts shown are the counts ingested, include/exclude edit `q` in the URL and the counts
// follow, an added metadata path shows its values, and messages group into their templates.
let server: ConsoleServer
let project: { id: string; name: string; ingest_token: string }
let other: { id: string; name: string; ingest_token: string }

// 12 entries in the project: 5 logins (api, info, 200), 2 api and 2 billing failures (error,
// 500 / 503), 3 worker jobs (2 info + 1 warn, stream jobs, no http metadata).
const entries = (() => {
  const now = Date.now()
  const at = (i: number) => new Date(now - (i + 1) * 7_000).toISOString()
  const out: object[] = []
  for (let i = 0; i < 5; i++) out.push({ timestamp: at(out.length), level: 'info', service: 'api', stream: 'app', message: `user ${101 + i * 17} logged in from 10.0.${i}.${i * 3 + 1}`, metadata: { http: { status: 200 } } })
  for (let i = 0; i < 2; i++) out.push({ timestamp: at(out.length), level: 'error', service: 'api', stream: 'app', message: `request ${5000 + i} failed: "upstream timeout"`, metadata: { http: { status: 500 } } })
  for (let i = 0; i < 2; i++) out.push({ timestamp: at(out.length), level: 'error', service: 'billing', stream: 'app', message: `request ${7000 + i * 9} failed: 'card declined'`, metadata: { http: { status: 503 } } })
  for (let i = 0; i < 3; i++) out.push({ timestamp: at(out.length), level: i === 2 ? 'warn' : 'info', service: 'worker', stream: 'jobs', message: `job ${40 + i} done in ${12 + i * 100}ms`, metadata: { job: { kind: 'mail' } } })
  return out
})()

beforeAll(async () => {
  server = await startConsoleServer('console-facets')
  project = await server.project('shop')
  other = await server.project('elsewhere')
  await server.ingest(project.ingest_token, entries)
  // Another project's entries must never be counted.
  await server.ingest(other.ingest_token, [{ level: 'fatal', service: 'api', message: 'user 1 logged in from 10.9.9.9', metadata: { http: { status: 200 } } }])
})
afterAll(async () => {
  await server?.close()
})

type Row = { field: string; value: string; count: number; state: string | null }

/** The facet values shown once the sidebar is not loading, as field → value → count. */
const facets = async (page: Page): Promise<Record<string, Record<string, number>> | 'loading'> => {
  const busy = await page.getAttribute('[data-testid=facets]', 'aria-busy')
  if (busy !== 'false') return 'loading'
  const rows = await rowsOf(page)
  const out: Record<string, Record<string, number>> = {}
  for (const r of rows) (out[r.field] ??= {})[r.value] = r.count
  return out
}

const rowsOf = (page: Page): Promise<Row[]> =>
  page.$$eval('[data-testid=facet-value]', (els) =>
    els.map((e) => ({ field: e.getAttribute('data-field')!, value: e.getAttribute('data-value')!, count: Number(e.getAttribute('data-count')), state: e.getAttribute('data-state') })),
  )

const total = async (page: Page): Promise<number | 'loading'> => {
  if ((await page.getAttribute('[data-testid=facets]', 'aria-busy')) !== 'false') return 'loading'
  return Number(await page.getAttribute('[data-testid=facets-total]', 'data-count'))
}

const row = (page: Page, field: string, value: string) => page.locator(`[data-testid=facet-value][data-field="${field}"][data-value="${value}"]`)

const signIn = async (page: Page, path: string) => {
  await page.goto(`${server.url}${path}`)
  await page.fill('input[name=api_key]', server.teamKey)
  await page.click('button[type=submit]')
  await page.waitForSelector('[data-testid=who]')
}

describe('console facets sidebar', () => {
  it('counts what was ingested, includes and excludes values through q, and adds a metadata path', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${project.id}`)
    await page.waitForSelector('[data-testid=facets]')

    await expect.poll(() => total(page)).toBe(12)
    expect(await facets(page)).toEqual({
      level: { info: 7, error: 4, warn: 1 },
      service: { api: 7, worker: 3, billing: 2 },
      stream: { app: 9, jobs: 3 },
    })
    // Most frequent first, as the API orders them.
    expect((await rowsOf(page)).filter((r) => r.field === 'service').map((r) => r.value)).toEqual(['api', 'worker', 'billing'])
    const shot = screenshotPath('facets')
    if (shot) await page.screenshot({ path: shot })

    // Include service api: q gets the clause, the counts are api's only, the value shows included.
    await row(page, 'service', 'api').locator('[data-testid=facet-include]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('service:api')
    await expect.poll(() => total(page)).toBe(7)
    expect(await facets(page)).toEqual({ level: { info: 5, error: 2 }, service: { api: 7 }, stream: { app: 7 } })
    expect(await row(page, 'service', 'api').getAttribute('data-state')).toBe('included')
    expect(await row(page, 'service', 'api').locator('[data-testid=facet-include]').getAttribute('aria-pressed')).toBe('true')

    // A second click removes it again.
    await row(page, 'service', 'api').locator('[data-testid=facet-include]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(null)
    await expect.poll(() => total(page)).toBe(12)

    // Exclude worker: -service:worker, the others counted, worker still listed as excluded.
    await row(page, 'service', 'worker').locator('[data-testid=facet-exclude]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('-service:worker')
    await expect.poll(() => total(page)).toBe(9)
    expect(await facets(page)).toEqual({ level: { info: 5, error: 4 }, service: { api: 7, billing: 2, worker: 0 }, stream: { app: 9 } })
    expect(await row(page, 'service', 'worker').getAttribute('data-state')).toBe('excluded')

    // Excluding a value that is included replaces the clause (never both).
    await row(page, 'service', 'api').locator('[data-testid=facet-include]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('-service:worker service:api')
    await row(page, 'service', 'api').locator('[data-testid=facet-exclude]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('-service:worker -service:api')
    await expect.poll(() => total(page)).toBe(2)
    await row(page, 'service', 'api').locator('[data-testid=facet-exclude]').click()
    await row(page, 'service', 'worker').locator('[data-testid=facet-exclude]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(null)
    await expect.poll(() => total(page)).toBe(12)

    // An add-field value that is not a metadata path is refused without touching the URL.
    await page.fill('[data-testid=facet-add-input]', 'http.status')
    await page.click('[data-testid=facet-add-button]')
    await page.waitForSelector('[data-testid=facet-add-error]')
    expect(new URL(page.url()).searchParams.get('facets')).toBe(null)
    await page.fill('[data-testid=facet-add-input]', "metadata.a') OR 1=1 --")
    await page.click('[data-testid=facet-add-button]')
    await page.waitForSelector('[data-testid=facet-add-error]')
    expect(new URL(page.url()).searchParams.get('facets')).toBe(null)

    // A metadata path: kept in the URL, its values counted (the worker entries have none).
    await page.fill('[data-testid=facet-add-input]', 'metadata.http.status')
    await page.press('[data-testid=facet-add-input]', 'Enter')
    await expect.poll(() => new URL(page.url()).searchParams.get('facets')).toBe('metadata.http.status')
    await expect.poll(async () => {
      const shown = await facets(page)
      return shown === 'loading' ? shown : shown['metadata.http.status']
    }).toEqual({ '200': 5, '500': 2, '503': 2 })
    // Metadata values filter like the others.
    await row(page, 'metadata.http.status', '503').locator('[data-testid=facet-include]').click()
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('metadata.http.status:503')
    await expect.poll(() => total(page)).toBe(2)
    expect(await facets(page)).toEqual({ level: { error: 2 }, service: { billing: 2 }, stream: { app: 2 }, 'metadata.http.status': { '503': 2 } })

    // A link with the path reproduces the view after a reload; its remove button drops it.
    await page.reload()
    await expect.poll(() => total(page)).toBe(2)
    expect(await row(page, 'metadata.http.status', '503').getAttribute('data-state')).toBe('included')
    await page.click('[data-testid=facet][data-field="metadata.http.status"] [data-testid=facet-remove]')
    await expect.poll(() => new URL(page.url()).searchParams.get('facets')).toBe(null)
    await expect.poll(() => page.locator('[data-testid=facet-value][data-field="metadata.http.status"]').count()).toBe(0)

    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('keeps the previous values in place, dimmed, while reloading, and aborts a request the next filters replace', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${project.id}`)
    await expect.poll(() => total(page)).toBe(12)
    const before = { aside: await page.locator('[data-testid=facets]').boundingBox(), row: await row(page, 'service', 'billing').boundingBox() }

    // Hold the sidebar's requests at the network so the reload state can be looked at.
    const held: Route[] = []
    const failed: string[] = []
    page.on('requestfailed', (r) => void (r.url().includes('/logs/facets') && failed.push(r.url())))
    await page.route('**/api/v1/logs/facets?*', (route) => void held.push(route))
    await row(page, 'service', 'api').locator('[data-testid=facet-include]').click()
    await expect.poll(() => held.length).toBe(1)
    expect(new URL(held[0]!.request().url()).searchParams.get('q')).toBe('service:api')
    expect(await page.getAttribute('[data-testid=facets]', 'aria-busy')).toBe('true')
    expect(await page.getAttribute('[data-testid=facets]', 'class')).toContain('stale')
    expect((await rowsOf(page)).filter((r) => r.field === 'service').map((r) => [r.value, r.count])).toEqual([['api', 7], ['worker', 3], ['billing', 2]])
    expect({ aside: await page.locator('[data-testid=facets]').boundingBox(), row: await row(page, 'service', 'billing').boundingBox() }).toEqual(before)

    // New filters before the answer: the held request is aborted, only the new one counts.
    await row(page, 'service', 'worker').locator('[data-testid=facet-include]').click()
    await expect.poll(() => held.length).toBe(2)
    await expect.poll(() => failed).toEqual([held[0]!.request().url()])
    await held[1]!.continue()
    await page.unroute('**/api/v1/logs/facets?*')
    // Both services at once match nothing; both stay listed as included, to be clicked off.
    await expect.poll(() => total(page)).toBe(0)
    expect(new URL(page.url()).searchParams.get('q')).toBe('service:api service:worker')
    expect(await rowsOf(page)).toEqual([
      { field: 'service', value: 'api', count: 0, state: 'included' },
      { field: 'service', value: 'worker', count: 0, state: 'included' },
    ])
    expect(await page.getAttribute('[data-testid=facets]', 'class')).not.toContain('stale')
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('shows an invalid q as an error without losing the sidebar', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${project.id}&q=${encodeURIComponent('service:(')}`)
    await page.waitForSelector('[data-testid=facets] [role=alert]')
    expect(await page.textContent('[data-testid=facets] [role=alert]')).toContain('validation_error')
    expect(await page.locator('[data-testid=facets] [data-testid=facet]').count()).toBe(3)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })
})

describe('console patterns view', () => {
  it('groups messages into templates, most frequent first, and a sample opens its entry', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${project.id}&view=patterns`)
    await page.waitForSelector('[data-testid=pattern]')
    const patterns = await page.$$eval('[data-testid=pattern]', (els) => els.map((e) => [e.getAttribute('data-pattern'), Number(e.getAttribute('data-count'))]))
    expect(patterns).toEqual([
      ['user <num> logged in from <ip>', 5],
      ['request <num> failed: <str>', 4],
      ['job <num> done in <duration>', 3],
    ])
    // Placeholders are marked, the counts shown, the sparkline drawn from the buckets.
    const first = page.locator('[data-testid=pattern]').first()
    expect(await first.locator('mark').allTextContents()).toEqual(['<num>', '<ip>'])
    expect(await first.locator('.col-count').textContent()).toBe('5')
    expect(await first.locator('svg rect').count()).toBeGreaterThan(0)
    const shot = screenshotPath('patterns')
    if (shot) await page.screenshot({ path: shot })

    // The filters apply: only the api entries.
    await page.goto(`${server.url}/?project=${project.id}&view=patterns&q=service:api`)
    await expect.poll(() => page.$$eval('[data-testid=pattern]', (els) => els.map((e) => [e.getAttribute('data-pattern'), Number(e.getAttribute('data-count'))]))).toEqual([
      ['user <num> logged in from <ip>', 5],
      ['request <num> failed: <str>', 2],
    ])

    // The sample is the newest login (the first ingested); clicking it opens that entry.
    const sample = page.locator('[data-testid=pattern]').first().locator('[data-testid=pattern-sample]')
    expect(await sample.textContent()).toContain('user 101 logged in from 10.0.0.1')
    const id = await sample.getAttribute('data-id')
    expect(id).toBeTruthy()
    await sample.click()
    await expect.poll(() => new URL(page.url()).searchParams.get('entry')).toBe(id)

    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })
})
