import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

/**
 * Debian's chromium (apt-get install chromium), driven by playwright-core: never a downloaded
 * browser build. CHROMIUM_PATH overrides where it is.
 */
export const chromiumPath = (): string => {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw new Error(`no chromium at ${candidates.join(', ')}: apt-get install chromium (or set CHROMIUM_PATH)`)
  return found
}

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Containers run as root without a user namespace sandbox; /dev/shm is often tiny.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  })

export interface CspViolation {
  directive: string
  blocked: string
  source: string
  page: string
}

/** Problems the page reported: CSP violations (from securitypolicyviolation events) and uncaught errors. */
export interface PageProblems {
  csp: CspViolation[]
  errors: string[]
}

/**
 * A browser context whose pages report every CSP violation and uncaught error into `problems`
 * (tests assert both lists stay empty). The init script runs outside the page's CSP.
 */
export const newContext = async (browser: Browser, options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; problems: PageProblems }> => {
  const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: options.viewport ?? { width: 1280, height: 800 } })
  const problems: PageProblems = { csp: [], errors: [] }
  await context.exposeBinding('__reportCsp', (_source, v: CspViolation) => void problems.csp.push(v))
  await context.addInitScript(() => {
    addEventListener('securitypolicyviolation', (e) => {
      ;(window as unknown as { __reportCsp: (v: unknown) => void }).__reportCsp({ directive: e.violatedDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}`, page: location.pathname })
    })
  })
  context.on('page', (page) => watchPage(page, problems))
  return { context, problems }
}

const watchPage = (page: Page, problems: PageProblems): void => {
  page.on('pageerror', (err) => problems.errors.push(`${page.url()}: ${err.message}`))
  page.on('console', (msg) => {
    // Chromium also logs each CSP refusal (already in problems.csp) on the console; a failed
    // fetch the app handles is not an error. Anything else logged as an error is.
    if (msg.type() !== 'error') return
    const text = msg.text()
    if (/Content Security Policy|Failed to load resource/i.test(text)) return
    problems.errors.push(`${page.url()}: console: ${text}`)
  })
}

/** Where browser tests put screenshots that docs/console.md shows (SCREENSHOTS_DIR overrides). */
export const screenshotPath = (name: string): string | undefined => {
  const dir = process.env.SCREENSHOTS_DIR
  if (!dir) return undefined
  mkdirSync(dir, { recursive: true })
  return path.join(dir, `${name}.png`)
}
