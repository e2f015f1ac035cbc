import { readFileSync } from 'node:fs'
import type { Page, Route } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, screenshotPath } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'

// The explorer against a real serve with known data: what the list, the histogram, the entry
// panel, context, click-to-filter, paging, export and the URL show is what was ingested.
let server: ConsoleServer
let shop: { id: string; ingest_token: string }
let many: { id: string; ingest_token: string }

const NOW = Date.now()
/** 40 entries in shop, one every 60 s back from a minute ago (entry i is i+1 minutes old). */
const shopEntries = Array.from({ length: 40 }, (_, i) => ({
  timestamp: new Date(NOW - (i + 1) * 60_000).toISOString(),
  level: i % 10 === 3 ? 'error' : i % 5 === 1 ? 'warn' : 'info',
  service: i % 4 === 0 ? 'billing' : 'api',
  stream: 'app',
  message: i % 10 === 3 ? `payment ${i} failed: gateway timeout` : `request ${i} served in ${10 + i}ms`,
  trace_id: `trace-${Math.floor(i / 3)}`,
  metadata: { seq: i, http: { status: i % 10 === 3 ? 502 : 200 } },
}))
/** 450 entries in many, one every 5 s: more than two pages of 200. */
const MANY = 450
const manyEntries = Array.from({ length: MANY }, (_, i) => ({ timestamp: new Date(NOW - (i + 1) * 5_000).toISOString(), level: 'info', service: 'bulk', message: `bulk entry ${i}` }))

beforeAll(async () => {
  server = await startConsoleServer('console-explorer')
  shop = await server.project('shop')
  many = await server.project('many')
  await server.ingest(shop.ingest_token, shopEntries)
  await server.ingest(many.ingest_token, manyEntries)
})
afterAll(async () => {
  await server?.close()
})

const signIn = async (page: Page, path: string) => {
  await page.goto(`${server.url}${path}`)
  await page.fill('input[name=api_key]', server.teamKey)
  await page.click('button[type=submit]')
  await page.waitForSelector('[data-testid=who]')
}

/** The results once loaded: ids and messages of the rows in the DOM, and the summary. */
const loaded = async (page: Page) => {
  const summary = page.locator('[data-testid=results-summary]')
  await expect.poll(() => page.getAttribute('[data-testid=rows]', 'aria-busy')).toBe('false')
  return {
    count: Number(await summary.getAttribute('data-count')),
    hasMore: (await summary.getAttribute('data-has-more')) === 'true',
    messages: await page.$$eval('[data-testid=row] .col-message', (els) => els.map((e) => e.textContent)),
  }
}
const histogramTotal = async (page: Page) => {
  await expect.poll(() => page.getAttribute('[data-testid=histogram]', 'aria-busy')).toBe('false')
  return Number(await page.getAttribute('[data-testid=histogram]', 'data-total'))
}
const param = (page: Page, name: string) => new URL(page.url()).searchParams.get(name)
/** Mark times in ms (performance.now based) by name. */
const marks = (page: Page, name: string) => page.evaluate((n) => performance.getEntriesByName(n, 'mark').map((m) => m.startTime), name)

