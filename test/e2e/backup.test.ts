import { cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINE_MIGRATIONS } from '../../src/engine/schema.js'
import { tempDir } from '../helpers/app.js'
import { startServe, cliFor, json, apiFor, stopServe } from '../helpers/cli.js'

// Backup, restore, retention and status as the real CLI, with and without a running serve.
const home = tempDir('backup-e2e')
const elsewhere = tempDir('backup-out')
// The rule's webhook points to loopback, which only an instance that allows it accepts.
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn', KRAFTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS: 'true' }
const cli = cliFor(env, { timeout: 120_000 })

let serve: { proc: ResultPromise; url: string } | undefined
let teamKey: string
const projects: { id: string; name: string; ingest_token: string }[] = []
let ruleId: string
let backupPath: string
const DAY = 86_400_000

const api = apiFor(() => serve!.url, () => teamKey)

const searches = async () => {
  const out: Record<string, unknown> = {}
  for (const p of projects) {
    for (const q of ['', 'level:error', 'checkout', 'metadata.order.total:>=50']) {
      const r = await api('GET', `/logs/search?project_id=${p.id}&limit=1000&from=${Date.now() - 40 * DAY}&q=${encodeURIComponent(q)}`)
      expect(r.status, JSON.stringify(r.body)).toBe(200)
      out[`${p.name}|${q}`] = r.body.data
    }
  }
  return out
}

const stop = async () => {
  serve!.proc.kill('SIGTERM')
  expect((await serve!.proc).exitCode).toBe(0)
}

