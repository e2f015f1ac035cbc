import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, ingestNdjson, type TestApp } from '../helpers/app.js'
import type { LogEntry } from '../../src/logs/search.js'

let t: TestApp
const BASE = Date.parse('2026-11-27T10:00:00Z')
const at = (minutes: number, seconds = 0) => new Date(BASE + minutes * 60_000 + seconds * 1000).toISOString()

/** An entry as the API answers it. */
type Entry = LogEntry

const ingest = (token: string, entries: object[]) => ingestNdjson(t, token, entries)

const get = (path: string, params: Record<string, string | number>, token = t.teamKey) => {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)] as [string, string]))
  return t.app.inject({ url: `/api/v1/logs/${path}?${qs}`, headers: bearer(token) })
}

/** Every entry of a project, straight from search, put in (timestamp, id) order here. */
const allEntries = async (projectId: string): Promise<Entry[]> => {
  const res = await get('search', { project_id: projectId, limit: 1000, from: at(-600), to: at(600) })
  expect(res.statusCode, res.body).toBe(200)
  return (res.json().data as Entry[]).sort((a, b) => a.timestamp.localeCompare(b.timestamp) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

const expectBad = async (path: string, params: Record<string, string | number>, field: string) => {
  const res = await get(path, params)
  expect(res.statusCode, `${path} ${JSON.stringify(params)}: ${res.body}`).toBe(400)
  expect(res.json().error.code).toBe('validation_error')
  expect(res.json().error.details.map((d: { field: string }) => d.field)).toContain(field)
}

beforeAll(async () => {
  t = await createTestApp()
  t.clock.pin(new Date(BASE + 60 * 60_000))
})
afterEach(() => t.clock.reset())
afterAll(async () => {
  await t?.close()
})

describe('GET /logs/context', () => {
  let a: { id: string; ingest_token: string }
  let b: { id: string; ingest_token: string }
  let all: Entry[]
  const SERVICES = ['api', 'worker', 'api']

  beforeAll(async () => {
    a = await t.project({ name: 'context A' })
    b = await t.project({ name: 'context B' })
    // Four timestamps, three entries each: ties are broken by id.
    const entries = Array.from({ length: 12 }, (_, i) => ({
      timestamp: at(1 + Math.floor(i / 3)),
      service: SERVICES[i % 3],
      level: i % 4 === 0 ? 'error' : 'info',
      message: `context entry ${i}`,
    }))
    await ingest(a.ingest_token, entries)
    await ingest(b.ingest_token, entries.map((e) => ({ ...e, message: `${e.message} [B]` })))
    all = await allEntries(a.id)
    expect(all).toHaveLength(12)
  })

  const context = async (params: Record<string, string | number>, token = t.teamKey) => {
    const res = await get('context', { project_id: a.id, ...params }, token)
    expect(res.statusCode, res.body).toBe(200)
    return res.json().data as { before: Entry[]; entry: Entry; after: Entry[] }
  }
  const ids = (entries: Entry[]) => entries.map((e) => e.id)

  it('returns the neighbours in (timestamp, id) order, ties broken by id, oldest first', async () => {
    // Index 4: the middle of the second timestamp's three entries.
    const target = all[4]!
    expect(all[3]!.timestamp).toBe(target.timestamp)
    expect(all[5]!.timestamp).toBe(target.timestamp)
    const data = await context({ id: target.id, before: 2, after: 3 })
    expect(data.entry).toEqual(target)
    expect(ids(data.before)).toEqual(ids(all.slice(2, 4)))
    expect(ids(data.after)).toEqual(ids(all.slice(5, 8)))
    // The entry's shape is search's.
    expect(data.before[0]).toEqual(all[2])

    const full = await context({ id: target.id })
    expect(ids(full.before)).toEqual(ids(all.slice(0, 4)))
    expect(ids(full.after)).toEqual(ids(all.slice(5)))
    expect(ids(full.before)).not.toContain(target.id)
    expect(ids(full.after)).not.toContain(target.id)

    const first = await context({ id: all[0]!.id, before: 5, after: 1 })
    expect(first.before).toEqual([])
    expect(ids(first.after)).toEqual([all[1]!.id])
    const none = await context({ id: target.id, before: 0, after: 0 })
    expect(none).toEqual({ before: [], entry: target, after: [] })
  })

  it('narrows the neighbours by the filters, never the entry itself', async () => {
    const target = all[7]!
    expect(target.service).toBe('worker')
    const api = all.filter((e) => e.service === 'api')
    const data = await context({ id: target.id, service: 'api', before: 3, after: 3 })
    expect(data.entry.id).toBe(target.id)
    const i = all.indexOf(target)
    expect(ids(data.before)).toEqual(ids(api.filter((e) => all.indexOf(e) < i).slice(-3)))
    expect(ids(data.after)).toEqual(ids(api.filter((e) => all.indexOf(e) > i).slice(0, 3)))

    const errors = await context({ id: target.id, q: 'level:error' })
    expect(ids(errors.before)).toEqual(ids(all.slice(0, i).filter((e) => e.level === 'error')))
    expect(ids(errors.after)).toEqual(ids(all.slice(i + 1).filter((e) => e.level === 'error')))

    const from = await context({ id: target.id, from: at(2) })
    expect(ids(from.before)).toEqual(ids(all.slice(3, i)))
  })

  it('finds an entry outside the default time range, with its neighbours', async () => {
    t.clock.advance(10 * 86_400_000)
    const target = all[6]!
    const data = await context({ id: target.id, before: 1, after: 1 })
    expect(data.entry.id).toBe(target.id)
    expect(ids(data.before)).toEqual([all[5]!.id])
    expect(ids(data.after)).toEqual([all[7]!.id])
  })

  it('answers 404 for an unknown id and for another project’s entry', async () => {
    const unknown = await get('context', { project_id: a.id, id: 'nope0000000000000000000' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error.code).toBe('not_found')
    const other = (await allEntries(b.id))[4]!
    expect(other.message).toContain('[B]')
    const cross = await get('context', { project_id: a.id, id: other.id })
    expect(cross.statusCode).toBe(404)
    expect(cross.json().error.code).toBe('not_found')
    // In its own project the same id is found, and its neighbours are that project's.
    const own = await get('context', { project_id: b.id, id: other.id })
    expect(own.statusCode).toBe(200)
    for (const e of [...own.json().data.before, ...own.json().data.after]) expect(e.message).toContain('[B]')
  })

  it('refuses bad input naming the field', async () => {
    const id = all[0]!.id
    await expectBad('context', { project_id: a.id }, 'id')
    await expectBad('context', { project_id: a.id, id, before: 501 }, 'before')
    await expectBad('context', { project_id: a.id, id, after: -1 }, 'after')
    await expectBad('context', { project_id: a.id, id, before: 'many' }, 'before')
    await expectBad('context', { project_id: a.id, id, after: 1.5 }, 'after')
    await expectBad('context', { project_id: a.id, id, q: '(unclosed' }, 'q')
    await expectBad('context', { project_id: a.id, id, level: 'loud' }, 'level')
    await expectBad('context', { project_id: a.id, id, from: at(5), to: at(1) }, 'from')
    await expectBad('context', { project_id: a.id, id, colour: 'red' }, 'colour')
    await expectBad('context', { project_id: 'nope', id }, 'project_id')
    expect((await context({ id, before: 500, after: 0 })).before).toEqual([])
  })

  it('checks the key’s projects before anything else', async () => {
    const limited = t.keyWith(['logs:read'], { projectIds: [b.id] })
    const res = await get('context', { project_id: a.id, id: all[0]!.id }, limited)
    expect(res.statusCode).toBe(403)
    expect((await get('context', { project_id: a.id, id: all[0]!.id }, t.keyWith(['logs:write']))).statusCode).toBe(403)
  })
})

/** A deterministic generator (an LCG), so the test knows every value it ingested. */
const generate = (n: number, seed: number) => {
  let s = seed
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s
  }
  const LEVELS = ['debug', 'info', 'info', 'warn', 'error', 'fatal']
  const SERVICES = ['api', 'worker', 'billing', 'auth', 'web', 'cron', 'mail']
  return Array.from({ length: n }, (_, i) => {
    const metadata: Record<string, unknown> = {}
    const r = next()
    if (r % 5 !== 0) metadata.http = { status: [200, 200, 201, 404, 500, 503][r % 6] }
    if (r % 3 === 0) metadata.region = ['eu', 'us', 'ap'][Math.floor(r / 7) % 3]
    // An empty string is a value like any other (unlike an absent path).
    else if (r % 11 === 0) metadata.region = ''
    return {
      timestamp: at(5, i % 3000),
      level: LEVELS[next() % LEVELS.length]!,
      service: SERVICES[next() % SERVICES.length]!,
      stream: next() % 4 === 0 ? 'access' : 'app',
      message: `generated ${i}`,
      metadata,
    }
  })
}
type Generated = ReturnType<typeof generate>[number]

/** The top values computed here, ordered as the API promises: count descending, then value. */
const topValues = (entries: Generated[], value: (e: Generated) => string | undefined, limit: number) => {
  const counts = new Map<string, number>()
  for (const e of entries) {
    const v = value(e)
    if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1)
  }
  return [...counts]
    .map(([v, count]) => ({ value: v, count }))
    .sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0))
    .slice(0, limit)
}
const status = (e: Generated) => {
  const http = e.metadata.http as { status: number } | undefined
  return http === undefined ? undefined : String(http.status)
}

