import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newContext, screenshotPath } from '../helpers/browser.js'
import { type ConsoleServer, startConsoleServer } from '../helpers/console.js'

// Sign-in as a user does it: the page at /, a pasted team key, the session cookie, sign-out.
let server: ConsoleServer
beforeAll(async () => {
  server = await startConsoleServer('console-signin')
})
afterAll(async () => {
  await server?.close()
})

describe('console sign-in', () => {
  it('signs in with a pasted key (kept nowhere in the browser but the HttpOnly cookie) and signs out', async () => {
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    const res = await page.goto(`${server.url}/`)
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.fill('input[name=api_key]', 'kr_live_00000000000000000000000000000000')
    await page.click('button[type=submit]')
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('unauthorized')
    await page.fill('input[name=api_key]', server.teamKey)
    const shot = screenshotPath('sign-in')
    if (shot) await page.screenshot({ path: shot })
    await page.click('button[type=submit]')
    await page.waitForSelector('[data-testid=who]')
    const cookies = await context.cookies()
    const session = cookies.find((c) => c.name === 'krafter_session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' })
    // The key is not in any browser storage, and the cookie is not readable by scripts.
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }))
    expect(stored).not.toContain(server.teamKey)
    expect(stored).not.toContain(session!.value)
    // A reload stays signed in (the cookie), then sign-out ends the session on the server too.
    await page.reload()
    await page.waitForSelector('[data-testid=who]')
    await page.click('[data-testid=sign-out]')
    await page.waitForSelector('input[name=api_key]')
    const after = await fetch(`${server.url}/api/v1/sessions/current`, { headers: { cookie: `krafter_session=${session!.value}` } })
    expect(after.status).toBe(401)
    expect(problems).toEqual({ csp: [], errors: [] })
    await context.close()
  })

  it('the page CSP refuses inline script and foreign origins, and the test collector sees it', async () => {
    // Without this, "no CSP violations" in the other console tests could never fail.
    const { context, problems } = await newContext(server.browser)
    const page = await context.newPage()
    await page.goto(`${server.url}/`)
    await page.waitForSelector('input[name=api_key]')
    const ran = await page.evaluate(async () => {
      const s = document.createElement('script')
      s.textContent = 'window.__inlineRan = true'
      document.body.appendChild(s)
      const img = document.createElement('img')
      img.src = 'https://cdn.example.com/x.png'
      document.body.appendChild(img)
      await new Promise((r) => setTimeout(r, 100))
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true
    })
    expect(ran).toBe(false)
    await expect.poll(() => problems.csp.map((v) => v.directive.split(' ')[0]).sort()).toEqual(['img-src', 'script-src-elem'])
    await context.close()
  })
})