describe('console explorer', () => {
  it('searches: newest first, Enter runs the typed q, / focuses the bar, and a malformed q shows where it broke', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}`)
    const shown = await loaded(page)
    expect(shown.count).toBe(40)
    expect(shown.hasMore).toBe(false)
    // Newest first: the first rows in view are entries 0, 1, 2…
    expect(shown.messages.slice(0, 3)).toEqual(['request 0 served in 10ms', 'request 1 served in 11ms', 'request 2 served in 12ms'])
    expect(await histogramTotal(page)).toBe(40)
    expect(await page.inputValue('[data-testid=project-picker]')).toBe(shop.id)
    const shot = screenshotPath('explorer')
    if (shot) await page.screenshot({ path: shot })

    // "/" focuses the query bar; Enter runs it and writes it into the URL.
    await page.click('[data-testid=histogram-legend]')
    await page.keyboard.press('/')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('query-input')
    await page.keyboard.type('level:error')
    await page.keyboard.press('Enter')
    await expect.poll(() => param(page, 'q')).toBe('level:error')
    await expect.poll(async () => (await loaded(page)).messages).toEqual(['payment 3 failed: gateway timeout', 'payment 13 failed: gateway timeout', 'payment 23 failed: gateway timeout', 'payment 33 failed: gateway timeout'])
    expect(await histogramTotal(page)).toBe(4)
    // The speed of this search, from the console's own marks (bench:console measures it at scale).
    const submit = (await marks(page, 'krafter:search-submit')).at(-1)!
    const painted = (await marks(page, 'krafter:rows-painted')).at(-1)!
    const drawn = (await marks(page, 'krafter:histogram-drawn'))[0]!
    expect(painted).toBeGreaterThan(submit)
    console.log(`explorer speed (40 entries): Enter → first rows ${(painted - submit).toFixed(0)} ms; page load → histogram ${drawn.toFixed(0)} ms`)

    // A malformed q: 400 from the server, shown under the bar with a caret at its position.
    await page.fill('#query-input', 'level:error AND (timeout')
    await page.press('#query-input', 'Enter')
    await page.waitForSelector('[data-testid=query-error]')
    const position = Number(await page.getAttribute('[data-testid=query-error]', 'data-position'))
    expect(position).toBe(16)
    const caret = (await page.textContent('[data-testid=query-error] .query-caret'))!.split('\n')
    expect(caret[1]!.indexOf('^')).toBe(16)
    expect(await page.getAttribute('#query-input', 'aria-invalid')).toBe('true')
    // Fixing it clears the error.
    await page.fill('#query-input', 'level:error AND timeout')
    await page.press('#query-input', 'Enter')
    await expect.poll(() => page.locator('[data-testid=query-error]').count()).toBe(0)
    expect((await loaded(page)).count).toBe(4)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('suggests field names and the top values of a field, and shows the syntax help', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}`)
    await loaded(page)
    await page.click('#query-input')
    // Focusing the bar loads the top values it suggests.
    await page.waitForSelector('#query-input[data-values=loaded]')
    await page.keyboard.type('serv')
    await expect.poll(() => page.$$eval('[data-testid=suggestion]', (els) => els.map((e) => e.getAttribute('data-value')))).toEqual(['service:'])
    await page.keyboard.press('Tab')
    expect(await page.inputValue('#query-input')).toBe('service:')
    // Values of service, most frequent first, from the facets of this project and range.
    await page.keyboard.type('b')
    await page.keyboard.press('Backspace')
    await expect.poll(() => page.$$eval('[data-testid=suggestion]', (els) => els.map((e) => e.getAttribute('data-value')))).toEqual(['service:api ', 'service:billing '])
    await page.keyboard.type('bi')
    await expect.poll(() => page.$$eval('[data-testid=suggestion]', (els) => els.map((e) => e.getAttribute('data-value')))).toEqual(['service:billing '])
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await expect.poll(() => param(page, 'q')).toBe('service:billing')
    expect((await loaded(page)).count).toBe(10)

    await page.click('[data-testid=query-help-button]')
    expect(await page.textContent('[data-testid=query-help]')).toContain('metadata.http.status:>=500')
    await page.focus('#query-input')
    await page.keyboard.press('Escape')
    await expect.poll(() => page.locator('[data-testid=query-help]').count()).toBe(0)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('zooms the range by dragging across the histogram; list and histogram agree on the new range', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}`)
    expect(await histogramTotal(page)).toBe(40)
    const plot = (await page.locator('[data-testid=histogram] .u-over').boundingBox())!
    // Drag over the right half of the last hour: the newest ~30 minutes.
    await page.mouse.move(plot.x + plot.width * 0.5, plot.y + plot.height / 2)
    await page.mouse.down()
    await page.mouse.move(plot.x + plot.width * 0.75, plot.y + plot.height / 2, { steps: 5 })
    await page.mouse.move(plot.x + plot.width - 2, plot.y + plot.height / 2, { steps: 5 })
    await page.mouse.up()
    await expect.poll(() => param(page, 'range')).toBe('custom')
    const from = Date.parse(param(page, 'from')!)
    const to = Date.parse(param(page, 'to')!)
    expect(to - from).toBeGreaterThan(20 * 60_000)
    expect(to - from).toBeLessThan(40 * 60_000)
    const expected = shopEntries.filter((e) => Date.parse(e.timestamp) >= from && Date.parse(e.timestamp) <= to).length
    expect(expected).toBeGreaterThan(0)
    expect(expected).toBeLessThan(40)
    expect(await histogramTotal(page)).toBe(expected)
    expect((await loaded(page)).count).toBe(expected)
    expect(await page.inputValue('[data-testid=range-select]')).toBe('custom')
    // Back to a preset.
    await page.selectOption('[data-testid=range-select]', '1h')
    await expect.poll(() => param(page, 'range')).toBe(null)
    expect(await histogramTotal(page)).toBe(40)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('opens an entry: its fields and JSON, context around it, click-to-filter on trace_id, Esc closes', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}`)
    await loaded(page)
    // Entry 4 (fifth newest): trace-1, seq 4.
    await page.click('[data-testid=row][data-index="4"]')
    await expect.poll(() => param(page, 'entry')).toBeTruthy()
    await page.waitForSelector('[data-testid=entry-panel] [data-testid=entry-json]')
    const json = JSON.parse((await page.textContent('[data-testid=entry-json]'))!)
    expect(json).toMatchObject({ message: 'request 4 served in 14ms', trace_id: 'trace-1', metadata: { seq: 4, http: { status: 200 } } })
    expect(json.id).toBe(param(page, 'entry'))
    expect(await page.textContent('[data-testid=entry-field][data-field="metadata.http.status"] .field-value')).toBe('200')
    const shot = screenshotPath('entry')
    if (shot) await page.screenshot({ path: shot })

    // Context: the entries just before and after it in time, oldest first, the entry between.
    await page.click('[data-testid=show-context]')
    await page.waitForSelector('[data-testid=context-entry]')
    const around = await page.$$eval('[data-testid=context] .row .col-message', (els) => els.map((e) => e.textContent))
    const at = around.indexOf('request 4 served in 14ms')
    expect(around.slice(at - 2, at + 3)).toEqual(['request 6 served in 16ms', 'request 5 served in 15ms', 'request 4 served in 14ms', 'payment 3 failed: gateway timeout', 'request 2 served in 12ms'])
    expect(around).toHaveLength(25 + 1 + 4)

    // Click-to-filter on trace_id: q gets trace_id:trace-1, the list is that trace's entries.
    await page.click('[data-testid=entry-field][data-field=trace_id] [data-testid=filter-include]')
    await expect.poll(() => param(page, 'q')).toBe('trace_id:trace-1')
    await expect.poll(async () => (await loaded(page)).messages).toEqual(['payment 3 failed: gateway timeout', 'request 4 served in 14ms', 'request 5 served in 15ms'])
    // And excluding a metadata value replaces nothing else.
    await page.click('[data-testid=entry-field][data-field="metadata.http.status"] [data-testid=filter-exclude]')
    await expect.poll(() => param(page, 'q')).toBe('trace_id:trace-1 -metadata.http.status:200')
    await expect.poll(async () => (await loaded(page)).messages).toEqual(['payment 3 failed: gateway timeout'])

    await page.keyboard.press('Escape')
    await expect.poll(() => param(page, 'entry')).toBe(null)
    expect(await page.locator('[data-testid=entry-panel]').count()).toBe(0)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('keyboard: j/k select rows and Enter opens the selected one', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}`)
    await loaded(page)
    await page.click('[data-testid=histogram-legend]')
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    await page.keyboard.press('k')
    expect(await page.getAttribute('[data-testid=row][aria-selected=true]', 'data-index')).toBe('1')
    await page.keyboard.press('Enter')
    await page.waitForSelector('[data-testid=entry-json]')
    expect(JSON.parse((await page.textContent('[data-testid=entry-json]'))!).message).toBe('request 1 served in 11ms')
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('pages by cursor as the list scrolls, keeping only the rows in view in the DOM', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${many.id}`)
    const shown = await loaded(page)
    expect(shown.count).toBe(200)
    expect(shown.hasMore).toBe(true)
    // Virtualised: far fewer row elements than rows.
    expect(await page.locator('[data-testid=row]').count()).toBeLessThan(80)
    // Each scroll to the end brings the next page, until there is none.
    const count = async () => Number(await page.getAttribute('[data-testid=results-summary]', 'data-count'))
    for (const expected of [400, MANY]) {
      await page.$eval('[data-testid=rows]', (el) => (el.scrollTop = el.scrollHeight))
      await expect.poll(count).toBe(expected)
    }
    await expect.poll(() => page.getAttribute('[data-testid=results-summary]', 'data-has-more')).toBe('false')
    expect(Number(await page.getAttribute('[data-testid=results-summary]', 'data-count'))).toBe(MANY)
    await page.$eval('[data-testid=rows]', (el) => (el.scrollTop = el.scrollHeight))
    // The last row is the oldest entry, at the index it has among all: nothing skipped or repeated.
    await expect.poll(() => page.locator('[data-testid=row][data-index="449"] .col-message').textContent()).toBe('bulk entry 449')
    const visible = await page.$$eval('[data-testid=row]', (els) => els.map((e) => [Number(e.getAttribute('data-index')), e.querySelector('.col-message')!.textContent]))
    for (const [index, message] of visible) expect(message).toBe(`bulk entry ${index}`)
    expect(await page.locator('[data-testid=row]').count()).toBeLessThan(80)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('a copied URL reproduces the view, and export downloads the current query as CSV and JSON', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}&q=${encodeURIComponent('service:billing')}&range=6h&facets=metadata.http.status`)
    await loaded(page)
    await page.click('[data-testid=row][data-index="1"]')
    await page.waitForSelector('[data-testid=entry-json]')
    const url = page.url()
    const other = await context.newPage()
    await other.goto(url)
    await other.waitForSelector('[data-testid=entry-json]')
    expect(await other.inputValue('#query-input')).toBe('service:billing')
    expect(await other.inputValue('[data-testid=range-select]')).toBe('6h')
    expect((await loaded(other)).messages).toEqual((await loaded(page)).messages)
    expect(await other.textContent('[data-testid=entry-json]')).toBe(await page.textContent('[data-testid=entry-json]'))
    await expect.poll(() => other.locator('[data-testid=facet-value][data-field="metadata.http.status"]').count()).toBeGreaterThan(0)

    // The panel covers the toolbar's end; Esc closes it.
    await other.keyboard.press('Escape')
    await expect.poll(() => other.locator('[data-testid=entry-panel]').count()).toBe(0)
    const [csv] = await Promise.all([other.waitForEvent('download'), other.click('[data-testid=export-csv]')])
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split(/\r?\n/)
    expect(lines[0]).toBe('timestamp,level,service,stream,message,trace_id,span_id,metadata')
    expect(lines).toHaveLength(11)
    expect(lines.slice(1).every((l) => l.includes(',billing,'))).toBe(true)
    const [json] = await Promise.all([other.waitForEvent('download'), other.click('[data-testid=export-json]')])
    const exported = JSON.parse(readFileSync((await json.path())!, 'utf8')) as { service: string }[]
    expect(exported).toHaveLength(10)
    expect(new Set(exported.map((e) => e.service))).toEqual(new Set(['billing']))
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('keeps the previous rows in place, dimmed, while a search loads: nothing shifts', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await signIn(page, `/?project=${shop.id}`)
    await loaded(page)
    await histogramTotal(page)
    const box = async () => ({
      rows: await page.locator('[data-testid=rows]').boundingBox(),
      first: await page.locator('[data-testid=row][data-index="0"]').boundingBox(),
      histogram: await page.locator('[data-testid=histogram]').boundingBox(),
      facets: await page.locator('[data-testid=facets]').boundingBox(),
    })
    const before = await box()
    const held: Route[] = []
    await page.route('**/api/v1/logs/search?*', (route) => void held.push(route))
    await page.fill('#query-input', 'service:billing')
    await page.press('#query-input', 'Enter')
    await expect.poll(() => held.length).toBe(1)
    expect(await page.getAttribute('[data-testid=rows]', 'class')).toContain('stale')
    expect(await page.textContent('[data-testid=row][data-index="0"] .col-message')).toBe('request 0 served in 10ms')
    expect(await box()).toEqual(before)
    await held[0]!.continue()
    await page.unroute('**/api/v1/logs/search?*')
    await expect.poll(async () => (await loaded(page)).messages[0]).toBe('request 0 served in 10ms')
    expect((await loaded(page)).count).toBe(10)
    await histogramTotal(page)
    expect(await page.getAttribute('[data-testid=rows]', 'class')).not.toContain('stale')
    expect(await box()).toEqual(before)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('follows the system theme: dark colours with level colours readable on them', async () => {
    const contrast = async (page: Page) =>
      page.evaluate(() => {
        const rgb = (c: string) => c.match(/[\d.]+/g)!.slice(0, 3).map(Number)
        const lum = (c: number[]) => {
          const [r, g, b] = c.map((v) => {
            const s = v / 255
            return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
          })
          return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
        }
        const bg = rgb(getComputedStyle(document.body).backgroundColor)
        const out: Record<string, number> = {}
        for (const el of document.querySelectorAll('[data-testid=row] .level')) {
          const fg = rgb(getComputedStyle(el).color)
          const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x)
          out[el.textContent!] = Math.round(((a! + 0.05) / (b! + 0.05)) * 10) / 10
        }
        return { bg, ratios: out }
      })
    const results: Record<string, { bg: number[]; ratios: Record<string, number> }> = {}
    for (const scheme of ['light', 'dark'] as const) {
      const { context, problems } = await newContext(server.browser, { colorScheme: scheme })
      const page = await context.newPage()
      await signIn(page, `/?project=${shop.id}`)
      await loaded(page)
      await histogramTotal(page)
      results[scheme] = await contrast(page)
      const shot = scheme === 'dark' ? screenshotPath('explorer-dark') : undefined
      if (shot) await page.screenshot({ path: shot })
      expect(problems).toEqual({ csp: [], errors: [] })
      await context.close()
    }
    expect(results.light!.bg).toEqual([255, 255, 255])
    expect(Math.max(...results.dark!.bg)).toBeLessThan(40)
    for (const scheme of ['light', 'dark']) {
      expect(Object.keys(results[scheme]!.ratios).sort()).toEqual(['error', 'info', 'warn'])
      for (const ratio of Object.values(results[scheme]!.ratios)) expect(ratio).toBeGreaterThanOrEqual(4.5)
    }
  })
})
