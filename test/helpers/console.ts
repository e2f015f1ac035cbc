import { rmSync } from 'node:fs'
import type { ResultPromise } from 'execa'
import type { Browser } from 'playwright-core'
import { tempDir } from './app.js'
import { cliFor, json, startServe, stopServe } from './cli.js'
import { launchBrowser } from './browser.js'

/**
 * A real `krafter-logs serve` (the built CLI, embedded engine, own temp data dir) and a real
 * chromium for console tests. `api()` calls the API as the init key; `ingest()` sends entries
 * with a project's ingest token and resolves when serve answered (stored).
 */
export interface ConsoleServer {
  url: string
  home: string
  teamKey: string
  browser: Browser
  cli: ReturnType<typeof cliFor>
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>
  project(name: string): Promise<{ id: string; name: string; ingest_token: string }>
  ingest(ingestToken: string, entries: object[]): Promise<void>
  close(): Promise<void>
}

export const startConsoleServer = async (label: string, config: Record<string, string> = {}): Promise<ConsoleServer> => {
  const home = tempDir(label)
  const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn', ...config }
  const cli = cliFor(env)
  const init = await cli('init', '--json', '--port', '0')
  if (init.exitCode !== 0) throw new Error(`init failed (exit ${init.exitCode}): ${init.stdout}${init.stderr}`)
  const teamKey = json(init).team_api_key as string
  let serve: { proc: ResultPromise; url: string } | undefined = await startServe(home, env)
  const url = serve.url
  const browser = await launchBrowser()
  const api = async (method: string, path: string, body?: unknown, token = teamKey) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: res.status === 204 ? undefined : await res.json() }
  }
  return {
    url,
    home,
    teamKey,
    browser,
    cli,
    api,
    async project(name) {
      const r = await api('POST', '/logs/projects', { name })
      if (r.status !== 201) throw new Error(`project create: ${r.status} ${JSON.stringify(r.body)}`)
      return r.body.data
    },
    async ingest(ingestToken, entries) {
      const res = await fetch(`${url}/api/v1/logs/ingest/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(entries),
      })
      if (res.status >= 300) throw new Error(`ingest: ${res.status} ${await res.text()}`)
      const body = (await res.json()) as { data?: { rejected?: number } }
      if (body.data?.rejected) throw new Error(`ingest rejected entries: ${JSON.stringify(body)}`)
    },
    async close() {
      await browser.close().catch(() => undefined)
      await stopServe(serve)
      serve = undefined
      rmSync(home, { recursive: true, force: true })
    },
  }
}
