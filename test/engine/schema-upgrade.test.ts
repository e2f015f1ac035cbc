import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/core.js'
import { openEmbeddedEngine } from '../../src/engine/embedded.js'
import { ENGINE_MIGRATIONS, engineSchemaVersion, migrateEngine } from '../../src/engine/schema.js'
import { searchLogs, SearchInput, traceWindow } from '../../src/logs/search.js'

/*
 * An engine data dir as the previous release left it (the released DDL of
 * test/unit/fixtures/engine-schema-single-node.json, versions 1-4, with entries written in
 * its row shape), upgraded by this release's migrateEngine: every entry is still there with
 * the same values, and trace lookups find their entries through the new projection, in parts
 * written before the upgrade and in parts written after it.
 */

const released = JSON.parse(readFileSync(path.join(import.meta.dirname, '../unit/fixtures/engine-schema-single-node.json'), 'utf8')) as {
  bootstrap: string[]
  migrations: string[][]
}
const RELEASED_VERSIONS = 4
const PROJECT = '5a0c9d52-6f1e-4c2b-9d8e-1f2a3b4c5d6e'
const OTHER = '7b1d0e63-8a2f-4d3c-8e9f-2a3b4c5d6e7f'
const HOUR_MS = 3_600_000
const NOW = Date.UTC(2026, 11, 3, 12, 0, 0)
const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-upgrade-'))
let engine: Engine

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
/** Entries in the row shape the release's ingest writes: one per 5 minutes back from NOW. */
const rows = (project: string, count: number, prefix: string, startMs: number) =>
  Array.from({ length: count }, (_, i) => {
    const ts = startMs - i * 300_000
    return {
      project_id: project,
      timestamp: iso(ts),
      id: `${prefix}${String(i).padStart(8, '0')}`,
      level: ['info', 'warn', 'error'][i % 3],
      service: ['api', 'worker'][i % 2],
      stream: 'app',
      message: `request ${i} completed in ${i % 97}ms for user ${i % 13}`,
      trace_id: i % 4 === 0 ? '' : `${prefix}trace-${i}`,
      span_id: i % 4 === 0 ? '' : `span-${i}`,
      metadata: { http: { status: i % 7 === 0 ? 500 : 200 }, n: i },
      received_at: iso(ts),
    }
  })

const insert = (values: ReturnType<typeof rows>) => engine.client.insert({ table: 'krafter.log_entries', values, format: 'JSONEachRow' })

const q = async <T>(query: string) => (await (await engine.client.query({ query, format: 'JSONEachRow' })).json<T>())

/** Every stored value of every entry, as one fingerprint per project. */
const fingerprint = () =>
  q<{ project_id: string; n: string; h: string }>(`SELECT project_id, count() AS n,
    sum(cityHash64(id, toUnixTimestamp64Micro(timestamp), level, service, stream, message, trace_id, span_id, toJSONString(metadata), toUnixTimestamp64Micro(received_at), toString(message_template))) AS h
    FROM krafter.log_entries GROUP BY project_id ORDER BY n DESC`)