describe('GET /logs/facets', () => {
  let p: { id: string; ingest_token: string }
  const data = generate(600, 7)

  beforeAll(async () => {
    p = await t.project({ name: 'facets' })
    const other = await t.project({ name: 'facets other' })
    await ingest(p.ingest_token, data)
    // Another project with the same values, and more of one: never counted for p.
    await ingest(other.ingest_token, [...generate(600, 7), ...generate(300, 99).map((e) => ({ ...e, service: 'api', metadata: { http: { status: 500 } } }))])
  })

  const facets = async (params: Record<string, string | number>) => {
    const res = await get('facets', { project_id: p.id, ...params })
    expect(res.statusCode, res.body).toBe(200)
    return res.json().data as { total: number; fields: Record<string, { value: string; count: number }[]> }
  }

  it('counts the top values of level, service and stream by default', async () => {
    const result = await facets({})
    expect(result.total).toBe(600)
    expect(Object.keys(result.fields)).toEqual(['level', 'service', 'stream'])
    expect(result.fields.level).toEqual(topValues(data, (e) => e.level, 10))
    expect(result.fields.service).toEqual(topValues(data, (e) => e.service, 10))
    expect(result.fields.stream).toEqual(topValues(data, (e) => e.stream, 10))
  })

  it('counts metadata paths as strings, skipping entries without them, and honours limit', async () => {
    const result = await facets({ fields: 'metadata.http.status,metadata.region,service', limit: 3 })
    expect(result.total).toBe(600)
    expect(result.fields['metadata.http.status']).toEqual(topValues(data, status, 3))
    expect(result.fields['metadata.region']).toEqual(topValues(data, (e) => e.metadata.region as string | undefined, 3))
    expect(result.fields.service).toEqual(topValues(data, (e) => e.service, 3))
    const all = await facets({ fields: 'metadata.http.status', limit: 100 })
    const counted = all.fields['metadata.http.status']!.reduce((n, v) => n + v.count, 0)
    expect(counted).toBe(data.filter((e) => status(e) !== undefined).length)
    expect(counted).toBeLessThan(600)
    const regions = await facets({ fields: 'metadata.region', limit: 100 })
    expect(regions.fields['metadata.region']).toEqual(topValues(data, (e) => e.metadata.region as string | undefined, 100))
    expect(regions.fields['metadata.region']!.map((v) => v.value)).toContain('')
    expect((await facets({ fields: 'metadata.absent.path' })).fields).toEqual({ 'metadata.absent.path': [] })
  })

  it('counts under the filters', async () => {
    const matching = data.filter((e) => e.service === 'api' && e.level === 'error')
    const result = await facets({ service: 'api', q: 'level:error', fields: 'level,stream,metadata.http.status' })
    expect(result.total).toBe(matching.length)
    expect(result.fields.level).toEqual([{ value: 'error', count: matching.length }])
    expect(result.fields.stream).toEqual(topValues(matching, (e) => e.stream, 10))
    expect(result.fields['metadata.http.status']).toEqual(topValues(matching, status, 10))
    const five = data.filter((e) => status(e) === '500')
    const byStatus = await facets({ q: 'metadata.http.status:500', fields: 'service', limit: 100 })
    expect(byStatus.total).toBe(five.length)
    expect(byStatus.fields.service).toEqual(topValues(five, (e) => e.service, 100))
    const empty = await facets({ q: 'nosuchword' })
    expect(empty).toEqual({ total: 0, fields: { level: [], service: [], stream: [] } })
  })

  it('counts a metadata value by its text, whatever JSON type it came as', async () => {
    const mixed = await t.project({ name: 'facets mixed types' })
    await ingest(mixed.ingest_token, [
      { message: 'a', metadata: { code: 200 } },
      { message: 'b', metadata: { code: '200' } },
      { message: 'c', metadata: { code: 200 } },
      { message: 'd', metadata: { code: true } },
      { message: 'e', metadata: { other: 1 } },
    ])
    // Stored at the test clock's now: `to` is exclusive, so the range ends a minute later.
    const to = new Date(t.clock.now().getTime() + 60_000).toISOString()
    const res = await get('facets', { project_id: mixed.id, fields: 'metadata.code', to })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data).toEqual({ total: 5, fields: { 'metadata.code': [{ value: '200', count: 3 }, { value: 'true', count: 1 }] } })
  })

  it('counts the same from the per-minute projection once it is built, with and without column filters', async () => {
    const api = data.filter((e) => e.service === 'api')
    const before = [await facets({}), await facets({ service: 'api', fields: 'level,stream,metadata.http.status' })]
    // Live parts get p_volume when they merge; build it now, as the merges would.
    await t.engine.client.command({ query: 'ALTER TABLE krafter.log_entries MATERIALIZE PROJECTION p_volume', clickhouse_settings: { mutations_sync: '1' } })
    const after = [await facets({}), await facets({ service: 'api', fields: 'level,stream,metadata.http.status' })]
    expect(after).toEqual(before)
    expect(after[0]!.fields.level).toEqual(topValues(data, (e) => e.level, 10))
    expect(after[1]!.total).toBe(api.length)
    expect(after[1]!.fields.level).toEqual(topValues(api, (e) => e.level, 10))
    expect(after[1]!.fields['metadata.http.status']).toEqual(topValues(api, status, 10))
  })

  it('refuses bad fields, metadata paths and limits naming the field', async () => {
    const base = { project_id: p.id }
    await expectBad('facets', { ...base, fields: 'level,colour' }, 'fields')
    await expectBad('facets', { ...base, fields: 'message' }, 'fields')
    await expectBad('facets', { ...base, fields: '' }, 'fields')
    await expectBad('facets', { ...base, fields: 'level,,service' }, 'fields')
    await expectBad('facets', { ...base, fields: 'metadata.' }, 'fields')
    await expectBad('facets', { ...base, fields: "metadata.a') OR 1=1 --" }, 'fields')
    await expectBad('facets', { ...base, fields: 'metadata.x`; DROP TABLE log_entries' }, 'fields')
    await expectBad('facets', { ...base, fields: 'metadata.a..b' }, 'fields')
    await expectBad('facets', { ...base, fields: Array.from({ length: 11 }, (_, i) => `metadata.f${i}`).join(',') }, 'fields')
    await expectBad('facets', { ...base, limit: 0 }, 'limit')
    await expectBad('facets', { ...base, limit: 101 }, 'limit')
    await expectBad('facets', { ...base, q: 'user:42' }, 'q')
    // Ten distinct fields are allowed; a repeated one counts once.
    const ten = await facets({ fields: ['level', 'level', ...Array.from({ length: 9 }, (_, i) => `metadata.f${i}`)].join(',') })
    expect(Object.keys(ten.fields)).toHaveLength(10)
  })
})

