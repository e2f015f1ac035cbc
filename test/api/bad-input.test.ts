import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let project: { id: string; ingest_token: string }

beforeAll(async () => {
  t = await createTestApp()
  project = await t.project({ name: 'Bad input' })
})
afterAll(async () => {
  await t?.close()
})

const get = (url: string) => t.app.inject({ url, headers: bearer(t.teamKey) })
const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')

/** A 400 validation_error envelope whose details name `field`, with the request id header. */
const expectFieldError = (res: LightMyRequestResponse, field: string, status = 400) => {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json()
  expect(body.error.code).toBe('validation_error')
  expect(body.error.details.map((d: { field: string }) => d.field)).toContain(field)
  expect(body.request_id).toBe(res.headers['x-request-id'])
  return body
}

describe('from and to outside 1970-2200', () => {
  const outOfRange = [
    ['to', '9999999999999999'],
    ['to', '2256-01-01T00:00:00Z'],
    ['to', '2299-12-31T00:00:00Z'],
    ['to', '2200-01-01T00:00:00.000001Z'],
    ['from', '9999999999999999'],
    ['from', '1969-12-31T23:59:59Z'],
    ['from', '1900-01-01T00:00:00Z'],
  ] as const

  for (const route of ['search', 'stats', 'export']) {
    it(`GET /logs/${route} refuses them with 400 naming the field`, async () => {
      for (const [field, value] of outOfRange) {
        const body = expectFieldError(await get(`/api/v1/logs/${route}?project_id=${project.id}&${field}=${value}`), field)
        expect(body.error.message).toContain('1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z')
      }
    })
  }

  it('POST /logs/search refuses huge, negative and fractional-overflow numbers in the body', async () => {
    for (const [field, value] of [['to', 1e30], ['from', -1], ['to', 2 ** 63], ['from', Number.MAX_VALUE]] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/logs/search',
        headers: bearer(t.teamKey),
        payload: { project_id: project.id, [field]: value },
      })
      expectFieldError(res, field)
    }
  })

  it('accepts both ends of the range and fractional epoch milliseconds', async () => {
    const edges = [`from=0&to=${Date.UTC(2200, 0, 1)}`, 'from=1970-01-01T00:00:00Z&to=2200-01-01T00:00:00Z', 'from=1.5&to=2.25']
    for (const route of ['search', 'stats', 'export']) {
      for (const range of edges) {
        const res = await get(`/api/v1/logs/${route}?project_id=${project.id}&${range}`)
        expect(res.statusCode, `${route} ${range}: ${res.body}`).toBe(200)
      }
    }
    // Epoch milliseconds with a fraction are still milliseconds (not seconds), kept to the µs.
    const stats = (await get(`/api/v1/logs/stats?project_id=${project.id}&from=1.5&to=2.25`)).json().data
    expect([stats.from, stats.to]).toEqual(['1970-01-01T00:00:00.001500Z', '1970-01-01T00:00:00.002250Z'])
    const post = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/search',
      headers: bearer(t.teamKey),
      payload: { project_id: project.id, from: 1.0004, to: 1_000.5 },
    })
    expect(post.statusCode, post.body).toBe(200)
  })
})

describe('forged cursors', () => {
  it('GET /logs/search refuses every key that it did not encode with 400 cursor', async () => {
    const forged = [
      cursorOf({ t: 'abc', i: 'x' }),
      cursorOf({ t: 1.5, i: 'x' }),
      cursorOf({ t: 1e30, i: 'x' }),
      cursorOf({ t: 2 ** 63, i: 'x' }),
      cursorOf({ t: -1, i: 'x' }),
      cursorOf({ t: 5, i: 7 }),
      cursorOf({ t: 5 }),
      cursorOf({ t: 5, i: 'x', extra: 1 }),
      cursorOf({ t: 5, i: 'x'.repeat(65) }),
      cursorOf([5, 'x']),
      cursorOf(null),
      cursorOf('t'),
      '!!!not-base64!!!',
      Buffer.from('{"t":5,', 'utf8').toString('base64url'),
    ]
    for (const cursor of forged) {
      expectFieldError(await get(`/api/v1/logs/search?project_id=${project.id}&cursor=${encodeURIComponent(cursor)}`), 'cursor')
    }
  })

  it('the cursors of the management lists are checked the same way', async () => {
    const lists = ['/api/v1/logs/projects', '/api/v1/keys', '/api/v1/logs/alerts', '/api/v1/audit-logs']
    for (const url of lists) {
      for (const key of [{ at: 5, r: 'x' }, { at: 'x', id: 1 }, { created_at: ['x'], id: 'y' }, { at: 'x', r: 1.5 }, {}]) {
        expectFieldError(await get(`${url}?cursor=${cursorOf(key)}`), 'cursor')
      }
    }
  })

  it('a cursor the search returned still pages', async () => {
    const now = t.clock.now().getTime()
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest/batch',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/x-ndjson' },
      payload: [1, 2, 3].map((n) => JSON.stringify({ message: `paged ${n}`, timestamp: new Date(now - n * 1000).toISOString() })).join('\n'),
    })
    expect(res.statusCode, res.body).toBe(202)
    const first = (await get(`/api/v1/logs/search?project_id=${project.id}&q=paged&limit=2`)).json()
    expect(first.data).toHaveLength(2)
    const second = await get(`/api/v1/logs/search?project_id=${project.id}&q=paged&limit=2&cursor=${first.cursor}`)
    expect(second.statusCode, second.body).toBe(200)
    expect(second.json().data.map((e: { message: string }) => e.message)).toEqual(['paged 3'])
  })
})

