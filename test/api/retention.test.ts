import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { msUntilNext } from '../../src/jobs/schedule.js'
import { runRetention } from '../../src/logs/retention.js'
import { SERVE_ACTOR } from '../../src/meta/audit.js'
import { lastRun } from '../../src/meta/ops-runs.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

const DAY = 86_400_000

const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, token = t.teamKey) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) })

/**
 * Entries received `daysAgo` days before the test clock's now: the clock is set back to each
 * one's time while it is sent (an entry stamped older than its project's retention would be
 * refused at ingest), then restored.
 */
const ingestAged = async (token: string, daysAgo: number[]) => {
  const now = t.clock.now()
  try {
    for (const d of daysAgo) {
      t.clock.current = new Date(now.getTime() - d * DAY)
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/logs/ingest/batch',
        headers: { ...bearer(token), 'content-type': 'application/x-ndjson' },
        payload: JSON.stringify({ message: `aged ${d} days` }),
      })
      expect(res.statusCode, res.body).toBe(202)
    }
  } finally {
    t.clock.current = now
  }
}

const ages = async (projectId: string): Promise<string[]> =>
  (await t.rows<{ message: string }>('SELECT message FROM krafter.log_entries WHERE project_id = {p:UUID} ORDER BY timestamp', { p: projectId })).map(
    (r) => r.message,
  )

describe('retention cleanup', () => {
  it("removes each project's entries older than its retention_days; dry runs only count; a lowered retention applies at the next run", async () => {
    const a = await t.project({ name: 'keep-a-week', retention_days: 7 })
    const b = await t.project({ name: 'keep-3-days', retention_days: 3 })
    await ingestAged(a.ingest_token, [30, 10, 5, 2, 0.5])
    await ingestAged(b.ingest_token, [10, 5, 2, 0.5])

    const dry = await api('POST', '/admin/retention/run', { dry_run: true })
    expect(dry.statusCode, dry.body).toBe(200)
    const byName = (r: { data: { projects: { name: string; entries: number }[] } }) => Object.fromEntries(r.data.projects.map((p) => [p.name, p.entries]))
    expect(byName(dry.json())).toMatchObject({ 'keep-a-week': 2, 'keep-3-days': 2 })
    expect(dry.json().data).toMatchObject({ dry_run: true })
    expect(await ages(a.id)).toHaveLength(5)

    const run = await api('POST', '/admin/retention/run', {})
    expect(run.statusCode, run.body).toBe(200)
    expect(byName(run.json())).toMatchObject({ 'keep-a-week': 2, 'keep-3-days': 2 })
    const cutoffA = run.json().data.projects.find((p: { name: string }) => p.name === 'keep-a-week').cutoff
    expect(cutoffA).toBe(new Date(t.clock.now().getTime() - 7 * DAY).toISOString())
    expect(await ages(a.id)).toEqual(['aged 5 days', 'aged 2 days', 'aged 0.5 days'])
    expect(await ages(b.id)).toEqual(['aged 2 days', 'aged 0.5 days'])
    // Search agrees: the removed entries are gone from reads at once.
    const search = await api('GET', `/logs/search?project_id=${a.id}&from=${t.clock.now().getTime() - 60 * DAY}`)
    expect(search.json().data).toHaveLength(3)

    // Nothing left to remove: a second run removes nothing.
    expect((await api('POST', '/admin/retention/run', {})).json().data.total_entries).toBe(0)

    // Lowering the retention takes effect at the next run, for that project only.
    expect((await api('PUT', `/logs/projects/${a.id}`, { retention_days: 1 })).statusCode).toBe(200)
    const next = await api('POST', '/admin/retention/run', { project_id: a.id })
    expect(next.json().data.projects).toEqual([expect.objectContaining({ project_id: a.id, retention_days: 1, entries: 2 })])
    expect(await ages(a.id)).toEqual(['aged 0.5 days'])
    expect(await ages(b.id)).toHaveLength(2)

    const recorded = lastRun<{ total_entries: number }>(t.meta, 'retention')!
    expect(recorded).toMatchObject({ kind: 'retention', trigger: 'api', ok: true, summary: { total_entries: 2 } })
  })

  it('validates its input and needs the admin scope', async () => {
    const res = await api('POST', '/admin/retention/run', { dry_run: 'yes' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.details[0].field).toBe('dry_run')
    expect((await api('POST', '/admin/retention/run', { project_id: '00000000-0000-4000-8000-000000000000' })).statusCode).toBe(404)
    const writer = t.keyWith(['logs:read', 'logs:write'])
    const denied = await api('POST', '/admin/retention/run', {}, writer)
    expect(denied.statusCode).toBe(403)
    expect(denied.json().error.code).toBe('forbidden')
  })

  it('schedules the nightly run at the next HH:MM UTC', () => {
    const at = (iso: string) => new Date(iso)
    expect(msUntilNext('03:30', at('2026-11-27T01:00:00Z'))).toBe(2.5 * 3_600_000)
    expect(msUntilNext('03:30', at('2026-11-27T03:30:00Z'))).toBe(DAY)
    expect(msUntilNext('03:30', at('2026-11-27T23:59:00Z'))).toBe(3.5 * 3_600_000 + 60_000)
    expect(msUntilNext('00:00', at('2026-12-31T12:00:00Z'))).toBe(12 * 3_600_000)
  })

  it("records the same retention.run details from the API as from serve's schedule", async () => {
    const p = await t.project({ name: 'audited', retention_days: 2 })
    await ingestAged(p.ingest_token, [1.5, 0.5])
    t.clock.advance(DAY)
    const viaApi = await api('POST', '/admin/retention/run', {})
    expect(viaApi.statusCode, viaApi.body).toBe(200)
    // As serve's scheduler calls it (src/ops/serve.ts).
    t.clock.advance(DAY)
    const scheduled = await runRetention({ meta: t.meta, engine: t.engine, clock: t.clock.now }, t.teamId, { dry_run: false }, 'schedule', SERVE_ACTOR)
    expect(viaApi.json().data.total_entries).toBeGreaterThan(0)

    const log = await api('GET', '/audit-logs?action=retention.run')
    const entries = (log.json().data as { actor: string; target_id: string; request_id: string | null; details: unknown }[]).slice(0, 2)
    expect(entries.map((e) => [e.actor, e.target_id])).toEqual([
      ['serve', scheduled.run_id],
      [t.teamKey.slice(0, 12), viaApi.json().data.run_id],
    ])
    expect(entries[0]!.request_id).toBeNull()
    expect(entries[0]!.details).toEqual({ dry_run: false, project_id: null, entries: scheduled.total_entries })
    expect(entries[1]!.details).toEqual({ dry_run: false, project_id: null, entries: viaApi.json().data.total_entries })
  })
})
