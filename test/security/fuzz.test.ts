import { CONSOLE_PAGES } from '../../src/api/routes/console.js'
import { gzipSync } from 'node:zlib'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { injectAny, type Injected } from '../helpers/inject.js'
import { createApiKey } from '../../src/meta/keys.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

/**
 * A corpus of bad requests over every route of the app, the same on every run (seeded), sent
 * through the real app: none may get a 5xx, every error must be the envelope of API.md with
 * the X-Request-Id header as its request_id, and no answer may show a stack, our SQL or a token.
 */

/** The error codes of API.md's table, with their statuses. */
const API_CODES: Record<string, number> = {
  validation_error: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  gone: 410,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  daily_limit_exceeded: 429,
  engine_unavailable: 503,
  internal_error: 500,
}

/** mulberry32: a tiny seeded PRNG, so the corpus is the same on every run. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296
}
const random = seeded(0x6b72616674)
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
const randomText = (length: number): string =>
  Array.from({ length }, () => String.fromCodePoint(pick([0x00, 0x01, 0x1f, 0x7f, 0x20 + Math.floor(random() * 95), 0xa0 + Math.floor(random() * 0x2000), 0x1f4a5, 0xfeff, 0x202e]))).join('')
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url')

// ---- value families ------------------------------------------------------------------------

const HUGE = ['9999999999999999', '99999999999999999999', '18446744073709551616', '9223372036854775808', '-9223372036854775809', '1e308', '1e309', '-1e309']
const ODD_NUMBERS = ['-1', '0', '1.5', '-0', '0x10', '1e3', '1_000', ' 1', '+1', 'NaN', 'Infinity', '-Infinity', '', ' ']
const SQLISH = ["' OR 1=1 --", "'; DROP TABLE projects; --", '" OR ""="', '1; SELECT * FROM system.tables', "x' UNION SELECT token_hash FROM api_keys --", '{p0:String}', "\\'", '%27%20OR%201%3D1', '$(id)', '`id`', '../../etc/passwd', '<script>alert(1)</script>', '{{7*7}}', '${7*7}']
const UNICODE = ['\u0000', '\u0001\u0002\u0003', '\u202eevil', '\ud800', '\udfff\ud800', '💥'.repeat(60), 'é'.repeat(300), '\ufeff{}', 'a\r\nX-Injected: 1', '\t\n\v\f\r']
const LONG = ['x'.repeat(257), 'y'.repeat(5000), '9'.repeat(1000)]
const GARBAGE = [...HUGE, ...ODD_NUMBERS, ...SQLISH, ...UNICODE, ...LONG, 'null', 'undefined', 'true', '[]', '{}', 'a,b,c']
const TIMES = ['9999999999999999', '99999999999999999999', '2256-01-01T00:00:00Z', '2299-12-31T23:59:59.999999Z', '2300-01-01T00:00:00Z', '1899-12-31T23:59:59Z', '1969-12-31T23:59:59Z', '0000-01-01T00:00:00Z', '2026-02-31T00:00:00Z', '2026-13-01', '2026-01-01T25:00:00Z', '2026-01-01T00:00:00+99:99', 'now', 'yesterday', '1e20', '-1', '1.5e15', '2026-01-01T00:00:00.1234567890123Z']
const LIMITS = ['0', '-1', '1001', '10001', '1e3', '1.5', 'abc', '', '99999999999999999999', 'Infinity', 'NaN', '0x10', '-0', '1 ', '2147483648']
const BAD_UUIDS = ['', 'x', 'not-a-uuid', '00000000-0000-0000-0000-00000000000', '00000000-0000-0000-0000-0000000000000', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '{00000000-0000-0000-0000-000000000000}', ...SQLISH.slice(0, 4), 'x'.repeat(500)]
const INTERVALS = ['99999999999999999999d', '9999999999999s', '366d', '0', '0s', '-1d', '1.5h', '1w', 'Infinity', 'NaN', '1e9', 'auto ', 'AUTO', 'd', '5mm', '1d1h']
const Q_GARBAGE = ['(', ')', '((((a', 'a OR', 'NOT', '-', '"unclosed', 'field:', 'level:', 'level:nope', 'metadata.:x', 'metadata.a..b:1', 'metadata.x:>=1e400', 'metadata.x:>=99999999999999999999', 'metadata.x:>-1', 'metadata.x:<NaN', '*', 'a*b*', ':::', 'AND AND', 'OR OR OR', '('.repeat(600), 'a '.repeat(2000), `metadata.${'a.'.repeat(200)}b:1`, `service:${'x'.repeat(300)}`, 'trace_id:*', '\u0000:\u0000', 'metadata.__proto__:1', 'metadata.constructor.prototype:1', 'message:"', 'NOT NOT NOT', '-(-(-a))', 'x'.repeat(5000)]
const CURSORS = [
  b64({ t: 'abc', i: 'x' }), b64({ t: 1.5, i: 'x' }), b64({ t: 1e30, i: 'x' }), b64({ t: 2 ** 63, i: 'x' }), b64({ t: -(2 ** 63), i: "x" }),
  b64({ t: 5, i: 7 }), b64({ t: 5 }), b64({ at: 5, r: 'x' }), b64({ at: 'x', r: 1e30 }), b64({ created_at: 1, id: {} }), b64({ at: 'x', id: ['y'] }),
  b64([1, 2]), b64(null), b64('x'), b64('{"t":5,'), b64({ t: 5, i: 'x', extra: 1 }), b64('{"__proto__":{"t":1,"i":"x"}}'), '!!!', '====', 'x'.repeat(600), '%00',
]
/** Path parameter values, raw in the URL (some not valid percent-encoding on purpose). */
const BAD_PARAMS = ['x', 'not-a-uuid', '%ZZ', '%', '%E0%A4%A', '%00', '..', '%2e%2e', '00000000-0000-0000-0000-00000000000g', encodeURIComponent("' OR 1=1 --"), encodeURIComponent('💥'), 'a'.repeat(101), 'b'.repeat(3000), '%20', '-1', '99999999999999999999']
/** JSON values of the wrong type or out of range for any field. */
const JSON_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, '', ' ', 'x'.repeat(300), 'x'.repeat(70_000), [], [null], {}, { a: 1 }, [[[[[[[[]]]]]]]], '\u0000', '💥', ...SQLISH.slice(0, 3)]
/** Raw JSON number texts no JS number holds exactly. */
const RAW_NUMBERS = ['18446744073709551616', '-9223372036854775809', '1e400', '-1e400', '0.0000000000000000000000001', '123456789012345678901234567890', 'NaN', 'Infinity', '-Infinity', '0x10', '01']
const BAD_BODIES = ['{', '{"a":', 'nul', '{"a":1}}', "{'a':1}", '[1,]', '{"a":1,}', '\u0000', '\ufeff{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '['.repeat(20_000), '{"a":'.repeat(5000), '"just a string"', '12', 'true', 'null', '[]', '[{}]']
/** Over every body limit (10 MiB by default); one buffer for every route. */
const OVERSIZED = Buffer.alloc(11 * 1024 * 1024, 0x20)
const CONTENT_TYPES = ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/jsonx', 'application/json; charset=latin1', '', 'x/y; z', '*/*']

// ---- the corpus ----------------------------------------------------------------------------

interface Fuzz extends InjectOptions {
  method: NonNullable<InjectOptions['method']>
  url: string
  label: string
}

interface RouteSpec {
  /** Valid values of the path parameters: ids of resources that do not exist. */
  params?: Record<string, string>
  /** A query the route accepts, and the values to try in each of its fields. */
  query?: { base: Record<string, string>; fields: Record<string, readonly string[]> }
  /** A body the route accepts (or whose refusal is not about the fuzzed field). */
  body?: { base: Record<string, unknown>; fields: Record<string, readonly unknown[]> }
  /** The route takes input it ignores (a health check): a 2xx answer is fine there. */
  ignoresInput?: boolean
  /** A protocol's own body format around the fuzzed object (default: JSON; NDJSON for /batch). */
  encode?: (body: unknown) => string
  contentType?: string
  /**
   * The route answers in its protocol's own shape (no request_id in the body); the function
   * says whether a success answer reports the records as refused (OTLP partial success,
   * Elasticsearch item errors), which counts as a refusal.
   */
  protocolAnswer?: (res: Injected) => boolean
}

const NOWHERE = '00000000-0000-4000-8000-000000000000'

describe('fuzz corpus over every route', () => {
  let t: TestApp
  let project: { id: string; ingest_token: string }
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    // The anonymous streams' per-address budget would turn most of their corpus into 429s.
    t = await createTestApp({ config: { anonymous_streams: { burst: 100_000 } } })
    project = await t.project({ name: 'Fuzz target' })
    const other = await t.project({ name: 'Fuzz other' })
    const now = t.clock.now()
    tokens.team = t.teamKey
    tokens.ingest = project.ingest_token
    tokens.reader = t.keyWith(['logs:read'])
    tokens.otherProject = t.keyWith(['logs:read', 'logs:write', 'admin'], { projectIds: [other.id] })
    tokens.expired = createApiKey(t.meta, { teamId: t.teamId, name: 'expired', scopes: ['logs:read'], expiresAt: new Date(now.getTime() - 1000).toISOString() }, now).token
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest/batch',
      headers: { ...bearer(project.ingest_token), 'content-type': 'application/x-ndjson' },
      // A second back, so searches over the default range (up to now) read them.
      payload: [1, 2, 3].map((n) => JSON.stringify({ message: `fuzz seed ${n}`, level: 'error', timestamp: new Date(now.getTime() - n * 1000).toISOString(), metadata: { n } })).join('\n'),
    })
    expect(res.statusCode, res.body).toBe(202)
  })
  afterAll(async () => {
    await t?.close()
  })

  const searchFields = () => ({
    q: Q_GARBAGE,
    from: TIMES,
    to: TIMES,
    level: ['nope', 'info,nope', ',', ' , ', 'INFO,', '💥', 'x'.repeat(300), ...SQLISH.slice(0, 3)],
    service: LONG,
    stream: LONG,
    trace_id: LONG,
    span_id: LONG,
    project_id: BAD_UUIDS,
  })
  const specs = (): Record<string, RouteSpec> => {
    const filters = { base: { project_id: project.id }, fields: searchFields() }
    const page = { base: {}, fields: { limit: LIMITS, cursor: CURSORS } }
    const rule = {
      project_id: NOWHERE,
      name: 'fuzz rule',
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    }
    const ruleFields = {
      project_id: [...JSON_VALUES, ...BAD_UUIDS],
      name: JSON_VALUES,
      query: [...JSON_VALUES, ...Q_GARBAGE],
      condition: [...JSON_VALUES, { type: 'count' }, { type: 'count', threshold: -1, window_minutes: 5 }, { type: 'rate', threshold_percent: 1e308, window_minutes: 5 }, { type: 'count', threshold: 2 ** 63, window_minutes: 1e30 }, { type: 'nope' }],
      channels: [...JSON_VALUES, [{ type: 'email', to: ['not an address'] }], [{ type: 'webhook', url: 'file:///etc/passwd' }], [{ type: 'webhook', url: 'x'.repeat(3000) }], Array(11).fill({ type: 'email', to: ['a@example.com'] }), [{ type: 'sms' }]],
      cooldown_minutes: JSON_VALUES,
      enabled: JSON_VALUES,
    }
    const redactionFields = {
      project_id: [...JSON_VALUES.filter((v) => v !== null), ...BAD_UUIDS],
      name: JSON_VALUES,
      // Patterns the linear engine cannot run (backreferences, lookaround), broken ones, the classic catastrophic one.
      pattern: [...JSON_VALUES, '(a', '\\1(x)', '(?=x)', '(?<!x)y', '(a+)+$', '[z-a]', 'x'.repeat(1001), '*'],
      field_names: [...JSON_VALUES, [''], [1], ['x'.repeat(201)], Array(101).fill('x')],
      behavior: [...JSON_VALUES, 'MASK', 'delete'],
      applies_to: [...JSON_VALUES, 'both'],
      enabled: JSON_VALUES.filter((v) => typeof v !== 'boolean'),
    }
    const entry = { message: 'fuzz', level: 'info' }
    const entryFields = {
      message: JSON_VALUES,
      level: [...JSON_VALUES, 'nope', 99, -1, 1e30],
      timestamp: [...JSON_VALUES, ...TIMES],
      service: JSON_VALUES,
      stream: JSON_VALUES,
      trace_id: JSON_VALUES,
      span_id: JSON_VALUES,
      // -(2 ** 63) is written as -9223372036854776000, below Int64: the poison of issue 11
      // point 2, which must be refused per entry, never fail its batch-mates with a 503.
      metadata: [...JSON_VALUES, JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)), { ['k'.repeat(1000)]: 1 }, { n: 2 ** 63 }, { n: -(2 ** 63) }, { n: 1e308 }],
    }
    // The standard protocols: the fuzzed object is one record in each one's own envelope.
    const NS = String(BigInt(t.clock.now().getTime()) * 1_000_000n)
    const otlpRecord = { body: { stringValue: 'fuzz' }, severityNumber: 9, timeUnixNano: NS, attributes: [{ key: 'a.b', value: { intValue: '1' } }] }
    const otlpFields = {
      body: [...JSON_VALUES, { kvlistValue: { values: [{ key: 'x' }] } }, { arrayValue: {} }, { bytesValue: '!!' }, { intValue: '99999999999999999999' }, { doubleValue: 'x' }],
      severityNumber: [...JSON_VALUES, 25, -1, 2 ** 31, 'SEVERITY_NUMBER_NOPE'],
      severityText: JSON_VALUES,
      timeUnixNano: [...JSON_VALUES, ...TIMES, '-1', '18446744073709551616'],
      observedTimeUnixNano: [...JSON_VALUES, ...TIMES],
      traceId: [...JSON_VALUES, 'zz', 'a'.repeat(33), '0'.repeat(32)],
      spanId: [...JSON_VALUES, 'zz', 'a'.repeat(17)],
      attributes: [...JSON_VALUES, [{ key: 'x' }], [{ value: { stringValue: 'x' } }], [{ key: 'a', value: { intValue: 'x' } }], Array(3).fill({ key: 'dup', value: { stringValue: 'x' } }), [{ key: '.'.repeat(100), value: { boolValue: true } }]],
    }
    const otlp: RouteSpec = {
      body: { base: otlpRecord, fields: otlpFields },
      encode: (record) => JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] }, scopeLogs: [{ scope: { name: 'fuzz' }, logRecords: [record] }] }] }),
      protocolAnswer: (res) => res.statusCode === 200 && 'partialSuccess' in res.json(),
    }
    const loki: RouteSpec = {
      body: {
        base: { stream: { app: 'fuzz' }, values: [[NS, 'fuzz line']] },
        fields: {
          stream: [...JSON_VALUES, { a: {} }, { '': 'x' }, { level: 'nope' }, { service_name: 'x'.repeat(300) }],
          values: [...JSON_VALUES, [[]], [['x', 1]], [[NS]], [['-1', 'x']], [[NS, 'x', { a: {} }]], [[NS, 'x', 'not an object']], [[NS, '']], [[...TIMES.slice(0, 3), 'x']]],
        },
      },
      encode: (stream) => JSON.stringify({ streams: [stream] }),
    }
    const esDocument = { message: 'fuzz', '@timestamp': t.clock.now().toISOString(), 'log.level': 'info' }
    const esFields = {
      message: JSON_VALUES,
      '@timestamp': [...JSON_VALUES, ...TIMES],
      'log.level': [...JSON_VALUES, 'nope'],
      log: [...JSON_VALUES, { level: {} }],
      'service.name': JSON_VALUES,
      'trace.id': JSON_VALUES,
      service: [{ name: 1 }, { name: { deeper: 1 } }, 'x'.repeat(300)],
    }
    const esBulk: RouteSpec = {
      body: { base: esDocument, fields: esFields },
      encode: (doc) => `{"create":{"_index":"fuzz"}}\n${JSON.stringify(doc)}\n`,
      contentType: 'application/x-ndjson',
      protocolAnswer: (res) => res.statusCode === 200 && res.json().errors === true,
    }
    const esIndexBulk: RouteSpec = { ...esBulk, params: { index: 'fuzz-index' } }
    // Probes answer what shippers check and acknowledge bodies unread.
    const esProbe: RouteSpec = { ignoresInput: true, protocolAnswer: () => false }
    const esNamed: RouteSpec = { ...esProbe, params: { name: 'fuzz' } }
    return {
      'POST /v1/logs': otlp,
      'POST /otlp/v1/logs': otlp,
      'POST /loki/api/v1/push': loki,
      'POST /es/_bulk': esBulk,
      'PUT /es/_bulk': esBulk,
      'POST /es/:index/_bulk': esIndexBulk,
      'PUT /es/:index/_bulk': esIndexBulk,
      'GET /es': esProbe,
      'GET /es/_license': esProbe,
      'GET /es/_cluster/health': esProbe,
      'GET /es/_cat/health': esProbe,
      'PUT /es/_index_template/:name': esNamed,
      'POST /es/_index_template/:name': esNamed,
      'PUT /es/_ilm/policy/:name': esNamed,
      'PUT /es/_data_stream/:name': esNamed,
      'GET /healthz': { ignoresInput: true },
      'GET /api/v1/healthz': { ignoresInput: true },
      'GET /api/v1/openapi.json': { ignoresInput: true },
      // The console's pages: one HTML document whatever the query (the app reads it, not serve).
      ...Object.fromEntries(CONSOLE_PAGES.map((page) => [`GET ${page}`, { ignoresInput: true }])),
      'GET /embed': { ignoresInput: true, query: { base: {}, fields: { token: [...LONG, ...SQLISH.slice(0, 3), ''] } } },
      'GET /assets/:file': { params: { file: 'nope-00000000.js' } },
      'GET /metrics': { ignoresInput: true },
      'GET /api/v1/logs/projects': { query: page },
      'POST /api/v1/logs/projects': {
        body: { base: { name: 'fuzz-created' }, fields: { name: JSON_VALUES, description: [1, [], {}, 'x'.repeat(10_000)], retention_days: [...JSON_VALUES, 91, 0], daily_limit_mb: [...JSON_VALUES, 0] } },
      },
      'GET /api/v1/logs/projects/:id': { params: { id: NOWHERE } },
      'PUT /api/v1/logs/projects/:id': {
        params: { id: NOWHERE },
        body: { base: { name: 'fuzz-renamed' }, fields: { name: JSON_VALUES, description: [1, [], {}, 'x'.repeat(10_000)], retention_days: [...JSON_VALUES, 91, 0], daily_limit_mb: [...JSON_VALUES, 0] } },
      },
      'DELETE /api/v1/logs/projects/:id': { params: { id: NOWHERE } },
      'POST /api/v1/logs/projects/:id/rotate_token': { params: { id: NOWHERE }, body: { base: {}, fields: { grace_seconds: [...JSON_VALUES, 86_401] } } },
      'GET /api/v1/logs/projects/:id/streams': { params: { id: NOWHERE } },
      'GET /api/v1/logs/projects/:id/tokens': { params: { id: NOWHERE }, query: page },
      // On a project that does not exist: a valid body is a 404, so the corpus creates no token.
      'POST /api/v1/logs/projects/:id/tokens': {
        params: { id: NOWHERE },
        body: {
          base: { name: 'fuzz token' },
          fields: {
            name: JSON_VALUES,
            expires_at: [...JSON_VALUES, ...TIMES],
            expires_in: [...JSON_VALUES, 59, 315_360_001, 60.5, '3600', 1e30],
            allowed_origins: [...JSON_VALUES, ['*'], ['https://*.example.com'], ['https://a.example/x'], ['null'], [''], Array(21).fill('https://a.example'), SQLISH.slice(0, 4), UNICODE, LONG, [1], [null]],
          },
        },
      },
      'DELETE /api/v1/logs/projects/:id/tokens/:token_id': { params: { id: NOWHERE, token_id: NOWHERE } },
      // CORS preflights answer 204 whatever they carry (the Origin decides the headers: test/api/cors.test.ts).
      'OPTIONS /api/v1/logs/ingest': { ignoresInput: true },
      'OPTIONS /api/v1/logs/ingest/batch': { ignoresInput: true },
      'OPTIONS /v1/logs': { ignoresInput: true },
      'OPTIONS /otlp/v1/logs': { ignoresInput: true },
      'GET /api/v1/logs/projects/:id/usage': { params: { id: NOWHERE }, query: { base: {}, fields: { days: LIMITS } } },
      'POST /api/v1/logs/ingest': { body: { base: entry, fields: entryFields } },
      'POST /api/v1/logs/ingest/batch': { body: { base: entry, fields: entryFields } },
      'GET /api/v1/logs/search': { query: { base: filters.base, fields: { ...filters.fields, limit: LIMITS, order: ['up', '', 'DESC ', 'asc,desc'], cursor: CURSORS } } },
      'POST /api/v1/logs/search': {
        body: { base: filters.base, fields: { ...Object.fromEntries(Object.entries(searchFields()).map(([k, v]) => [k, [...v, ...JSON_VALUES]])), from: [...TIMES, ...JSON_VALUES, 1e30, -1, 2 ** 63], to: [...TIMES, ...JSON_VALUES, 1e30, -1], limit: JSON_VALUES, cursor: [...CURSORS, ...JSON_VALUES] } },
      },
      'GET /api/v1/logs/stats': { query: { base: filters.base, fields: { ...filters.fields, interval: INTERVALS } } },
      'GET /api/v1/logs/tail': { query: { base: filters.base, fields: { ...filters.fields, cursor: CURSORS } } },
      'GET /api/v1/logs/context': { query: { base: { project_id: project.id, id: 'nope' }, fields: { ...filters.fields, id: [...LONG, '', ...SQLISH.slice(0, 3)], before: [...LIMITS, '501'], after: [...LIMITS, '501'] } } },
      'GET /api/v1/logs/facets': {
        query: { base: filters.base, fields: { ...filters.fields, fields: ['', 'nope', 'metadata.', 'metadata.a..b', "metadata.x') OR 1=1 --", 'level,'.repeat(20), ...SQLISH.slice(0, 4)], limit: [...LIMITS, '101'] } },
      },
      'GET /api/v1/logs/patterns': { query: { base: filters.base, fields: { ...filters.fields, limit: [...LIMITS, '201'] } } },
      'GET /api/v1/logs/export': { query: { base: filters.base, fields: { ...filters.fields, format: ['xml', 'CSV', '', 'csv,json'], limit: LIMITS, order: ['up'] } } },
      'GET /api/v1/logs/alerts': { query: { base: {}, fields: { ...page.fields, project_id: BAD_UUIDS } } },
      'POST /api/v1/logs/alerts': { body: { base: rule, fields: ruleFields } },
      // On the seeded project, so fuzzed queries reach the compiler and the engine; the rule-form
      // fields the preview ignores get a few values (ignored: answered 200).
      'POST /api/v1/logs/alerts/preview': {
        body: {
          base: { project_id: project.id, query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 5 }, hours: 1 },
          fields: {
            project_id: [...ruleFields.project_id, NOWHERE],
            query: ruleFields.query,
            condition: ruleFields.condition,
            cooldown_minutes: ruleFields.cooldown_minutes,
            hours: [...JSON_VALUES, 169, 1.5, '24'],
            name: [null, { a: 1 }],
            channels: [[{ type: 'sms' }]],
            enabled: ['maybe'],
          },
        },
      },
      'GET /api/v1/logs/alerts/:id': { params: { id: NOWHERE } },
      'PUT /api/v1/logs/alerts/:id': { params: { id: NOWHERE }, body: { base: { name: 'renamed' }, fields: ruleFields } },
      'DELETE /api/v1/logs/alerts/:id': { params: { id: NOWHERE } },
      'POST /api/v1/logs/alerts/:id/test': { params: { id: NOWHERE } },
      'GET /api/v1/logs/alerts/:id/events': { params: { id: NOWHERE }, query: page },
      'GET /api/v1/logs/alert-events/:id': { params: { id: NOWHERE } },
      'PATCH /api/v1/logs/alert-events/:id': { params: { id: NOWHERE }, body: { base: { status: 'resolved' }, fields: { status: [...JSON_VALUES, 'open', 'RESOLVED'] } } },
      'POST /api/v1/admin/retention/run': { body: { base: { dry_run: true }, fields: { project_id: [...JSON_VALUES, ...BAD_UUIDS], dry_run: JSON_VALUES.filter((v) => typeof v !== 'boolean') } } },
      // Only values the schema refuses: a valid `out` would write a backup wherever it names
      // (the backup owner's tests cover paths: /proc, files, NUL bytes).
      'POST /api/v1/admin/backups': { body: { base: { keep: 0 }, fields: { out: JSON_VALUES.filter((v) => typeof v !== 'string'), keep: JSON_VALUES } } },
      'GET /api/v1/admin/backups': {},
      'GET /api/v1/admin/status': {},
      'GET /api/v1/admin/jobs': {},
      'GET /api/v1/keys': { query: page },
      'POST /api/v1/keys': {
        body: { base: { name: 'fuzz key', scopes: ['nope'] }, fields: { name: JSON_VALUES, scopes: [...JSON_VALUES, ['logs:read', 'logs:read', 'logs:read', 'logs:read'], ['root']], project_ids: [...JSON_VALUES, [NOWHERE], Array(1001).fill(NOWHERE)], expires_at: [...JSON_VALUES, ...TIMES] } },
      },
      'DELETE /api/v1/keys/:id': { params: { id: NOWHERE } },
      'GET /api/v1/audit-logs': { query: { base: {}, fields: { ...page.fields, limit: [...LIMITS, '501'], action: ['nope', 'project.create,key.create', ...SQLISH.slice(0, 3)], from: TIMES, to: TIMES } } },
      // A valid body signs in (the key is the team's): the fields are what the corpus varies.
      'POST /api/v1/sessions': { body: { base: { api_key: tokens.team! }, fields: { api_key: [...JSON_VALUES, ...SQLISH.slice(0, 3), 'kr_live_short', `kr_live_${'A'.repeat(32)}`, `krl_live_${'a'.repeat(32)}`, `kr_live_${'a'.repeat(32)}`] } } },
      'GET /api/v1/sessions/current': {},
      'DELETE /api/v1/sessions/current': { ignoresInput: true },
      'POST /api/v1/sessions/login-links': {},
      'GET /login': { query: { base: { token: `krk_login_${'a'.repeat(43)}` }, fields: { token: [...LONG, ...SQLISH.slice(0, 3), '', 'krk_login_', `krk_login_${'a'.repeat(42)}`] } } },
      'GET /api/v1/redaction/rules': { query: { base: {}, fields: { project_id: BAD_UUIDS } } },
      // A valid rule names a project that does not exist (404), so the corpus creates none.
      'POST /api/v1/redaction/rules': { body: { base: { project_id: NOWHERE, name: 'fuzz rule', pattern: 'x' }, fields: redactionFields } },
      'PUT /api/v1/redaction/rules/:id': { params: { id: NOWHERE }, body: { base: { name: 'renamed' }, fields: redactionFields } },
      'DELETE /api/v1/redaction/rules/:id': { params: { id: NOWHERE } },
      'POST /api/v1/viewer-tokens': {
        body: {
          base: { project_id: NOWHERE },
          fields: {
            project_id: [...JSON_VALUES, ...BAD_UUIDS],
            expires_in: [...JSON_VALUES, 59, 86_401, 60.5, '3600', 1e30],
            query: [...JSON_VALUES, ...SQLISH, 'x'.repeat(5000), '(((', 'level:loud', 'a) OR (b', 'metadata.x..y:1'],
          },
        },
      },
      // Anonymous streams: a valid token (the stream is created by the first accepted entry).
      'POST /api/v1/streams/:token/events': { params: { token: 'fuzz-stream-token-0000000' }, body: { base: entry, fields: entryFields } },
      'GET /api/v1/streams/:token/info': { params: { token: 'fuzz-stream-token-0000000' } },
      // A valid claim names a project that does not exist (404), so the corpus moves nothing.
      'POST /api/v1/streams/claim': {
        body: {
          base: { token: 'fuzz-stream-token-0000000', project_id: NOWHERE },
          fields: { token: [...JSON_VALUES, ...SQLISH, 'x'.repeat(21), 'x'.repeat(65), `${'x'.repeat(30)}.`, `${'x'.repeat(30)}\u0000`], project_id: [...JSON_VALUES, ...BAD_UUIDS] },
        },
      },
      'POST /api/v1/redaction/test': {
        body: {
          base: { project_id: project.id, entries: [{ message: 'fuzz' }] },
          fields: {
            project_id: [...JSON_VALUES, ...BAD_UUIDS],
            entries: [...JSON_VALUES, [1], [{}], [{ message: 1 }], [{ message: 'x', metadata: [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]] }], Array(101).fill({ message: 'x' }), [{ message: 'x', timestamp: 'nope' }]],
            hash_values: [...JSON_VALUES, ['x'.repeat(5000)], Array(101).fill('x'), [1]],
          },
        },
      },
    }
  }

  /** The token a route takes, and the ones it must refuse. */
  const credentials = (auth: { kind: string; scope?: string }) => {
    if (auth.kind === 'none') return { good: {}, bad: [] as Record<string, string>[] }
    const good = bearer(auth.kind === 'ingest' ? tokens.ingest! : tokens.team!)
    const bad: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: `Bearer ${tokens.team} extra` },
      { authorization: 'Bearer kr_live_' + 'a'.repeat(32) },
      { authorization: 'Bearer krl_live_' + 'a'.repeat(32) },
      { authorization: `Bearer ${'x'.repeat(5000)}` },
      { 'x-api-key': 'kr_live_short' },
      bearer(auth.kind === 'ingest' ? tokens.team! : tokens.ingest!),
      bearer(tokens.expired!),
      // Limited to another project: refused where a project is named, a narrower view elsewhere.
      bearer(auth.kind === 'ingest' ? 'krl_live_' + '0'.repeat(32) : tokens.otherProject!),
    ]
    if (auth.kind === 'team' && auth.scope !== 'logs:read') bad.push(bearer(tokens.reader!))
    return { good, bad }
  }

  const withQuery = (url: string, query: Record<string, string | string[]>) => {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) for (const one of [v].flat()) qs.append(k, one)
    const text = qs.toString()
    return text ? `${url}?${text}` : url
  }

  const corpusFor = (method: string, url: string, spec: RouteSpec, auth: { kind: string; scope?: string }): Fuzz[] => {
    const out: Fuzz[] = []
    const { good, bad } = credentials(auth)
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(method)
    const pathOf = (params: Record<string, string>) => url.replace(/:(\w+)/g, (_, name: string) => params[name] ?? NOWHERE)
    const validPath = pathOf(spec.params ?? {})
    const baseQuery = spec.query?.base ?? {}
    const bodyText = spec.encode ?? ((body: unknown) => (url.endsWith('/batch') ? `${JSON.stringify(body)}\n` : JSON.stringify(body)))
    const jsonHeaders = { ...good, 'content-type': spec.contentType ?? (url.endsWith('/batch') ? 'application/x-ndjson' : 'application/json') }
    const base = (): Fuzz => ({
      method: method as Fuzz['method'],
      url: withQuery(validPath, baseQuery),
      headers: hasBody ? jsonHeaders : good,
      ...(hasBody && spec.body ? { payload: bodyText(spec.body.base) } : {}),
      label: 'base',
    })

    // Path parameters, one at a time.
    for (const name of Object.keys(spec.params ?? {})) {
      for (const value of BAD_PARAMS) out.push({ ...base(), url: withQuery(pathOf({ ...spec.params, [name]: value }), baseQuery), label: `param ${name}=${value.slice(0, 20)}` })
    }
    // The query: unknown fields and repeated ones, then each field's bad values.
    const extras: Record<string, string>[] = [{ unknown: '1' }, { ['__proto__']: '1', 'constructor[prototype][x]': '1' }, { ['k'.repeat(300)]: 'v' }, { api_key: 'kr_live_nope' }, { '': '' }]
    for (const extra of extras) {
      out.push({ ...base(), url: withQuery(validPath, { ...baseQuery, ...extra }), label: `query extra ${Object.keys(extra)[0]}` })
    }
    for (const [field, values] of Object.entries(spec.query?.fields ?? {})) {
      for (const value of values) out.push({ ...base(), url: withQuery(validPath, { ...baseQuery, [field]: value }), label: `query ${field}=${value.slice(0, 30)}` })
      out.push({ ...base(), url: withQuery(validPath, { ...baseQuery, [field]: [values[0]!, values[1] ?? 'x'] }), label: `query ${field} twice` })
    }
    // The body: malformed JSON, wrong content types, wrong shapes, then each field's bad values.
    if (hasBody) {
      for (const payload of BAD_BODIES) out.push({ ...base(), payload, label: `body ${payload.slice(0, 20)}` })
      for (const type of CONTENT_TYPES) out.push({ ...base(), headers: { ...good, 'content-type': type }, label: `content-type ${type}` })
      out.push({ ...base(), headers: { ...jsonHeaders, 'content-encoding': 'gzip' }, label: 'gzip header, plain body' })
      out.push({ ...base(), headers: { ...jsonHeaders, 'content-encoding': 'br' }, label: 'brotli' })
      out.push({ ...base(), headers: { ...jsonHeaders, 'content-encoding': 'gzip' }, payload: gzipSync(Buffer.from('{"a":')), label: 'gzip of bad JSON' })
      out.push({ ...base(), payload: Buffer.from([0xff, 0xfe, 0x7b, 0x7d, 0xc3, 0x28]), label: 'invalid UTF-8' })
      out.push({ ...base(), payload: OVERSIZED, label: 'body over the limit' })
      if (spec.body) {
        out.push({ ...base(), payload: bodyText({ ...spec.body.base, unknown_field: 1 }), label: 'body unknown field' })
        for (const [field, values] of Object.entries(spec.body.fields)) {
          for (const value of values) out.push({ ...base(), payload: bodyText({ ...spec.body.base, [field]: value }), label: `body ${field}=${JSON.stringify(value)?.slice(0, 30)}` })
          for (const number of RAW_NUMBERS) {
            const text = bodyText({ ...spec.body.base, [field]: '__N__' }).replace('"__N__"', number)
            out.push({ ...base(), payload: text, label: `body ${field}=${number}` })
          }
        }
      }
    } else {
      out.push({ ...base(), headers: { ...good, 'content-type': 'application/json' }, payload: '{', label: 'GET with a bad JSON body' })
    }
    // Tokens the route must refuse.
    for (const headers of bad) out.push({ ...base(), headers: { ...(hasBody ? { 'content-type': jsonHeaders['content-type'] } : {}), ...headers }, label: `auth ${Object.values(headers)[0]?.slice(0, 20) ?? 'none'}` })
    out.push({ ...base(), headers: { ...base().headers, 'x-request-id': 'bad id with spaces!' }, url: withQuery(validPath, { ...baseQuery, unknown: '1' }), label: 'bad x-request-id' })
    // Seeded mixes: several fields wrong at once; query fields also get random text (body
    // fields only their own family: a random string `out` would write a backup anywhere).
    const queryFields = Object.entries(spec.query?.fields ?? {})
    const bodyFields = Object.entries(spec.body?.fields ?? {})
    for (let i = 0; i < 12; i++) {
      const query: Record<string, string> = { ...baseQuery }
      const body: Record<string, unknown> = { ...spec.body?.base }
      for (let n = 0; n < 1 + Math.floor(random() * 3); n++) {
        if (queryFields.length > 0 && (bodyFields.length === 0 || random() < 0.5)) {
          const [field, values] = pick(queryFields)
          query[field] = random() < 0.5 ? randomText(1 + Math.floor(random() * 400)) : pick([...values, ...GARBAGE])
        } else if (bodyFields.length > 0) {
          const [field, values] = pick(bodyFields)
          body[field] = pick(values)
        }
      }
      if (queryFields.length === 0 && bodyFields.length === 0) query[randomText(8)] = randomText(20)
      out.push({ ...base(), url: withQuery(validPath, query), ...(hasBody ? { payload: bodyText(body) } : {}), label: `mix ${i}` })
    }
    return out
  }

  /** Routes the app does not have: only "not 5xx, with the envelope" (auth.ts decides 401/404). */
  const unknownRoutes = (): Fuzz[] =>
    ['/index.html', '/assets', '/assets/', '/embed/x', '/api', '/api/v1', '/api/v2/logs/projects', '/api/v1/logs/projects/x/y/z', '/api/v1/admin', '/api/v1/logs/%ZZ', `/api/v1/${'x'.repeat(3000)}`, '/healthz/', '/.env', '/api/v1/../../etc/passwd'].flatMap((url) =>
      [{}, bearer(tokens.team!), bearer(tokens.ingest!), bearer('kr_live_' + 'z'.repeat(32))].flatMap((headers) =>
        (['GET', 'POST', 'DELETE', 'OPTIONS', 'PATCH'] as const).map((method) => ({ method, url, headers, label: 'unknown route' })),
      ),
    )

  const LEAK_MARKERS = ['fromUnixTimestamp64Micro', 'toUnixTimestamp64Micro', 'JSONEachRow', 'hasToken', 'getSubcolumn', 'metadata.`', 'message_template', 'ORDER BY', 'SELECT', 'INSERT INTO', 'WHERE', 'DB::Exception', 'SqliteError', 'SQLITE_', 'node_modules', 'audit_logs', 'api_keys', 'ingest_tokens', 'alert_rules', '{p0:', 'Code: ']
  const STACK = /\n\s+at \S|\bat \S+ \(|\.(ts|js):\d+:\d+/

  it('answers ≥ 2,000 bad requests with no 5xx, always the envelope, never a stack, SQL or token', { timeout: 120_000 }, async () => {
    const table = specs()
    const routes = t.app.routeTable.map((r) => ({ ...r, key: `${r.method} ${r.url}` }))
    const missing = routes.filter((r) => !table[r.key]).map((r) => r.key)
    expect(missing, 'routes without a fuzz generator: add them to specs()').toEqual([])

    const corpus: (Fuzz & { route: string; ignoresInput: boolean; protocolAnswer?: RouteSpec['protocolAnswer'] })[] = []
    for (const route of routes) {
      const spec = table[route.key]!
      for (const request of corpusFor(route.method, route.url, spec, route.auth)) {
        corpus.push({ ...request, route: route.key, ignoresInput: spec.ignoresInput ?? false, protocolAnswer: spec.protocolAnswer })
      }
    }
    for (const request of unknownRoutes()) corpus.push({ ...request, route: 'unknown', ignoresInput: false })
    expect(corpus.length).toBeGreaterThanOrEqual(2000)

    const secrets = Object.values(tokens)
    const byStatus = new Map<number, number>()
    const failures: string[] = []
    // Bad input a protocol route refused in a success answer (OTLP partial success, bulk item errors).
    let refusedInAnswer = 0
    let ignoring = 0
    const check = (request: (typeof corpus)[number], res: Injected) => {
      byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1)
      if (request.ignoresInput) ignoring++
      if (res.statusCode < 400 && request.protocolAnswer?.(res)) refusedInAnswer++
      const where = `${request.route} [${request.label}] → ${res.statusCode} ${res.body.slice(0, 200)}`
      const problems: string[] = []
      const requestId = res.headers['x-request-id']
      if (typeof requestId !== 'string' || requestId.length === 0) problems.push('no X-Request-Id')
      if (res.statusCode >= 500) problems.push('5xx')
      const text = `${JSON.stringify(res.headers)}\n${res.body}`
      if (STACK.test(res.body)) problems.push('stack trace')
      const requestText = `${request.url} ${JSON.stringify(request.headers)} ${String(request.payload ?? '')}`.toLowerCase()
      // Our SQL is upper case, English messages are not; an input echoed back is no leak.
      // Success bodies are data (a backup manifest names its tables): errors are where
      // internals would escape.
      if (res.statusCode >= 400) {
        for (const marker of LEAK_MARKERS) if (text.includes(marker) && !requestText.includes(marker.toLowerCase())) problems.push(`leaks ${marker}`)
      }
      for (const secret of secrets) if (text.includes(secret)) problems.push('leaks a token')
      if (res.statusCode >= 400) {
        let body: { error?: { code?: unknown; message?: unknown; details?: unknown }; request_id?: unknown } | undefined
        try {
          body = res.json()
        } catch {
          problems.push('error body is not JSON')
        }
        const code = String(body?.error?.code)
        if (!(code in API_CODES)) problems.push(`code ${code} not in API.md`)
        else if (API_CODES[code] !== res.statusCode) problems.push(`code ${code} with status ${res.statusCode}`)
        if (typeof body?.error?.message !== 'string' || body.error.message.length === 0) problems.push('no message')
        if (body?.error?.details !== undefined && !Array.isArray(body.error.details)) problems.push('details not a list')
        if (body?.request_id !== requestId) problems.push('request_id differs from X-Request-Id')
      } else if (!request.ignoresInput && !request.protocolAnswer && res.statusCode !== 204 && String(res.headers['content-type']).startsWith('application/json')) {
        if (res.json().request_id !== requestId) problems.push('success without request_id')
      }
      if (problems.length > 0) failures.push(`${problems.join(', ')}: ${where}`)
    }

    // Concurrent, as clients are, but bounded so the engine's queue stays short.
    let next = 0
    const worker = async () => {
      while (next < corpus.length) {
        const request = corpus[next++]!
        const { route: _r, label: _l, ignoresInput: _i, protocolAnswer: _p, ...options } = request
        check(request, await injectAny(t.app, options))
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))

    const counts = Object.fromEntries([...byStatus.entries()].sort(([a], [b]) => a - b))
    console.log(`fuzz: ${corpus.length} requests over ${routes.length} routes (+ unknown routes), by status:`, counts)
    expect(failures.slice(0, 40), `${failures.length} bad answers`).toEqual([])
    // The corpus is bad input: nearly all of it must be refused, not served (routes that ignore
    // their input by design aside).
    const refused = [...byStatus.entries()].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0) + refusedInAnswer
    console.log(`fuzz: ${refusedInAnswer} refused inside a protocol's success answer, ${ignoring} sent to routes that ignore input`)
    expect(refused / (corpus.length - ignoring)).toBeGreaterThan(0.85)
  })
})
