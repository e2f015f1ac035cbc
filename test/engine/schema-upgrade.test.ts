import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/engine/core.js'
import { openEmbeddedEngine } from '../../src/engine/embedded.js'
import { ENGINE_MIGRATIONS, engineSchemaVersion, migrateEngine } from '../../src/engine/schema.js'
import { searchLogs, SearchInput } from '../../src/logs/search.js'

/*
 * An engine data dir as the previous release left it (the released DDL of
 * test/unit/fixtures/engine-schema-single-node.json, versions 1-4, with entries written in
 * its row shape), upgraded by this release's migrateEngine: every entry is still there with
 * the same values, and searches find them in parts written before the upgrade and after it.
 */

const released = JSON.parse(readFileSync(path.join(import.meta.dirname, '../unit/fixtures/engine-schema-single-node.json'), 'utf8')) as {
  bootstrap: string[]
  migrations: string[][]
}
const RELEASED_VERSIONS = 4
const PROJECT = '5a0c9d52-6f1e-4c2b-9d8e-1f2a3b4c5d6e'
const OTHER = '7b1d0e63-8a2f-4d3c-8e9f-2a3b4c5d6e7f'
const HOUR_MS = 3_600_000
// Relative to the real time: the table's 90-day TTL would drop entries of a fixed date one day.
const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS
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

  it('finds entries written before the upgrade by trace, word and metadata', async () => {
    // b2-trace-5: batch 2 starts 74 h before NOW, entry 5 is 25 minutes earlier.
    const ts = NOW - 74 * HOUR_MS - 5 * 300_000
    const found = await search({ trace_id: 'b2-trace-5' })
    expect(found.entries.map((e) => [e.id, e.timestamp, e.message, e.metadata])).toEqual([
      ['b2-00000005', new Date(ts).toISOString().replace('Z', '000Z'), 'request 5 completed in 5ms for user 5', { http: { status: 200 }, n: 5 }],
    ])
    const viaQ = await search({ q: 'trace_id:b2-trace-5 completed' })
    expect(viaQ.entries.map((e) => e.id)).toEqual(['b2-00000005'])
    // Entry 7 of each batch has status 500 and a message with "7ms".
    const failed = await search({ q: 'metadata.http.status:>=500 7ms', limit: 10 })
    expect(failed.entries.map((e) => e.id).sort()).toEqual(['b0-00000007', 'b1-00000007', 'b2-00000007', 'b3-00000007'])
  })

  it('stores and finds entries written after the upgrade, and answers an unknown trace with nothing', async () => {
    await insert(rows(PROJECT, 10, 'new-', NOW - 2 * HOUR_MS))
    const found = await search({ trace_id: 'new-trace-3' })
    expect(found.entries.map((e) => e.id)).toEqual(['new-00000003'])
    expect((await search({ trace_id: 'no-such-trace' })).entries).toEqual([])
    // The new entry's template is stored in the new type and matches the old entries' one.
    const [t] = await q<{ n: string }>(`SELECT uniqExact(message_template) AS n FROM krafter.log_entries WHERE id IN ('new-00000003', 'b0-00000003')`)
    expect(Number(t!.n)).toBe(1)
    // The other project's trace ids never match this project's search.
    expect((await search({ trace_id: 'o-trace-1' })).entries).toEqual([])
  })
})
