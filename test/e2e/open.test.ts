import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { cliFor, json, startServe, stopServe, waitFor } from '../helpers/cli.js'

// `krafter-logs open` as the real CLI against a running serve; a stand-in xdg-open on PATH
// records what it was asked to open, so no browser starts.
const home = tempDir('open-e2e')
const bin = path.join(home, 'fake-bin')
const opened = path.join(home, 'opened.txt')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'info', DISPLAY: '', WAYLAND_DISPLAY: '' }
const cli = cliFor(env)
const desktopCli = cliFor(() => ({ ...env, DISPLAY: ':99', PATH: `${bin}:${process.env.PATH}` }))
let serve: { proc: ResultPromise; url: string } | undefined

beforeAll(async () => {
  mkdirSync(bin)
  writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`)
  chmodSync(path.join(bin, 'xdg-open'), 0o755)
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  serve = await startServe(home, env)
})
afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

const redeem = (url: string) => fetch(url, { redirect: 'manual' })

describe('krafter-logs open', () => {
  it('prints a one-time login link to the running serve that signs a browser in once, and opens nothing without a desktop', async () => {
    const res = await cli('open', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const out = json(res)
    expect(out).toMatchObject({ opened: false, not_opened_because: expect.stringMatching(/no desktop/) })
    expect(out.url).toMatch(new RegExp(`^${serve!.url}/login\\?token=krk_login_[A-Za-z0-9_-]{43}$`))
    expect(Date.parse(out.expires_at) - Date.now()).toBeLessThanOrEqual(5 * 60_000)
    const first = await redeem(out.url)
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/')
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!
    const current = await fetch(`${serve!.url}/api/v1/sessions/current`, { headers: { cookie } })
    expect(current.status).toBe(200)
    expect(((await current.json()) as { data: unknown }).data).toMatchObject({ key: null, project_ids: null, scopes: ['logs:read', 'logs:write', 'admin'] })
    expect((await redeem(out.url)).status).toBe(401)
    expect(existsSync(opened)).toBe(false)
  })

  it('opens the link with xdg-open where a desktop is, unless --no-open', async () => {
    const noOpen = json(await desktopCli('open', '--no-open', '--json'))
    expect(noOpen).toMatchObject({ opened: false, not_opened_because: '--no-open' })
    expect(existsSync(opened)).toBe(false)
    const res = await desktopCli('open', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const out = json(res)
    expect(out).toMatchObject({ opened: true, not_opened_because: null })
    expect(await waitFor(() => (existsSync(opened) ? readFileSync(opened, 'utf8') : undefined))).toBe(out.url)
    // The human form prints the link on stdout alone.
    const human = await cli('open')
    expect(human.stdout.trim()).toMatch(/^http:\/\/.*\/login\?token=krk_login_/)
    expect(human.stderr).toMatch(/works once/)
  })

  // Last: it stops serve to read all it logged.
  it('keeps every link token out of the serve log', async () => {
    const out = json(await cli('open', '--json'))
    expect((await redeem(out.url)).status).toBe(303)
    await stopServe(serve)
    const { stdout, stderr } = await serve!.proc
    const logs = `${String(stdout)}${String(stderr)}`
    expect(logs).toContain('/login?token=[redacted]')
    expect(logs).not.toContain(new URL(out.url).searchParams.get('token')!)
  })
})
