import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { parseConfig } from '../../src/config/config.js'
import { logTable } from '../../src/engine/schema.js'
import { IngestSpool } from '../../src/ingest/spool.js'
import { Metrics } from '../../src/metrics/metrics.js'
import { bearer, createTestApp, ingestBatch, tempDir, type TestApp } from '../helpers/app.js'
import { eventually } from '../helpers/syslog.js'

/**
 * ingest.commit: spool (issue 18 point 3): a 202 once the rows are fsynced to a local segment,
 * the engine taking segments afterwards; what a crash or a failing engine leaves is inserted
 * later, once, and rows the engine refuses after the 202 are kept and counted.
 */
let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ config: { ingest: { commit: 'spool' } } })
})
afterAll(async () => {
  await t?.close()
})

const batch = (token: string, entries: unknown[]) => ingestBatch(t.app, token, entries)

const health = async () => (await t.app.inject({ method: 'GET', url: '/healthz' })).json()
const spoolEmpty = () => eventually(async () => ((await health()).ingest.spool.rows === 0 ? true : undefined), 'the spool to empty')
const messages = async (projectId: string) =>
  (await t.rows<{ message: string }>(`SELECT message FROM ${logTable(t.engine)} WHERE project_id = {p:UUID} ORDER BY message`, { p: projectId })).map((r) => r.message)

/** A JSONEachRow line as the pipeline encodes it. */
const line = (projectId: string, message: string) =>
  `{"project_id":"${projectId}","timestamp":${Date.now() * 1000},"id":"${randomUUID()}","level":"info","service":"","stream":"default","message":"${message}","trace_id":"","span_id":"","metadata":{"k":1},"received_at":${Date.now() * 1000}}\n`

const segmentsIn = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.ndjson') && n !== 'refused.ndjson')

describe('the ingest spool', () => {
  it('answers 202 with the rows on disk, and the engine then stores them as sent', async () => {
    const p = await t.project()
    const res = await batch(p.ingest_token, [
      { message: 'spooled one', timestamp: '2026-12-01T10:00:00.123456Z', level: 'warn', service: 'api', metadata: { user: { id: 7 } } },
      { message: 'spooled two', timestamp: '2026-12-01T10:00:01Z', trace_id: 'abc123' },
    ])
    expect(res.statusCode).toBe(202)
    expect(res.json().data).toMatchObject({ accepted: 2, rejected: 0 })
    await spoolEmpty()
    const search = await t.app.inject({ method: 'GET', url: `/api/v1/logs/search?project_id=${p.id}&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z`, headers: bearer(t.teamKey) })
    expect(search.statusCode).toBe(200)
    const entries = search.json().data as { message: string; timestamp: string; level: string; service: string; metadata: unknown; trace_id: string | null }[]
    expect(entries.map((e) => [e.message, e.timestamp, e.level, e.service])).toEqual([
      ['spooled two', '2026-12-01T10:00:01.000000Z', 'info', ''],
      ['spooled one', '2026-12-01T10:00:00.123456Z', 'warn', 'api'],
    ])
    expect(entries[1]!.metadata).toEqual({ user: { id: 7 } })
    expect(segmentsIn(t.paths.spool)).toEqual([])
    expect((await health()).ingest.spool).toMatchObject({ rows: 0, segments: 0, refused_rows: 0 })
  })

  it('keeps accepting while the engine fails inserts, reports degraded, and stores everything once it works again', async () => {
    const p = await t.project()
    expect((await batch(p.ingest_token, [{ message: 'before' }])).statusCode).toBe(202)
    await spoolEmpty()
    const table = logTable(t.engine)
    // Today's partition holds a part and the table now allows one: TOO_MANY_PARTS, an engine
    // that cannot take inserts for now.
    await t.engine.client.command({ query: `ALTER TABLE ${table} MODIFY SETTING parts_to_delay_insert = 1, parts_to_throw_insert = 1` })
    try {
      for (let i = 0; i < 3; i++) expect((await batch(p.ingest_token, [{ message: `while broken ${i}` }])).statusCode).toBe(202)
      const degraded = await eventually(async () => {
        const h = await t.app.inject({ method: 'GET', url: '/healthz' })
        return h.statusCode === 503 ? (h.json() as { ingest: { spool: { rows: number } } }) : undefined
      }, 'healthz to report the failing inserts')
      expect(degraded).toMatchObject({ status: 'degraded', engine: { ok: true }, ingest: { inserts_failing: { since: expect.any(String) } } })
      expect(degraded.ingest.spool.rows).toBe(3)
      // The live tail reads up to the receipts' watermark: it must stay before rows not in the engine.
      const receipts = t.app.syslog.deps.ingest.receipts!
      expect(receipts.pending).toBe(1)
      expect(receipts.watermark(Number.MAX_SAFE_INTEGER)).toBe(t.clock.now().getTime() * 1000)
      expect(segmentsIn(t.paths.spool).length).toBeGreaterThan(0)
      expect(await messages(p.id)).toEqual(['before'])
    } finally {
      await t.engine.client.command({ query: `ALTER TABLE ${table} RESET SETTING parts_to_delay_insert, parts_to_throw_insert` })
    }
    await spoolEmpty()
    expect(await messages(p.id)).toEqual(['before', 'while broken 0', 'while broken 1', 'while broken 2'])
    expect(t.app.syslog.deps.ingest.receipts!.pending).toBe(0)
    const h = await t.app.inject({ method: 'GET', url: '/healthz' })
    expect(h.statusCode).toBe(200)
    expect(h.json().ingest.inserts_failing).toBeNull()
  })
})

