import { rmSync } from 'node:fs'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { cliFor, json, startServe, stopServe } from '../helpers/cli.js'

// `krafter-logs project tokens list|create|revoke` as the real CLI: on the data dir while serve
// is stopped, through the running serve while it runs (it caches tokens and their origins).
const home = tempDir('tokens-e2e')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env)
let serve: { proc: ResultPromise; url: string } | undefined
let projectId: string
let primaryToken: string

const ingest = (token: string, message: string, headers: Record<string, string> = {}) =>
  fetch(`${serve!.url}/api/v1/logs/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ message }) })

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  const project = json(await cli('project', 'create', 'shop', '--json'))
  projectId = project.id
  primaryToken = project.ingest_token
})
afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

describe('project tokens', () => {
  let backend: { id: string; token: string }

  it('creates and lists tokens on the data dir while serve is stopped', async () => {
    const created = await cli('project', 'tokens', 'create', 'shop', '--name', 'backend', '--expires-in-days', '30', '--json')
    expect(created.exitCode, created.stderr).toBe(0)
    backend = json(created)
    expect(backend).toMatchObject({ project_id: projectId, name: 'backend', primary: false, allowed_origins: [], status: 'active', via: 'direct' })
    expect(backend.token).toMatch(/^krl_live_[a-z0-9]{32}$/)
    expect(Date.parse(json(created).expires_at) - Date.parse(json(created).created_at)).toBe(30 * 86_400_000)

    const listed = await cli('project', 'tokens', 'list', projectId, '--json')
    expect(listed.exitCode, listed.stderr).toBe(0)
    expect(listed.stdout).not.toContain(backend.token)
    expect(listed.stdout).not.toContain(primaryToken)
    expect(json(listed).map((t: { name: string; primary: boolean }) => [t.name, t.primary])).toEqual([['primary', true], ['backend', false]])
    const table = await cli('project', 'tokens', 'list', 'shop')
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+PRIMARY\s+STATUS\s+ORIGINS\s+EXPIRES\s+LAST USED\s+CREATED$/)
    expect(table.stdout).toContain(backend.token.slice(0, 12))
  })

  it('through a running serve: a new token and its origin work at once, a revoked one is refused on the next request', async () => {
    serve = await startServe(home, env)
    expect((await ingest(backend.token, 'made while serve was stopped')).status).toBe(202)

    const human = await cli('project', 'tokens', 'create', 'shop', '--name', 'web', '--origin', 'https://Shop.Example.com', '--origin', 'http://localhost:3000,http://127.0.0.1:3000')
    expect(human.exitCode, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/shown only this once[\s\S]*krl_live_[a-z0-9]{32}/)
    const webToken = /krl_live_[a-z0-9]{32}/.exec(human.stdout)![0]
    const preflight = await fetch(`${serve.url}/api/v1/logs/ingest`, { method: 'OPTIONS', headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example.com')
    const fromPage = await ingest(webToken, 'from the shop page', { origin: 'http://localhost:3000' })
    expect(fromPage.status).toBe(202)
    expect(fromPage.headers.get('access-control-allow-origin')).toBe('http://localhost:3000')
    expect((await ingest(backend.token, 'backend, not a browser', { origin: 'http://localhost:3000' })).status).toBe(403)

    const listed = json(await cli('project', 'tokens', 'list', 'shop', '--json')) as { id: string; name: string; last_used_at: string | null; allowed_origins: string[] }[]
    const web = listed.find((t) => t.name === 'web')!
    expect(web.allowed_origins).toEqual(['https://shop.example.com', 'http://localhost:3000', 'http://127.0.0.1:3000'])
    // Last use is held by serve in memory; the listing through it shows it.
    expect(web.last_used_at).not.toBeNull()
    expect(listed.find((t) => t.name === 'backend')!.last_used_at).not.toBeNull()
    expect(listed.find((t) => t.name === 'primary')!.last_used_at).toBeNull()

    const revoked = await cli('project', 'tokens', 'revoke', 'shop', web.id, '--json')
    expect(revoked.exitCode, revoked.stderr).toBe(0)
    expect(json(revoked)).toMatchObject({ id: web.id, status: 'revoked', via: 'server' })
    const refused = await ingest(webToken, 'after revoke', { origin: 'http://localhost:3000' })
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('Invalid ingest token')
    const closed = await fetch(`${serve.url}/api/v1/logs/ingest`, { method: 'OPTIONS', headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' } })
    expect(closed.headers.get('access-control-allow-origin')).toBeNull()
    expect((await ingest(primaryToken, 'primary untouched')).status).toBe(202)
  })

  it('refuses bad input with the field named, and unknown tokens and projects with a way forward', async () => {
    const wildcard = await cli('project', 'tokens', 'create', 'shop', '--name', 'w', '--origin', '*', '--json')
    expect(wildcard.exitCode).toBe(2)
    expect(json(wildcard).error.details).toEqual([{ field: 'allowed_origins.0', message: expect.stringContaining('"*" is not allowed') }])
    const path = await cli('project', 'tokens', 'create', 'shop', '--name', 'w', '--origin', 'https://a.example/app', '--json')
    expect(json(path).error.details[0].field).toBe('allowed_origins.0')
    const past = await cli('project', 'tokens', 'create', 'shop', '--name', 'w', '--expires-at', '2001-01-01T00:00:00Z', '--json')
    expect(past.exitCode).toBe(2)
    expect(json(past).error.details[0].field).toBe('expires_at')
    const badId = await cli('project', 'tokens', 'revoke', 'shop', 'nope', '--json')
    expect(badId.exitCode).toBe(2)
    expect(json(badId).error.details[0].field).toBe('token_id')
    const unknown = await cli('project', 'tokens', 'revoke', 'shop', '00000000-0000-4000-8000-000000000000', '--json')
    expect(unknown.exitCode).toBe(1)
    expect(json(unknown).error).toMatchObject({ code: 'not_found', suggestions: [expect.stringContaining('project tokens list')] })
    const noProject = await cli('project', 'tokens', 'list', 'nope', '--json')
    expect(noProject.exitCode).toBe(1)
    expect(json(noProject).error.code).toBe('not_found')
  })

  it('revokes on the data dir once serve is stopped, and the audit log has every action by the CLI', async () => {
    await stopServe(serve)
    serve = undefined
    const revoked = await cli('project', 'tokens', 'revoke', 'shop', backend.id, '--json')
    expect(revoked.exitCode, revoked.stderr).toBe(0)
    expect(json(revoked)).toMatchObject({ status: 'revoked', via: 'direct' })
    const audit = json(await cli('audit', 'list', '--json')) as { action: string; actor: string; details: Record<string, unknown> | null }[]
    const mine = audit.filter((e) => e.action.startsWith('ingest_token.'))
    expect(mine.map((e) => [e.action, e.details!.name])).toEqual([
      ['ingest_token.revoke', 'backend'],
      ['ingest_token.revoke', 'web'],
      ['ingest_token.create', 'web'],
      ['ingest_token.create', 'backend'],
    ])
    expect(mine.every((e) => e.actor === 'cli')).toBe(true)
    expect(JSON.stringify(audit)).not.toMatch(/krl_live_[a-z0-9]{32}/)
  })
})
