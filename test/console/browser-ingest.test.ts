import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'

// Browser ingestion (issue 17 part 3) with the real thing: Debian's chromium, a real serve, and
// pages served by a tiny HTTP server on other local ports (other origins). The page's script is
// a file of its own (send.js), as it would be under a CSP; the server sends none.
let server: ConsoleServer
let allowedSite: { server: Server; origin: string }
let otherSite: { server: Server; origin: string }
let project: { id: string; ingest_token: string }
let browserToken: string
const run = `r${Date.now().toString(36)}`

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>shop</title><script src="/send.js"></script></head><body>shop</body></html>`
/** What a page's logging code does: fetch with the token in a header (a preflight), or a beacon with it in the URL. */
const SEND_JS = `
window.sendWithFetch = async (url, token, entries) => {
  try {
    const res = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(entries) })
    return { status: res.status, body: await res.json(), requestId: res.headers.get('X-Request-Id') }
  } catch (err) {
    return { error: err.name + ': ' + err.message }
  }
}
window.sendWithBeacon = (url, token, entries) => navigator.sendBeacon(url + '?api_key=' + encodeURIComponent(token), entries.map((e) => JSON.stringify(e)).join('\\n'))
window.sendSimple = async (url, token, entry) => {
  const res = await fetch(url + '?api_key=' + encodeURIComponent(token), { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify(entry) })
  return res.type
}
`

const startSite = async (): Promise<{ server: Server; origin: string }> => {
  const site = createServer((req, res) => {
    if (req.url === '/send.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(SEND_JS)
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
  return { server: site, origin: `http://127.0.0.1:${(site.address() as AddressInfo).port}` }
}

beforeAll(async () => {
  server = await startConsoleServer('browser-ingest')
  allowedSite = await startSite()
  otherSite = await startSite()
  project = await server.project('storefront')
  const created = await server.api('POST', `/logs/projects/${project.id}/tokens`, { name: 'storefront web', allowed_origins: [allowedSite.origin] })
  expect(created.status).toBe(201)
  browserToken = created.body.data.token
})
afterAll(async () => {
  await server?.close()
  for (const site of [allowedSite, otherSite]) await new Promise((resolve) => site?.server.close(resolve))
})

const ingestUrl = (path: 'ingest' | 'ingest/batch') => `${server.url}/api/v1/logs/${path}`
const messages = async (q: string): Promise<string[]> => {
  const r = await server.api('GET', `/logs/search?project_id=${project.id}&q=${encodeURIComponent(q)}&from=${Date.now() - 3_600_000}&to=${Date.now() + 60_000}`)
  expect(r.status).toBe(200)
  return (r.body.data as { message: string }[]).map((e) => e.message).sort()
}
const openPage = async (origin: string): Promise<{ page: Page; console: string[] }> => {
  const { context } = await newContext(server.browser)
  const page = await context.newPage()
  const console: string[] = []
  page.on('console', (m) => console.push(m.text()))
  await page.goto(`${origin}/`)
  await page.waitForFunction(() => typeof (window as unknown as { sendWithFetch?: unknown }).sendWithFetch === 'function')
  return { page, console }
}
/** The answer serve gave a beacon (or a no-cors fetch) of the page: the request happened and was decided. */
const answerTo = (page: Page, path: string) => page.waitForResponse((r) => r.url().startsWith(`${server.url}/api/v1/logs/${path}?`) && r.request().method() === 'POST')

