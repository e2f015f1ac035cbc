import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
})

const api = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(t.teamKey), ...(payload === undefined ? {} : { payload: payload as object }) })

const dumpCount = async (dir: string, manifest: { engine: { structure: string } }) =>
  Number(
    (
      await t.rows<{ n: string }>("SELECT count() AS n FROM file({f:String}, 'Native', {s:String})", {
        f: path.join(dir, 'log_entries.native.zst'),
        s: manifest.engine.structure,
      })
    )[0]!.n,
  )

describe('POST /admin/backups', () => {
  it('backs up an instance without entries, then one with entries, each dump holding exactly the counted entries', async () => {
    const empty = await api('POST', '/admin/backups', {})
    expect(empty.statusCode, empty.body).toBe(201)
    const first = empty.json().data
    expect(first.manifest.counts).toMatchObject({ entries: 0, projects: 0, api_keys: 1 })
    expect(first.manifest.engine.structure).toMatch(/^`project_id` UUID, `timestamp` DateTime64\(6, 'UTC'\)/)
    expect(await dumpCount(first.path, first.manifest)).toBe(0)

    const p = await t.project()
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest/batch',
      headers: { ...bearer(p.ingest_token), 'content-type': 'application/x-ndjson' },
      payload: Array.from({ length: 25 }, (_, i) => JSON.stringify({ message: `entry ${i}` })).join('\n'),
    })
    expect(res.statusCode).toBe(202)
    // Same second on the test clock: the second backup gets its own name.
    const second = await api('POST', '/admin/backups', { keep: 1 })
    expect(second.statusCode, second.body).toBe(201)
    const full = second.json().data
    expect(full.manifest.counts).toMatchObject({ entries: 25, projects: 1 })
    expect(full.manifest.entries_by_project).toEqual({ [p.id]: 25 })
    expect(await dumpCount(full.path, full.manifest)).toBe(25)
    expect(full.path).toBe(`${first.path}-2`)
    expect(full.removed).toEqual([first.path])
    expect((await api('GET', '/admin/backups')).json().data.map((b: { path: string }) => b.path)).toEqual([full.path])
  })

  it('validates its body', async () => {
    const res = await api('POST', '/admin/backups', { keep: 0 })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.details[0].field).toBe('keep')
    expect((await api('POST', '/admin/backups', { when: 'now' })).statusCode).toBe(400)
  })
})
