import { rmSync } from 'node:fs'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { startServe, cliFor, apiRequest, stopServe } from '../helpers/cli.js'

// `krafter-logs keys …` and `audit list` as the real CLI, against a running serve.
const home = tempDir('keys-e2e')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env)
let serve: { proc: ResultPromise; url: string } | undefined
let initKey: string
let projectId: string

const call = (method: string, path: string, token: string, body?: unknown) => apiRequest(serve!.url, token, method, path, body)

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  initKey = JSON.parse(init.stdout).team_api_key
  projectId = JSON.parse((await cli('project', 'create', 'dash', '--json')).stdout).id
  serve = await startServe(home, env)
})
afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
})

describe('keys and audit from the CLI', () => {
  it('creates a limited read key shown once, which serve accepts at once and refuses once revoked', async () => {
    const created = await cli('keys', 'create', '--name', 'grafana', '--scopes', 'logs:read', '--projects', 'dash', '--expires-in-days', '30', '--json')
    expect(created.exitCode, created.stderr).toBe(0)
    const key = JSON.parse(created.stdout)
    expect(key).toMatchObject({ name: 'grafana', scopes: ['logs:read'], project_ids: [projectId], status: 'active' })
    expect(key.key).toMatch(/^kr_live_[a-z0-9]{32}$/)
    const human = await cli('keys', 'create', '--name', 'ops', '--scopes', 'logs:read,logs:write')
    expect(human.stdout).toMatch(/shown only this once[\s\S]*kr_live_[a-z0-9]{32}/)

    const listed = await cli('keys', 'list', '--json')
    expect(listed.stdout).not.toContain(key.key)
    expect(JSON.parse(listed.stdout).map((k: { name: string }) => k.name)).toEqual(['init', 'grafana', 'ops'])

    expect((await call('GET', `/logs/search?project_id=${projectId}`, key.key)).status).toBe(200)
    expect((await call('POST', '/logs/projects', key.key, { name: 'nope' })).status).toBe(403)
    const revoked = await cli('keys', 'revoke', key.id, '--json')
    expect(revoked.exitCode, revoked.stderr).toBe(0)
    expect(JSON.parse(revoked.stdout).status).toBe('revoked')
    expect((await call('GET', `/logs/search?project_id=${projectId}`, key.key)).status).toBe(401)
  })

  it('validates flags, keeps the last admin key, and shows everything in the audit log', async () => {
    const bad = await cli('keys', 'create', '--name', 'x', '--scopes', 'root', '--json')
    expect(bad.exitCode).toBe(2)
    expect(JSON.parse(bad.stdout).error.details[0].field).toBe('scopes.0')
    const keys = JSON.parse((await cli('keys', 'list', '--json')).stdout) as { id: string; name: string }[]
    const last = await cli('keys', 'revoke', keys.find((k) => k.name === 'init')!.id, '--json')
    expect(last.exitCode).toBe(1)
    expect(JSON.parse(last.stdout).error).toMatchObject({ code: 'conflict' })
    expect((await call('GET', '/keys', initKey)).status).toBe(200)

    // Through the API too: actor is the key's prefix and the request id is kept.
    const viaApi = await call('POST', '/keys', initKey, { name: 'api-made', scopes: ['logs:read'] })
    const requestId = viaApi.headers.get('x-request-id')
    const audit = await cli('audit', 'list', '--json')
    expect(audit.exitCode, audit.stderr).toBe(0)
    const entries = JSON.parse(audit.stdout) as { action: string; actor: string; request_id: string | null; details: { name?: string } | null }[]
    expect(entries.map((e) => e.action)).toEqual(['key.create', 'key.revoke', 'key.create', 'key.create', 'project.create'])
    expect(entries[0]).toMatchObject({ actor: initKey.slice(0, 12), request_id: requestId, details: { name: 'api-made' } })
    expect(entries.slice(1).every((e) => e.actor === 'cli' && e.request_id === null)).toBe(true)
    const onlyRevokes = JSON.parse((await cli('audit', 'list', '--action', 'key.revoke', '--json')).stdout)
    expect(onlyRevokes).toHaveLength(1)
  })
})