describe('stats interval', () => {
  it('refuses absurd intervals with 400 interval', async () => {
    for (const interval of ['99999999999999999999d', '9999999999999s', '366d', '8785h', '0', '0s', '-1d', '1.5h', '1w', 'Infinity', 'NaN', '1e9']) {
      expectFieldError(await get(`/api/v1/logs/stats?project_id=${project.id}&interval=${interval}`), 'interval')
    }
  })

  it('takes intervals up to a year', async () => {
    const res = await get(`/api/v1/logs/stats?project_id=${project.id}&interval=365d&from=0`)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.interval_seconds).toBe(365 * 86400)
  })
})

describe('q comparisons with numbers beyond 2^53', () => {
  it('compare as numbers instead of failing with 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/json' },
      // 1e21 is sent as 1e+21, a float for the engine (integers beyond 64 bits are ingest's matter).
      payload: { message: 'big numbers', timestamp: new Date(t.clock.now().getTime() - 1000).toISOString(), metadata: { size: 1e21 } },
    })
    expect(res.statusCode, res.body).toBe(202)
    const found = async (q: string) => {
      const search = await get(`/api/v1/logs/search?project_id=${project.id}&q=${encodeURIComponent(`big ${q}`)}`)
      expect(search.statusCode, search.body).toBe(200)
      return search.json().data.length
    }
    expect(await found('metadata.size:>=99999999999999999999')).toBe(1)
    expect(await found('metadata.size:<99999999999999999999')).toBe(0)
    expect(await found('metadata.size:>1e300')).toBe(0)
  })
})

describe('GET /audit-logs time filters', () => {
  it('refuses from/to outside 1970-2200 with 400 naming the field', async () => {
    for (const [field, value] of [['from', '9999999999999999'], ['to', '9999999999999999'], ['to', '2300-01-01T00:00:00Z'], ['from', '1969-01-01T00:00:00Z'], ['from', 'yesterday']] as const) {
      expectFieldError(await get(`/api/v1/audit-logs?${field}=${value}`), field)
    }
  })

  it('filters by an in-range window', async () => {
    const now = t.clock.now().getTime()
    const res = await get(`/api/v1/audit-logs?action=project.create&from=${now - 60_000}&to=${now + 60_000}`)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.length).toBeGreaterThan(0)
  })
})

describe('URLs Fastify refuses before routing', () => {
  it('bad percent-encoding is a 400 envelope naming the path', async () => {
    for (const url of ['/api/v1/logs/projects/%ZZ', '/api/v1/logs/alerts/%E0%A4%A', '/api/v1/keys/%']) {
      const body = expectFieldError(await get(url), 'path')
      expect(body.error.message).not.toContain('%')
    }
  })

  it('a path parameter over 100 characters is a 400 envelope, like any malformed id', async () => {
    for (const url of [`/api/v1/logs/projects/${'a'.repeat(101)}`, `/api/v1/logs/alerts/${'x'.repeat(5000)}/events`]) {
      expectFieldError(await get(url), 'path')
    }
  })

  it('keeps a well-formed incoming X-Request-Id on those answers', async () => {
    const res = await t.app.inject({ url: '/api/v1/logs/projects/%ZZ', headers: { ...bearer(t.teamKey), 'x-request-id': 'trace-me.1' } })
    expect(res.headers['x-request-id']).toBe('trace-me.1')
    expect(res.json().request_id).toBe('trace-me.1')
  })
})

describe('a full metadata disk', () => {
  it('management writes answer 503 with a clear message while SQLite is full, and work again after', async () => {
    const maxPages = t.meta.pragma('max_page_count', { simple: true }) as number
    // SQLite refuses to grow past max_page_count with SQLITE_FULL, as on a full disk.
    t.meta.pragma(`max_page_count = ${t.meta.pragma('page_count', { simple: true }) as number}`)
    const answers: LightMyRequestResponse[] = []
    try {
      for (let i = 0; i < 500; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/logs/projects',
          headers: bearer(t.teamKey),
          payload: { name: `full-disk-${i}-${'n'.repeat(80)}` },
        })
        answers.push(res)
        if (res.statusCode !== 201) break
      }
      const last = answers[answers.length - 1]!
      expect(last.statusCode, last.body).toBe(503)
      const body = last.json()
      expect(body.error).toEqual({ code: 'engine_unavailable', message: expect.stringContaining('disk of the data directory is full') })
      expect(body.request_id).toBe(last.headers['x-request-id'])
      expect(last.headers['retry-after']).toBe('60')
      expect(last.body).not.toMatch(/SQLITE|INSERT|projects/)
      // Reads keep working on a full disk.
      expect((await get('/api/v1/logs/projects')).statusCode).toBe(200)
    } finally {
      t.meta.pragma(`max_page_count = ${maxPages}`)
    }
    const after = await t.app.inject({ method: 'POST', url: '/api/v1/logs/projects', headers: bearer(t.teamKey), payload: { name: 'after the disk was freed' } })
    expect(after.statusCode, after.body).toBe(201)
  })
})
