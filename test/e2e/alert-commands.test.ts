import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { startServe, cliFor, json, stopServe } from '../helpers/cli.js'

// `alert create|enable|disable|delete` as the real built CLI: the API's validation and audit,
// directly on the data dir, also while serve runs (serve sees the rules at once).
const home = tempDir('alert-cli')
const files = tempDir('alert-cli-files')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }
const cli = cliFor(env)

let projectId: string
let teamKey: string
let serve: { proc: ResultPromise; url: string } | undefined

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  teamKey = json(init).team_api_key
  const created = await cli('project', 'create', 'shop', '--json')
  expect(created.exitCode, created.stderr).toBe(0)
  projectId = json(created).id
})

afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
  rmSync(files, { recursive: true, force: true })
})

describe('alert rule commands', () => {
  it('creates count and rate rules from flags, by project name, with a generated webhook secret shown once', async () => {
    const count = await cli(
      'alert', 'create', '--project', 'shop', '--name', 'DB errors', '--query', 'level:error db',
      '--threshold', '3', '--window-minutes', '5', '--cooldown-minutes', '30',
      '--email', 'oncall@example.com', '--email', 'a@b.c', '--webhook', 'https://hooks.example.com/krafter', '--json',
    )
    expect(count.exitCode, count.stderr).toBe(0)
    const rule = json(count)
    expect(rule).toMatchObject({
      project_id: projectId,
      name: 'DB errors',
      query: 'level:error db',
      condition: { type: 'count', threshold: 3, window_minutes: 5 },
      cooldown_minutes: 30,
      enabled: true,
    })
    expect(rule.channels).toEqual([
      { type: 'email', to: ['oncall@example.com', 'a@b.c'] },
      { type: 'webhook', url: 'https://hooks.example.com/krafter', secret: expect.stringMatching(/^whsec_/) },
    ])
    const listed = json(await cli('alert', 'list', '--json'))
    expect(JSON.stringify(listed)).not.toContain('whsec_')

    const rate = await cli(
      'alert', 'create', '-p', projectId, '--name', 'Error rate', '--query', 'level:error',
      '--threshold-percent', '2.5', '--window-minutes', '10', '--min-entries', '50',
      '--webhook', 'https://hooks.example.com/rate', '--webhook-secret', 'my-own-secret', '--disabled',
    )
    expect(rate.exitCode, rate.stderr).toBe(0)
    expect(rate.stdout).toContain('Error rate')
    expect(rate.stdout).toContain('shown only this once')
    const stored = json(await cli('alert', 'list', '--project', 'shop', '--json')).find((r: { name: string }) => r.name === 'Error rate')
    expect(stored).toMatchObject({ enabled: false, condition: { type: 'rate', threshold_percent: 2.5, window_minutes: 10, min_entries: 50 } })
  })

  it('creates a rule from a JSON or a YAML file with the API body, --project filling in the project', async () => {
    const body = {
      project_id: projectId,
      name: 'From JSON',
      query: 'level:fatal',
      condition: { type: 'count', threshold: 1, window_minutes: 1 },
      channels: [{ type: 'email', to: ['ops@example.com'] }],
      enabled: false,
    }
    const jsonFile = path.join(files, 'rule.json')
    writeFileSync(jsonFile, JSON.stringify(body))
    const fromJson = await cli('alert', 'create', '--from-file', jsonFile, '--json')
    expect(fromJson.exitCode, fromJson.stderr).toBe(0)
    expect(json(fromJson)).toMatchObject({ ...body, cooldown_minutes: 15 })

    const yamlFile = path.join(files, 'rule.yaml')
    writeFileSync(
      yamlFile,
      ['name: From YAML', 'query: "level:error OR level:fatal"', 'condition:', '  type: rate', '  threshold_percent: 5', '  window_minutes: 15', 'channels:', '  - type: email', '    to: [oncall@example.com]', ''].join('\n'),
    )
    const fromYaml = await cli('alert', 'create', '--from-file', yamlFile, '--project', 'shop', '--json')
    expect(fromYaml.exitCode, fromYaml.stderr).toBe(0)
    expect(json(fromYaml)).toMatchObject({ project_id: projectId, name: 'From YAML', condition: { type: 'rate', threshold_percent: 5, window_minutes: 15, min_entries: 10 } })
  })

  it('refuses bad rules with the field named and exit 2, as the API does', { timeout: 240_000 }, async () => {
    const base = ['alert', 'create', '--project', 'shop', '--name', 'x', '--window-minutes', '5', '--email', 'ops@example.com']
    const cases: [string[], string][] = [
      [[...base, '--query', 'level:error', '--json'], 'condition.threshold'],
      [[...base, '--threshold', '1', '--query', 'level:(', '--json'], 'query'],
      [[...base, '--threshold', '1', '--query', 'a', '--email', 'not-an-address', '--json'], 'channels.0.to.1'],
      [[...base, '--threshold', '1', '--query', 'a', '--type', 'rate', '--json'], 'condition.threshold_percent'],
      [[...base, '--threshold', '1', '--query', 'a', '--cooldown-minutes', '99999', '--json'], 'cooldown_minutes'],
      [['alert', 'create', '--project', 'shop', '--name', 'x', '--query', 'a', '--threshold', '1', '--window-minutes', '5', '--json'], 'channels'],
      [['alert', 'create', '--project', 'shop', '--name', 'x', '--query', 'a', '--threshold', '1', '--window-minutes', '5', '--webhook', 'http://127.0.0.1:8080/api/v1/keys', '--json'], 'channels.0.url'],
      [['alert', 'create', '--project', 'shop', '--name', 'x', '--query', 'a', '--threshold', '1', '--window-minutes', '5', '--webhook', 'http://[::1]:9000/', '--json'], 'channels.0.url'],
    ]
    for (const [args, field] of cases) {
      const res = await cli(...args)
      expect(res.exitCode, args.join(' ')).toBe(2)
      const error = json(res).error
      expect(error.code).toBe('validation_error')
      expect(error.details.map((d: { field: string }) => d.field), args.join(' ')).toContain(field)
    }
    const noFile = await cli('alert', 'create', '--from-file', path.join(files, 'missing.yaml'))
    expect(noFile.exitCode).toBe(2)
    expect(noFile.stderr).toContain('Could not read')
    const badFile = path.join(files, 'bad.yaml')
    writeFileSync(badFile, '- just\n- a list\n')
    const notRule = await cli('alert', 'create', '--from-file', badFile, '--json')
    expect(notRule.exitCode).toBe(2)
    expect(json(notRule).error.message).toContain('must hold one rule')
    const unknownProject = await cli('alert', 'create', '--project', 'no-such-shop', '--name', 'x', '--json')
    expect(unknownProject.exitCode).toBe(1)
    expect(json(unknownProject).error).toMatchObject({ code: 'not_found', suggestions: [expect.stringContaining('krafter-logs project list')] })
    const before = json(await cli('alert', 'list', '--json')).length
    expect(before).toBe(4)
  })

  it('enables, disables and deletes rules while serve runs; serve sees the changes; all audited as cli', async () => {
    serve = await startServe(home, env)
    const viaApi = async (id: string) =>
      fetch(`${serve!.url}/api/v1/logs/alerts/${id}`, { headers: { authorization: `Bearer ${teamKey}` } })

    const created = await cli('alert', 'create', '--project', 'shop', '--name', 'While serving', '--query', 'boom', '--threshold', '1', '--window-minutes', '1', '--email', 'ops@example.com', '--json')
    expect(created.exitCode, created.stderr).toBe(0)
    const id = json(created).id as string
    expect(((await (await viaApi(id)).json()) as { data: { enabled: boolean } }).data.enabled).toBe(true)

    const disabled = await cli('alert', 'disable', id, '--json')
    expect(disabled.exitCode, disabled.stderr).toBe(0)
    expect(json(disabled)).toMatchObject({ id, enabled: false, changed: true })
    expect(((await (await viaApi(id)).json()) as { data: { enabled: boolean } }).data.enabled).toBe(false)
    const again = await cli('alert', 'disable', id)
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('Already disabled')
    const enabled = await cli('alert', 'enable', id, '--json')
    expect(json(enabled)).toMatchObject({ id, enabled: true, changed: true })

    const deleted = await cli('alert', 'delete', id, '--json')
    expect(deleted.exitCode, deleted.stderr).toBe(0)
    expect(json(deleted)).toEqual({ id, name: 'While serving', deleted: true })
    expect((await viaApi(id)).status).toBe(404)
    const gone = await cli('alert', 'delete', id, '--json')
    expect(gone.exitCode).toBe(1)
    expect(json(gone).error).toMatchObject({ code: 'not_found', message: 'Alert rule not found' })

    const audit = json(await cli('audit', 'list', '--json')) as { actor: string; action: string; target_id: string }[]
    const ofRule = audit.filter((a) => a.target_id === id).map((a) => [a.actor, a.action])
    // Newest first; the no-op disable is not audited.
    expect(ofRule).toEqual([
      ['cli', 'alert.delete'],
      ['cli', 'alert.update'],
      ['cli', 'alert.update'],
      ['cli', 'alert.create'],
    ])
  })
})