describe('GET /logs/patterns', () => {
  let p: { id: string; ingest_token: string }
  const A = [
    { timestamp: at(10), message: 'GET /api/orders/17 took 245ms' },
    { timestamp: at(12), message: 'GET /api/orders/9001 took 1.5s' },
    { timestamp: at(20), message: 'GET /api/orders/3 took 30ms' },
    { timestamp: at(41), message: 'GET /api/orders/42 took 2m' },
    { timestamp: at(45), message: 'GET /api/orders/8 took 12us' },
  ]
  const B = [
    { timestamp: at(11), message: 'user 3fa85f64-5717-4562-b3fc-2c963f66afa6 logged in from 10.0.0.12' },
    { timestamp: at(13), message: 'user 9b2e1c4d-0000-4a1b-8c2d-000011112222 logged in from 192.168.1.254' },
    { timestamp: at(14), message: 'user 00000000-aaaa-4bbb-8ccc-dddddddddddd logged in from 2001:db8::ff00:42:8329' },
  ]
  const C = [
    { timestamp: at(15), message: 'cache key deadbeef01 evicted after 2s' },
    { timestamp: at(16), message: 'cache key 0A1B2C3D4E5F evicted after 120ms' },
    { timestamp: at(17), message: 'cache key 5e3f9c2a77 evicted after 7h' },
    { timestamp: at(18), message: 'cache key 0x7f3a9b2c1d evicted after 0.25s' },
  ]
  const D = [
    { timestamp: at(21), message: `job 'nightly-42' failed: "disk full"` },
    { timestamp: at(22), message: `job 'hourly' failed: "quota exceeded at 99%"` },
  ]
  const E = [
    { timestamp: at(23), message: 'connection from fe80::1ff:fe23:4567:890a closed' },
    { timestamp: at(24), message: 'connection from 10.1.2.3 closed' },
  ]

  beforeAll(async () => {
    p = await t.project({ name: 'patterns' })
    const other = await t.project({ name: 'patterns other' })
    await ingest(p.ingest_token, [...A, ...B, ...C, ...D, ...E].map((e, i) => ({ ...e, level: i % 2 ? 'info' : 'warn' })))
    await ingest(other.ingest_token, Array.from({ length: 20 }, (_, i) => ({ timestamp: at(30), message: `GET /api/orders/${i} took ${i}ms` })))
  })

  type Pattern = { pattern: string; count: number; first_seen: string; last_seen: string; sample: Entry; buckets: { time: string; count: number }[] }
  const patterns = async (params: Record<string, string | number>) => {
    const res = await get('patterns', { project_id: p.id, ...params })
    expect(res.statusCode, res.body).toBe(200)
    return res.json().data as Pattern[]
  }
  const micros = (iso: string) => iso.replace(/\.000Z$/, '.000000Z')

  it('groups messages differing only in numbers, ids, IPs, durations and quoted strings', async () => {
    const result = await patterns({})
    expect(result.map((x) => [x.pattern, x.count])).toEqual([
      ['GET /api/orders/<num> took <duration>', 5],
      ['cache key <hex> evicted after <duration>', 4],
      ['user <uuid> logged in from <ip>', 3],
      ['connection from <ip> closed', 2],
      ['job <str> failed: <str>', 2],
    ])
    for (const [pattern, group] of [[result[0]!, A], [result[1]!, C], [result[2]!, B], [result[3]!, E], [result[4]!, D]] as const) {
      expect(pattern.first_seen).toBe(micros(group[0]!.timestamp))
      expect(pattern.last_seen).toBe(micros(group[group.length - 1]!.timestamp))
      // The sample is the pattern's newest entry, in search's entry shape.
      expect(pattern.sample).toMatchObject({ message: group[group.length - 1]!.message, timestamp: pattern.last_seen })
      expect(pattern.sample.id).toMatch(/^[0-9a-z]{22}$/)
      // Buckets cover the range (24 h by default: 30-minute buckets) and hold every entry.
      expect(pattern.buckets.length).toBeGreaterThanOrEqual(30)
      expect(pattern.buckets.length).toBeLessThanOrEqual(60)
      expect(pattern.buckets.reduce((n, x) => n + x.count, 0)).toBe(pattern.count)
      const expected = new Map<string, number>()
      for (const e of group) {
        const bucket = new Date(Math.floor(Date.parse(e.timestamp) / 1_800_000) * 1_800_000).toISOString()
        expected.set(bucket, (expected.get(bucket) ?? 0) + 1)
      }
      expect(new Map(pattern.buckets.filter((x) => x.count > 0).map((x) => [x.time, x.count]))).toEqual(expected)
    }
    // A shorter range has finer buckets: one hour → 60 one-minute buckets.
    const hour = await patterns({ from: at(0), to: at(60), limit: 1 })
    expect(hour).toHaveLength(1)
    expect(hour[0]!.buckets).toHaveLength(60)
    expect(hour[0]!.buckets.filter((x) => x.count > 0).map((x) => x.time)).toEqual(A.map((e) => e.timestamp))
  })

  it('honours limit and the filters', async () => {
    expect((await patterns({ limit: 2 })).map((x) => x.pattern)).toEqual(['GET /api/orders/<num> took <duration>', 'cache key <hex> evicted after <duration>'])
    const took = await patterns({ q: 'took' })
    expect(took.map((x) => [x.pattern, x.count])).toEqual([['GET /api/orders/<num> took <duration>', 5]])
    const ranged = await patterns({ from: at(12), to: at(21) })
    expect(ranged.find((x) => x.pattern.startsWith('GET'))!.count).toBe(2)
    expect(ranged.find((x) => x.pattern.startsWith('job'))).toBeUndefined()
    const warn = await patterns({ level: 'warn' })
    expect(warn.reduce((n, x) => n + x.count, 0)).toBe(8)
    expect(await patterns({ q: 'nosuchword' })).toEqual([])
  })

  it('refuses bad input naming the field', async () => {
    await expectBad('patterns', { project_id: p.id, limit: 0 }, 'limit')
    await expectBad('patterns', { project_id: p.id, limit: 201 }, 'limit')
    await expectBad('patterns', { project_id: p.id, q: '"unclosed' }, 'q')
    await expectBad('patterns', { project_id: p.id, from: 'yesterday' }, 'from')
    await expectBad('patterns', { project_id: p.id, fields: 'level' }, 'fields')
  })
})
