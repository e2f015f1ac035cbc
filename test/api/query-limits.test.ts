import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

/**
 * Every read carries a time and a memory limit (config `query`): a deliberately huge query
 * answers a clear 400 or 503 in the API's envelope instead of holding the engine. The limits
 * are the engine's own (max_execution_time, max_memory_usage), so these run real queries over
 * a real table of 300,000 entries with a different user id each.
 */
let t: TestApp
let project: { id: string }
const BASE = Date.parse('2026-11-27T00:00:00Z')
const ROWS = 300_000

beforeAll(async () => {
  t = await createTestApp()
  t.clock.pin(new Date(BASE + 86_400_000))
  project = await t.project({ name: 'Limits', retention_days: 30 })
  await t.engine.client.command({
    query: `INSERT INTO krafter.log_entries (project_id, timestamp, id, level, service, stream, message, trace_id, span_id, metadata, received_at)
      SELECT toUUID({p:String}), fromUnixTimestamp64Milli(toInt64({from:Int64} + number * 250), 'UTC') AS ts, leftPad(toString(number), 12, '0'),
        'info', 'api', 'app', concat('request ', toString(number), ' for user ', toString(number * 7919 % 1000003)), '', '',
        CAST(concat('{"user":{"id":', toString(number), ',"name":"user-', toString(number), '"}}') AS JSON), ts
      FROM numbers({n:UInt64})`,
    query_params: { p: project.id, from: BASE, n: ROWS },
  })
})
afterAll(async () => {
  await t?.close()
})

const facetsOfEveryUser = (fields = 'metadata.user.id') =>
  t.app.inject({
    url: `/api/v1/logs/facets?${new URLSearchParams({ project_id: project.id, fields, limit: '100' })}`,
    headers: bearer(t.teamKey),
  })

/** Runs fn with other limits on the app's engine, then puts the configured ones back. */
const withLimits = async <T>(limits: { timeoutMs?: number; maxMemoryBytes?: number }, fn: () => Promise<T>): Promise<T> => {
  const saved = t.engine.queryLimits!
  t.engine.queryLimits = { ...saved, ...limits }
  try {
    return await fn()
  } finally {
    t.engine.queryLimits = saved
  }
}

describe('query limits', () => {
  it('come from the config: 10 s and 2 GiB a read by default', () => {
    expect(t.config.query).toEqual({ timeout_ms: 10_000, max_memory_mb: 2048 })
    expect(t.engine.queryLimits).toEqual({ timeoutMs: 10_000, maxMemoryBytes: 2048 * 1024 * 1024 })
  })

  it('leave a query within them alone', async () => {
    const res = await facetsOfEveryUser()
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.total).toBe(ROWS)
    expect(res.json().data.fields['metadata.user.id']).toHaveLength(100)
  })

  it('answer a read that needs more memory than a read may use with 503 and Retry-After', async () => {
    // Grouping 300,000 distinct values of two paths needs more than 1 GiB in the engine; allow 4 MiB.
    const res = await withLimits({ maxMemoryBytes: 4 * 1024 * 1024 }, () => facetsOfEveryUser('metadata.user.id,metadata.user.name'))
    expect(res.statusCode, res.body).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    const body = res.json()
    expect(body.error.code).toBe('engine_unavailable')
    expect(body.error.message).toContain('4 MiB of engine memory a read may use (query.max_memory_mb)')
    expect(res.body).not.toMatch(/MEMORY_LIMIT|Code: 241|at .*\.ts/)
  })

  it('answer a read that runs past the time limit with 400 naming the range to narrow', async () => {
    // 1 ms for a pass over 300,000 entries' templates: it cannot finish in time.
    const res = await withLimits({ timeoutMs: 1 }, () =>
      t.app.inject({ url: `/api/v1/logs/patterns?${new URLSearchParams({ project_id: project.id })}`, headers: bearer(t.teamKey) }),
    )
    expect(res.statusCode, res.body).toBe(400)
    const body = res.json()
    expect(body.error.code).toBe('validation_error')
    expect(body.error.details).toEqual([{ field: 'from', message: expect.stringContaining('did not finish within the 0.001 s limit (query.timeout_ms)') }])
    expect(res.body).not.toMatch(/TIMEOUT_EXCEEDED|Code: 159/)
  })

  it('hold for every read path: search and stats too', async () => {
    for (const path of ['search?q=user', 'stats?interval=45s']) {
      const res = await withLimits({ timeoutMs: 1 }, () =>
        t.app.inject({ url: `/api/v1/logs/${path}&project_id=${project.id}`, headers: bearer(t.teamKey) }),
      )
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400)
      expect(res.json().error.details[0].field).toBe('from')
    }
  })

  it('a search without from and to reads the default 24 h window, not the whole table', async () => {
    // 300,000 entries, one every 250 ms from BASE: the last 24 h before the pinned clock hold 300,000 of them…
    const all = await t.app.inject({ url: `/api/v1/logs/stats?project_id=${project.id}`, headers: bearer(t.teamKey) })
    const total = (all.json().data.buckets as { total: number }[]).reduce((s, b) => s + b.total, 0)
    expect(total).toBe(ROWS)
    // …and a clock one day later holds none: nothing older than the window is read.
    t.clock.pin(new Date(BASE + 2 * 86_400_000 + 1))
    try {
      const later = await t.app.inject({ url: `/api/v1/logs/search?project_id=${project.id}&q=user`, headers: bearer(t.teamKey) })
      expect(later.statusCode).toBe(200)
      expect(later.json().data).toEqual([])
    } finally {
      t.clock.pin(new Date(BASE + 86_400_000))
    }
  })
})