describe('logging from a page on an allowed origin', () => {
  it('fetch with the token in a header (a preflight first) stores the entries and the page reads the answer', async () => {
    const { page } = await openPage(allowedSite.origin)
    const result = await page.evaluate(
      ([url, token, entries]) => (window as any).sendWithFetch(url, token, entries),
      [ingestUrl('ingest/batch'), browserToken, [{ message: `${run} fetch one`, level: 'warn', metadata: { page: 'cart' } }, { message: `${run} fetch two` }]] as const,
    )
    expect(result).toMatchObject({ status: 202, body: { data: { accepted: 2, rejected: 0 } } })
    // The page can read the exposed X-Request-Id too.
    expect(result.requestId).toBe(result.body.request_id)
    expect(await messages(`${run} fetch`)).toEqual([`${run} fetch one`, `${run} fetch two`])
    await page.context().close()
  })

  it('navigator.sendBeacon with the token in the URL (text/plain NDJSON, no preflight) stores the entries', async () => {
    const { page } = await openPage(allowedSite.origin)
    const answer = answerTo(page, 'ingest/batch')
    const queued = await page.evaluate(
      ([url, token, entries]) => (window as any).sendWithBeacon(url, token, entries),
      [ingestUrl('ingest/batch'), browserToken, [{ message: `${run} beacon one` }, { message: `${run} beacon two`, level: 'error' }]] as const,
    )
    expect(queued).toBe(true)
    expect((await answer).status()).toBe(202)
    await expect.poll(() => messages(`${run} beacon`)).toEqual([`${run} beacon one`, `${run} beacon two`])
    await page.context().close()
  })
})

describe('a page on an origin no token allows', () => {
  it('fetch is refused by the browser (TypeError) and nothing is stored, with a beacon or a no-cors request either', async () => {
    const { page, console } = await openPage(otherSite.origin)
    for (const path of ['ingest', 'ingest/batch'] as const) {
      const body = path === 'ingest' ? { message: `${run} other fetch` } : [{ message: `${run} other fetch` }]
      const result = await page.evaluate(([url, token, entries]) => (window as any).sendWithFetch(url, token, entries), [ingestUrl(path), browserToken, body] as const)
      expect(result, path).toEqual({ error: 'TypeError: Failed to fetch' })
    }
    expect(console.some((line) => /blocked by CORS policy/.test(line))).toBe(true)
    // Requests the browser sends without asking (a beacon, a simple no-cors POST) reach serve and
    // are refused there: the token does not list this origin.
    const beaconAnswer = answerTo(page, 'ingest/batch')
    expect(await page.evaluate(([url, token, entries]) => (window as any).sendWithBeacon(url, token, entries), [ingestUrl('ingest/batch'), browserToken, [{ message: `${run} other beacon` }]] as const)).toBe(true)
    expect((await beaconAnswer).status()).toBe(403)
    const simpleAnswer = answerTo(page, 'ingest')
    expect(await page.evaluate(([url, token, entry]) => (window as any).sendSimple(url, token, entry), [ingestUrl('ingest'), browserToken, { message: `${run} other simple` }] as const)).toBe('opaque')
    expect((await simpleAnswer).status()).toBe(403)
    expect(await messages(`${run} other`)).toEqual([])
    await page.context().close()
  })
})

describe('team keys', () => {
  it('never get CORS: the page cannot call the API with one, on the ingest endpoints or anywhere', async () => {
    const { page } = await openPage(allowedSite.origin)
    const call = (url: string, method = 'GET') =>
      page.evaluate(
        async ([u, key, m]) => {
          try {
            const res = await fetch(u, { method: m, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, ...(m === 'POST' ? { body: JSON.stringify({ message: 'team key from a page' }) } : {}) })
            return `status ${res.status}`
          } catch (err) {
            return `${(err as Error).name}: ${(err as Error).message}`
          }
        },
        [url, server.teamKey, method] as const,
      )
    expect(await call(`${server.url}/api/v1/logs/projects`)).toBe('TypeError: Failed to fetch')
    expect(await call(`${server.url}/api/v1/logs/search?project_id=${project.id}`)).toBe('TypeError: Failed to fetch')
    // The preflight is answered (the origin is a token's), the answer to the team key is not.
    expect(await call(ingestUrl('ingest'), 'POST')).toBe('TypeError: Failed to fetch')
    expect(await messages('team key from a page')).toEqual([])
    await page.context().close()
  })
})
