import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, tempDir, type TestApp } from '../helpers/app.js'

let t: TestApp

beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => {
  await t?.close()
  rmSync(scratch, { recursive: true, force: true })
})

const scratch = tempDir('backup-out')

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

describe('POST /admin/backups: the out directory', () => {
  const file = path.join(scratch, 'a-file')
  const link = path.join(scratch, 'to-proc')
  beforeAll(() => {
    writeFileSync(file, 'not a directory')
    symlinkSync('/proc/self', link)
  })

  // Each of these once hung serve for good (mkdir under /proc never returns) or gave a 500.
  const refused: [string, string, RegExp][] = [
    ['a directory under /proc', '/proc/x', /must not be under \/proc/],
    ['a directory under /sys', '/sys/x', /must not be under \/sys/],
    ['/dev itself', '/dev', /must not be under \/dev/],
    ['a path with a NUL byte', '/tmp/a\0b', /NUL byte/],
    ['a relative path', 'backups/x', /absolute path/],
    ['a path leading into /proc by a symbolic link', path.join(link, 'x'), /must not be under \/proc/],
    ['an existing file', file, /is a file, not a directory/],
    ['a path under a file', path.join(file, 'sub', 'dir'), /a-file is a file, so .* cannot be created/],
  ]
  it.each(refused)('refuses %s with 400 naming out', async (_what, out, message) => {
    const res = await api('POST', '/admin/backups', { out })
    expect(res.statusCode, res.body).toBe(400)
    expect(res.headers['x-request-id']).toBeTruthy()
    const { error, request_id } = res.json()
    expect(request_id).toBe(res.headers['x-request-id'])
    expect(error.code).toBe('validation_error')
    expect(error.details).toEqual([{ field: 'out', message: expect.stringMatching(message) }])
    expect(error.message).toMatch(message)
  })

  it('made nothing for a refused request, and serve still answers and backs up', async () => {
    expect(existsSync('/proc/x')).toBe(false)
    expect(readdirSync(scratch).sort()).toEqual(['a-file', 'to-proc'])
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    const out = path.join(scratch, 'new', 'deeper')
    const res = await api('POST', '/admin/backups', { out })
    expect(res.statusCode, res.body).toBe(201)
    expect(path.dirname(res.json().data.path)).toBe(out)
    expect(readdirSync(res.json().data.path)).toContain('manifest.json')
  })

  it('gives concurrent backups in the same second a directory each', async () => {
    const out = path.join(scratch, 'concurrent')
    mkdirSync(out)
    const results = await Promise.all([1, 2, 3].map(() => api('POST', '/admin/backups', { out })))
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201])
    const paths = results.map((r) => r.json().data.path as string)
    expect(new Set(paths).size).toBe(3)
    expect(readdirSync(out).length).toBe(3)
  })
})