describe('switching back to ingest.commit: engine', () => {
  it('inserts the segments the spool still held before serving', async () => {
    const p = await t.project()
    writeFileSync(path.join(t.paths.spool, `000000000900-${randomUUID()}.ndjson`), line(p.id, 'held by the spool'))
    const app = await buildApp({ config: parseConfig({ ingest: { commit: 'engine' } }, 'test', {}), paths: t.paths, meta: t.meta, engine: t.engine, clock: () => new Date(), teamId: t.teamId })
    await app.close()
    expect(await messages(p.id)).toEqual(['held by the spool'])
    expect(segmentsIn(t.paths.spool)).toEqual([])
  })
})

describe('IngestSpool on its own directory', () => {
  const spoolIn = (dir: string, metrics = new Metrics(), maxBytes = 1 << 20, sealAfterMs?: number) =>
    IngestSpool.open(t.engine, { dir, maxBytes, maxSegmentRows: 1000, retryMs: 20, sealAfterMs }, undefined, metrics)

  it('inserts the segments a crash left, drops an append that never finished, and stores a segment inserted again once', async () => {
    const p = await t.project()
    const dir = path.join(tempDir('spool'), 'spool')
    mkdirSync(dir)
    const first = `000000000001-${randomUUID()}.ndjson`
    writeFileSync(path.join(dir, first), line(p.id, 'left 1') + line(p.id, 'left 2'))
    // The second segment's last append was cut by the crash: no newline, never acknowledged.
    const second = path.join(dir, `000000000002-${randomUUID()}.ndjson`)
    const kept = line(p.id, 'left 3')
    writeFileSync(second, kept + line(p.id, 'torn').slice(0, 40))
    const spool = spoolIn(dir)
    expect(spool.spoolStats()).toMatchObject({ rows: 3, segments: 2 })
    // Cut off in the file itself: the engine reads the segment file, never the torn line.
    expect(readFileSync(second, 'utf8')).toBe(kept)
    await spool.drain()
    await spool.close()
    expect(await messages(p.id)).toEqual(['left 1', 'left 2', 'left 3'])
    expect(segmentsIn(dir)).toEqual([])

    // Stored, then the process died before removing it: the next start inserts it again.
    writeFileSync(path.join(dir, first), line(p.id, 'left 1') + line(p.id, 'left 2'))
    const again = spoolIn(dir)
    await again.drain()
    await again.close()
    expect(await messages(p.id)).toEqual(['left 1', 'left 2', 'left 3'])
    const next = spoolIn(dir)
    await next.insert([line(p.id, 'new')])
    await next.drain()
    await next.close()
    expect(await messages(p.id)).toEqual(['left 1', 'left 2', 'left 3', 'new'])
  })

  it('keeps appending to the open segment until sealAfterMs, so one insert takes them all; a drain does not wait for it', async () => {
    const p = await t.project()
    const dir = path.join(tempDir('spool'), 'spool')
    // Longer than this test runs: only the drain seals the segment.
    const spool = spoolIn(dir, new Metrics(), 1 << 20, 600_000)
    await spool.insert([line(p.id, 'a 1'), line(p.id, 'a 2')])
    await spool.insert([line(p.id, 'b')])
    expect(spool.spoolStats()).toMatchObject({ rows: 3, segments: 1 })
    expect(segmentsIn(dir)).toHaveLength(1)
    expect(spool.stats.inserts).toBe(0)
    expect(await messages(p.id)).toEqual([])
    await spool.drain()
    expect(spool.stats.inserts).toBe(1)
    expect(await messages(p.id)).toEqual(['a 1', 'a 2', 'b'])
    expect(spool.spoolStats()).toMatchObject({ rows: 0, segments: 0 })
    await spool.close()
  })

  it('drains what was answered before the call, and returns while others keep sending', async () => {
    const p = await t.project()
    const spool = spoolIn(path.join(tempDir('spool'), 'spool'))
    await spool.insert([line(p.id, 'before')])
    let stop = false
    let sent = 0
    const sender = (async () => {
      while (!stop) await spool.insert([line(p.id, `during ${sent++}`)])
    })()
    // A drain that waited for an empty spool would never return while the sender runs.
    await spool.drain()
    const atDrain = await messages(p.id)
    stop = true
    await sender
    expect(atDrain).toContain('before')
    await spool.drain()
    await spool.close()
    expect((await messages(p.id)).length).toBe(1 + sent)
  })

  it('keeps and counts the rows the engine refuses after the 202, and stores the rest', async () => {
    const p = await t.project()
    const dir = path.join(tempDir('spool'), 'spool')
    const metrics = new Metrics()
    const spool = spoolIn(dir, metrics)
    // "not-a-uuid" is no project_id the engine can parse: a data error on insert.
    const bad = line('not-a-uuid', 'refused')
    const outcome = await spool.insert([line(p.id, 'kept 1'), bad, line(p.id, 'kept 2')])
    expect(outcome.refused).toEqual([])
    await outcome.visible
    await spool.close()
    expect(await messages(p.id)).toEqual(['kept 1', 'kept 2'])
    expect(readFileSync(path.join(dir, 'refused.ndjson'), 'utf8')).toBe(bad)
    expect(spool.spoolStats()).toEqual({ rows: 0, bytes: 0, segments: 0, refused_rows: 1 })
    expect(metrics.spoolRefused.get()).toBe(1)
    expect(segmentsIn(dir)).toEqual([])
    // The count survives a restart.
    const reopened = spoolIn(dir)
    expect(reopened.spoolStats().refused_rows).toBe(1)
    await reopened.close()
  })

  it('refuses with a 503 what would take it past its bound, and accepts again once the engine has caught up', async () => {
    const p = await t.project()
    const dir = path.join(tempDir('spool'), 'spool')
    const row = line(p.id, 'x'.repeat(200))
    const spool = spoolIn(dir, new Metrics(), Buffer.byteLength(row) * 2)
    // Today's partition holds a part (the one just stored), then the table allows one.
    await (await spool.insert([row])).visible
    const table = logTable(t.engine)
    await t.engine.client.command({ query: `ALTER TABLE ${table} MODIFY SETTING parts_to_delay_insert = 1, parts_to_throw_insert = 1` })
    try {
      await spool.insert([row])
      await spool.insert([row])
      await expect(spool.insert([row])).rejects.toMatchObject({ code: 'engine_unavailable', status: 503, headers: { 'retry-after': '5' } })
    } finally {
      await t.engine.client.command({ query: `ALTER TABLE ${table} RESET SETTING parts_to_delay_insert, parts_to_throw_insert` })
    }
    await eventually(async () => (spool.spoolStats().rows === 0 ? true : undefined), 'the spool to empty')
    await (await spool.insert([row])).visible
    await spool.close()
    expect((await messages(p.id)).length).toBe(4)
    expect(existsSync(path.join(dir, 'refused.ndjson'))).toBe(false)
  })
})