const waitForMutations = async () => {
  for (;;) {
    const [pending] = await q<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = 'krafter' AND NOT is_done`)
    if (Number(pending!.n) === 0) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

const search = (input: Partial<SearchInput>) =>
  searchLogs(engine, SearchInput.parse({ project_id: PROJECT, from: String(NOW - 30 * 24 * HOUR_MS), to: String(NOW + HOUR_MS), ...input }), new Date(NOW))

let before: Awaited<ReturnType<typeof fingerprint>>

beforeAll(async () => {
  engine = await openEmbeddedEngine({ path: path.join(root, 'engine'), database: 'krafter' })
  // What the previous release's migrateEngine did: the bootstrap, then each version recorded.
  for (const sql of released.bootstrap) await engine.client.command({ query: sql })
  for (const [index, statements] of released.migrations.slice(0, RELEASED_VERSIONS).entries()) {
    for (const sql of statements) await engine.client.command({ query: sql })
    await engine.client.insert({ table: 'krafter.schema_migrations', values: [{ version: index + 1, applied_at: Date.now() }], format: 'JSONEachRow' })
  }
  // Several inserts, so the table has several parts per day like a live one.
  for (let batch = 0; batch < 4; batch++) await insert(rows(PROJECT, 500, `b${batch}-`, NOW - batch * 37 * HOUR_MS))
  await insert(rows(OTHER, 300, 'o-', NOW))
  before = await fingerprint()
}, 60_000)

afterAll(async () => {
  await engine?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('upgrading a data dir of the previous release', () => {
  it('starts at the released version with the released column type', async () => {
    expect(await engineSchemaVersion(engine)).toBe(RELEASED_VERSIONS)
    const [column] = await q<{ type: string }>(`SELECT type FROM system.columns WHERE database = 'krafter' AND table = 'log_entries' AND name = 'message_template'`)
    expect(column!.type).toBe('String')
  })

  it('migrates to the newest version and keeps every entry with the same values', async () => {
    expect(await migrateEngine(engine)).toBe(ENGINE_MIGRATIONS.length)
    await waitForMutations()
    expect(await engineSchemaVersion(engine)).toBe(ENGINE_MIGRATIONS.length)
    const after = await fingerprint()
    expect(after.map((r) => Number(r.n))).toEqual([2000, 300])
    expect(after).toEqual(before)
    const [column] = await q<{ type: string }>(`SELECT type FROM system.columns WHERE database = 'krafter' AND table = 'log_entries' AND name = 'message_template'`)
    expect(column!.type).toBe('LowCardinality(String)')
    // Running it again changes nothing.
    expect(await migrateEngine(engine)).toBe(ENGINE_MIGRATIONS.length)
    expect(await fingerprint()).toEqual(before)
  })

  it('built the trace projection in the parts written before the upgrade', async () => {
    const [parts] = await q<{ all: string; traced: string }>(`SELECT
      (SELECT count() FROM system.parts WHERE database = 'krafter' AND table = 'log_entries' AND active) AS all,
      (SELECT count() FROM system.projection_parts WHERE database = 'krafter' AND table = 'log_entries' AND active AND name = 'p_trace') AS traced`)
    expect(Number(parts!.traced)).toBe(Number(parts!.all))
    const plan = (await q<{ explain: string }>(
      `EXPLAIN indexes = 1 SELECT toUnixTimestamp(min(toStartOfHour(timestamp))) AS lo, toUnixTimestamp(max(toStartOfHour(timestamp))) AS hi
       FROM krafter.log_entries WHERE project_id = '${PROJECT}' AND toUInt32(cityHash64(trace_id)) = toUInt32(cityHash64('b2-trace-5'))`,
    )).map((r) => r.explain).join('\n')
    // The lookup traceWindow sends reads the projection, by its sort key.
    expect(plan).toContain('ReadFromMergeTree (p_trace)')
  })

  it('finds a trace written before the upgrade over 30 days, in its hour only', async () => {
    // b2-trace-5: batch 2 starts 74 h before NOW, entry 5 is 25 minutes earlier.
    const ts = NOW - 74 * HOUR_MS - 5 * 300_000
    const window = await traceWindow(engine, PROJECT, 'b2-trace-5', { fromUs: (NOW - 30 * 24 * HOUR_MS) * 1000, toUs: NOW * 1000 })
    expect(window.fromUs).toBe(Math.floor(ts / HOUR_MS) * HOUR_MS * 1000)
    expect(window.toUs).toBe(window.fromUs + HOUR_MS * 1000)
    const found = await search({ trace_id: 'b2-trace-5' })
    expect(found.entries.map((e) => [e.id, e.timestamp])).toEqual([['b2-00000005', new Date(ts).toISOString().replace('Z', '000Z')]])
    // The narrowed search read the hour's granules, not the month's 2,300 rows.
    expect(found.stats.rows_read).toBeLessThan(2300)
    // The same trace named in q, AND-ed with a word: the same entry, the same narrowed read.
    const viaQ = await search({ q: 'trace_id:b2-trace-5 completed' })
    expect(viaQ.entries.map((e) => e.id)).toEqual(['b2-00000005'])
    expect(viaQ.stats.rows_read).toBeLessThan(2300)
    // Under OR one trace does not bound the matches: both are found, hours apart.
    const either = await search({ q: 'trace_id:b2-trace-5 OR trace_id:b0-trace-1' })
    expect(either.entries.map((e) => e.id)).toEqual(['b0-00000001', 'b2-00000005'])
  })

  it('finds a trace in a part written after the upgrade (no projection yet) and answers an unknown one with nothing', async () => {
    await insert(rows(PROJECT, 10, 'new-', NOW - 2 * HOUR_MS))
    const parts = await q<{ n: string }>(`SELECT count() AS n FROM system.parts WHERE database = 'krafter' AND table = 'log_entries' AND active AND name NOT IN (SELECT parent_name FROM system.projection_parts WHERE database = 'krafter' AND table = 'log_entries' AND name = 'p_trace' AND active)`)
    expect(Number(parts[0]!.n)).toBeGreaterThan(0)
    const found = await search({ trace_id: 'new-trace-3' })
    expect(found.entries.map((e) => e.id)).toEqual(['new-00000003'])
    expect((await search({ trace_id: 'no-such-trace' })).entries).toEqual([])
    // Outside the asked range: the trace's hours do not widen it.
    expect((await search({ trace_id: 'new-trace-3', from: String(NOW - HOUR_MS) })).entries).toEqual([])
    // The other project's trace ids never match this project's search.
    expect((await search({ trace_id: 'o-trace-1' })).entries).toEqual([])
  })
})