beforeAll(async () => {
  const init = await cli('init', '--json', '--port', '0')
  expect(init.exitCode, init.stderr).toBe(0)
  teamKey = json(init).team_api_key
  for (const name of ['shop', 'billing']) {
    // Created keeping 30 days so that entries 20 days old are accepted; lowered to 7 below.
    const created = await cli('project', 'create', name, '--json', '--retention-days', '30')
    expect(created.exitCode, created.stderr).toBe(0)
    projects.push(json(created))
  }
  serve = await startServe(home, env)
  const now = Date.now()
  for (const [i, p] of projects.entries()) {
    const lines = Array.from({ length: 500 + i * 250 }, (_, n) =>
      JSON.stringify({
        message: n % 7 === 0 ? `checkout failed for order ${n}` : `request ${n} served`,
        level: n % 7 === 0 ? 'error' : 'info',
        service: n % 2 ? 'api' : 'worker',
        stream: n % 3 ? 'default' : 'audit',
        metadata: { order: { total: n % 100 }, tags: ['a', 'b'] },
        // A tenth of them are 20 days old: past the 7-day retention.
        timestamp: new Date(now - (n % 10 === 0 ? 20 * DAY : n * 1000)).toISOString(),
      }),
    )
    const res = await fetch(`${serve.url}/api/v1/logs/ingest/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n'),
    })
    expect(res.status).toBe(202)
    // Retention lowered after the fact: the 20-day-old tenth is now past it.
    const lowered = await cli('project', 'update', p.name, '--retention-days', '7', '--json')
    expect(lowered.exitCode, lowered.stderr).toBe(0)
  }
  const rule = await api('POST', '/logs/alerts', {
    project_id: projects[0]!.id,
    name: 'checkout errors',
    query: 'checkout level:error',
    condition: { type: 'count', threshold: 1000, window_minutes: 5 },
    channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/never', secret: 'backup-secret' }],
  })
  expect(rule.status).toBe(201)
  ruleId = rule.body.data.id
})

afterAll(async () => {
  await stopServe(serve)
  rmSync(home, { recursive: true, force: true })
  rmSync(elsewhere, { recursive: true, force: true })
})

describe('operations while serve runs', () => {
  it('status reports serve, the engine, the data and no runs yet', async () => {
    const res = await cli('status', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const status = json(res)
    expect(status).toMatchObject({
      data_dir: home,
      serve: { running: true, url: serve!.url, pid: serve!.proc.pid },
      engine: { mode: 'embedded', ok: true, entries: 1250 },
      ingest_today: { entries: 1250, rejected: 0 },
      projects: 2,
      api_keys: 1,
      alert_rules: 1,
      last_retention: null,
      last_backup: null,
      via: 'server',
    })
    expect(status.engine.version).toMatch(/^2\d\./)
    expect(status.engine.bytes_on_disk).toBeGreaterThan(0)
    expect(status.disk.data_dir_bytes).toBeGreaterThan(status.disk.meta_bytes)
  })

  it('retention run --dry-run counts through serve, the real run removes, status shows it', async () => {
    const dry = await cli('retention', 'run', '--dry-run', '--json')
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(json(dry)).toMatchObject({ dry_run: true, total_entries: 125, via: 'server' })
    const only = await cli('retention', 'run', '--project', 'billing', '--json')
    expect(json(only).projects).toEqual([expect.objectContaining({ name: 'billing', entries: 75 })])
    const status = json(await cli('status', '--json'))
    expect(status.engine.entries).toBe(1175)
    expect(status.last_retention).toMatchObject({ ok: true, trigger: 'api', summary: { total_entries: 75 } })
    const human = await cli('retention', 'run')
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/shop\s+7\s+\S+\s+50/)
    expect(human.stdout).toContain('50 entries removed in 2 project(s) (via server)')
  })

  it('backup create goes through serve, writes a verified manifest, and backup list finds it', async () => {
    const res = await cli('backup', 'create', '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const out = json(res)
    backupPath = out.path
    expect(out.via).toBe('server')
    expect(path.dirname(backupPath)).toBe(path.join(home, 'backups'))
    expect(out.manifest).toMatchObject({
      format: 1,
      product: 'krafter-logs',
      meta_schema_version: expect.any(Number),
      engine: { mode: 'embedded', schema_version: ENGINE_MIGRATIONS.length, database: 'krafter' },
      counts: { projects: 2, api_keys: 1, alert_rules: 1, entries: 1125, teams: 1 },
    })
    expect(out.manifest.entries_by_project).toEqual({ [projects[0]!.id]: 450, [projects[1]!.id]: 675 })
    expect(out.manifest.files.map((f: { name: string }) => f.name)).toEqual(['krafter.yaml', 'log_entries.native.zst', 'meta.sqlite'])
    for (const f of out.manifest.files) expect(statSync(path.join(backupPath, f.name)).size).toBe(f.bytes)
    expect(statSync(path.join(backupPath, 'meta.sqlite')).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(path.join(backupPath, 'manifest.json'), 'utf8'))).toEqual(out.manifest)

    // Elsewhere with --out and --keep 1: two backups there, the older one removed.
    // Both may start in the same second: the second is then named -2, and `keep` orders by the
    // manifests' millisecond created_at, so no wait for the clock to tick over is needed.
    const first = json(await cli('backup', 'create', '--out', elsewhere, '--json'))
    const second = json(await cli('backup', 'create', '--out', elsewhere, '--keep', '1', '--json'))
    expect(second.removed).toEqual([first.path])
    expect(existsSync(first.path)).toBe(false)
    const list = json(await cli('backup', 'list', '--json'))
    expect(list.map((b: { path: string }) => b.path).sort()).toEqual([backupPath, second.path].sort())
    expect(list.every((b: { valid: boolean; entries: number }) => b.valid && b.entries === 1125)).toBe(true)
    const status = json(await cli('status', '--json'))
    expect(status.last_backup).toMatchObject({ ok: true, summary: { path: second.path, entries: 1125 } })
  })

  it('restore is refused while serve runs', async () => {
    const res = await cli('backup', 'restore', backupPath, '--force')
    expect(res.exitCode).toBe(1)
    expect(res.stderr).toContain('serve is running')
  })
})

describe('restore into a wiped instance', () => {
  it('finds the same projects, keys, alerts, entry counts and search results', async () => {
    const before = await searches()
    const projectsBefore = (await api('GET', '/logs/projects')).body.data
    const keysBefore = (await api('GET', '/keys')).body.data
    await stop()
    const saved = path.join(elsewhere, 'the-backup')
    cpSync(backupPath, saved, { recursive: true })

    // Into the still-initialised data dir: refused without --force.
    const refused = await cli('backup', 'restore', saved)
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain('--force')

    // A damaged copy is refused before anything changes.
    const damaged = path.join(elsewhere, 'damaged')
    cpSync(saved, damaged, { recursive: true })
    const dump = path.join(damaged, 'log_entries.native.zst')
    const bytes = readFileSync(dump)
    const middle = Math.floor(bytes.length / 2)
    bytes[middle] = bytes[middle]! ^ 0xff
    writeFileSync(dump, bytes)
    const bad = await cli('backup', 'restore', damaged, '--force')
    expect(bad.exitCode).toBe(1)
    expect(bad.stderr).toContain('log_entries.native.zst does not match its checksum')

    rmSync(home, { recursive: true, force: true })
    const restored = await cli('backup', 'restore', saved, '--json')
    expect(restored.exitCode, restored.stderr).toBe(0)
    expect(json(restored).restored.counts).toMatchObject({ projects: 2, api_keys: 1, alert_rules: 1, entries: 1125 })
    expect(statSync(path.join(home, 'krafter.yaml')).mode & 0o777).toBe(0o600)

    const status = json(await cli('status', '--json'))
    expect(status).toMatchObject({ serve: { running: false }, engine: { ok: true, entries: 1125 }, projects: 2, via: 'direct' })

    serve = await startServe(home, env)
    // The team key of the old instance works: keys came back (as hashes).
    expect((await api('GET', '/logs/projects')).body.data).toEqual(projectsBefore)
    const keysAfter = (await api('GET', '/keys')).body.data
    // Identical but for last_used_at, which this very request may have moved on.
    const strip = (keys: { last_used_at: string | null }[]) => keys.map(({ last_used_at: _l, ...k }) => k)
    expect(strip(keysAfter)).toEqual(strip(keysBefore))
    expect((await api('GET', `/logs/alerts/${ruleId}`)).body.data).toMatchObject({ name: 'checkout errors', query: 'checkout level:error' })
    expect(await searches()).toEqual(before)
    // Ingest tokens came back too.
    const res = await fetch(`${serve.url}/api/v1/logs/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projects[0]!.ingest_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'after restore' }),
    })
    expect(res.status).toBe(202)
    const again = await cli('backup', 'restore', saved, '--force')
    expect(again.exitCode).toBe(1)
  })
})
