import { readFileSync } from 'node:fs'
import path from 'node:path'
import { CONSOLE_DIR, CONSOLE_PAGES } from '../../src/api/routes/console.js'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RouteAuth } from '../../src/api/plugins/auth.js'
import { logTable } from '../../src/engine/schema.js'
import { insertEvent } from '../../src/meta/alerts.js'
import { injectAny } from '../helpers/inject.js'
import { SCOPES, type Scope } from '../../src/meta/keys.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { startSmtpServer } from '../helpers/receivers.js'

/*
 * Every route × every kind of token, each outcome derived from a declared table: what auth the
 * route takes and whether it acts on one project, on the whole team, or lists what the key may
 * see. A route missing from the table (or one the app no longer has) fails the test.
 */

let t: TestApp
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
/** The project the samples act on, and another one for keys limited elsewhere. */
let projectA: { id: string; name: string; ingest_token: string }
let projectB: { id: string; name: string; ingest_token: string }
let ruleA: string

beforeAll(async () => {
  smtp = await startSmtpServer()
  t = await createTestApp({ config: { smtp: { host: '127.0.0.1', port: smtp.port, secure: false }, alerts: { delivery_retries: 0 } } })
  projectA = await t.project({ name: 'matrix-a' })
  projectB = await t.project({ name: 'matrix-b' })
  ruleA = await newRule(projectA.id)
})
afterAll(async () => {
  await t?.close()
  await smtp?.close()
})

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'
const inject = (method: Method, url: string, headers: Record<string, string>, body?: unknown, remoteAddress?: string) =>
  injectAny(t.app, { method, url, headers, ...(remoteAddress ? { remoteAddress } : {}), ...(body === undefined ? {} : { payload: body as object }) })
const asAdmin = async (method: Method, url: string, body?: unknown) => {
  const res = await inject(method, `/api/v1${url}`, bearer(t.teamKey), body)
  expect(res.statusCode, `${method} ${url}: ${res.body.slice(0, 300)}`).toBeLessThan(300)
  return res.statusCode === 204 ? undefined : res.json().data
}
const unique = () => randomBytes(4).toString('hex')
const newRule = async (projectId: string): Promise<string> =>
  (
    await asAdmin('POST', '/logs/alerts', {
      project_id: projectId,
      name: `rule-${unique()}`,
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'email', to: ['oncall@example.com'] }],
    })
  ).id
const newRedactionRule = async (projectId: string | null): Promise<string> =>
  (await asAdmin('POST', '/redaction/rules', { ...(projectId ? { project_id: projectId } : {}), name: `r-${unique()}`, pattern: 'order-[0-9]+' })).id
let entryA: string | undefined
/** An entry of the project (ingested once), for the context route. */
const entryOf = async (p: { id: string; ingest_token: string }): Promise<string> => {
  if (entryA) return entryA
  const at = new Date(t.clock.now().getTime() - 1000).toISOString()
  const res = await inject('POST', '/api/v1/logs/ingest', bearer(p.ingest_token), { message: 'context anchor', timestamp: at })
  expect(res.statusCode, res.body).toBe(202)
  const [row] = await t.rows<{ id: string }>(`SELECT id FROM krafter.log_entries WHERE project_id = {p:UUID} AND message = 'context anchor'`, { p: p.id })
  entryA = row!.id
  return entryA
}
/** A fresh browser session of the init key: its cookie and CSRF token as request headers. */
const newSession = async (): Promise<Record<string, string>> => {
  const res = await inject('POST', '/api/v1/sessions', {}, { api_key: t.teamKey })
  expect(res.statusCode, res.body).toBe(201)
  return { cookie: String(res.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': res.json().data.csrf_token }
}
const newEvent = (ruleId: string) => insertEvent(t.meta, { rule_id: ruleId, value: 1, threshold: 1, matched: 1, total: 1, window_minutes: 5 }, t.clock.now()).id

/**
 * project: acts on `project` (default A); team: acts on the whole team, so only unlimited keys;
 * filtered: lists what the key may see, so limited keys succeed with their share.
 */
type Scoping = 'project' | 'team' | 'filtered'
interface Call {
  url: string
  body?: unknown
  /** For a body that is not JSON (the protocols' own formats). */
  contentType?: string
  project?: string
  /** The client's address (inject's default is 127.0.0.1, i.e. this machine). */
  remoteAddress?: string
  /** Headers the sample needs besides the token case's (a session cookie and its CSRF token). */
  headers?: Record<string, string>
}
interface Sample {
  scoping: Scoping
  ok: number
  make: () => Call | Promise<Call>
  /** The 403 a limited key gets, where it is not the default of its scoping. */
  forbidden?: RegExp
}
interface RouteSpec {
  auth: RouteAuth
  samples: Sample[]
}

/** An anonymous stream with one event (sent from an address of its own, so the walk's rate budget stays whole). */
const anonymousStream = async (): Promise<string> => {
  const token = randomBytes(16).toString('hex')
  const res = await inject('POST', `/api/v1/streams/${token}/events`, {}, { message: 'matrix' }, '192.0.2.77')
  expect(res.statusCode, res.body).toBe(202)
  return token
}
let streamToken: string | undefined
/** A built script of the console (its name carries a content hash), as index.html loads it. */
const consoleAsset = (): string => /src="(\/assets\/[^"]+\.js)"/.exec(readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8'))![1]!
/** The ingest endpoints browsers may call (CORS); every other route never answers CORS headers. */
const BROWSER_INGEST = ['/api/v1/logs/ingest', '/api/v1/logs/ingest/batch', '/v1/logs', '/otlp/v1/logs']
const BROWSER_ORIGIN = 'https://matrix.example'
const none: RouteAuth = { kind: 'none' }
const ingest: RouteAuth = { kind: 'ingest' }
const team = (scope: Scope, teamWide?: true, openOnLoopback?: true): RouteAuth => ({
  kind: 'team',
  scope,
  ...(teamWide ? { teamWide } : {}),
  ...(openOnLoopback ? { openOnLoopback } : {}),
})
/** The reads a viewer token may also make (search, stats, tail, context, facets, patterns). */
const readOrViewer: RouteAuth = { kind: 'team', scope: 'logs:read', viewer: true }
const one = (scoping: Scoping, ok: number, make: Sample['make'], extra: Partial<Sample> = {}): Sample[] => [{ scoping, ok, make, ...extra }]
const freshProject = async (): Promise<Call & { id: string }> => {
  const p = await t.project({ name: `fresh-${unique()}` })
  return { url: '', id: p.id, project: p.id }
}

const OTLP_SAMPLE = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'matrix' } }] }] }] }
const lokiSample = () => ({ streams: [{ stream: { app: 'matrix' }, values: [[String(BigInt(t.clock.now().getTime()) * 1_000_000n), 'matrix']] }] })
const ES_BULK_SAMPLE = { body: '{"create":{}}\n{"message":"matrix"}\n', contentType: 'application/x-ndjson' }
/** Protocol answers are the protocol's own (OTLP's `{}`, Elasticsearch's shapes): no request_id in the body, only the header. */
const PROTOCOL_ROOTS = ['/v1/', '/otlp/', '/loki/', '/es']

const routes = (): Record<string, RouteSpec> => ({
  'GET /healthz': { auth: none, samples: one('filtered', 200, () => ({ url: '/healthz' })) },
  'GET /api/v1/healthz': { auth: none, samples: one('filtered', 200, () => ({ url: '/api/v1/healthz' })) },
  // The public contract: no data in it, so open like health.
  'GET /api/v1/openapi.json': { auth: none, samples: one('filtered', 200, () => ({ url: '/api/v1/openapi.json' })) },
  // The console's assets need no token; every API call it makes does (API.md "Web console").
  ...Object.fromEntries(CONSOLE_PAGES.map((page) => [`GET ${page}`, { auth: none, samples: one('filtered', 200, () => ({ url: page })) }])),
  'GET /embed': { auth: none, samples: one('filtered', 200, () => ({ url: '/embed?token=x' })) },
  'GET /assets/:file': { auth: none, samples: one('filtered', 200, () => ({ url: consoleAsset() })) },
  // Open to this machine's scraper; from elsewhere (or through a proxy) a team key for all projects.
  'GET /metrics': {
    auth: team('logs:read', true, true),
    samples: [
      { scoping: 'team', ok: 200, make: () => ({ url: '/metrics' }) },
      { scoping: 'team', ok: 200, make: () => ({ url: '/metrics', remoteAddress: '192.0.2.10' }) },
    ],
  },

  'GET /api/v1/logs/projects': { auth: team('logs:read'), samples: one('filtered', 200, () => ({ url: '/api/v1/logs/projects' })) },
  'POST /api/v1/logs/projects': {
    auth: team('logs:write'),
    samples: one('team', 201, () => ({ url: '/api/v1/logs/projects', body: { name: `walk-${unique()}` } }), { forbidden: /not allowed to access this project/ }),
  },
  'GET /api/v1/logs/projects/:id': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/projects/${projectA.id}` })) },
  'PUT /api/v1/logs/projects/:id': {
    auth: team('logs:write'),
    samples: one('project', 200, () => ({ url: `/api/v1/logs/projects/${projectA.id}`, body: { description: 'matrix' } })),
  },
  'DELETE /api/v1/logs/projects/:id': {
    auth: team('logs:write'),
    samples: one('project', 204, async () => {
      const p = await freshProject()
      return { ...p, url: `/api/v1/logs/projects/${p.id}` }
    }),
  },
  'POST /api/v1/logs/projects/:id/rotate_token': {
    auth: team('logs:write'),
    samples: one('project', 200, async () => {
      const p = await freshProject()
      return { ...p, url: `/api/v1/logs/projects/${p.id}/rotate_token`, body: {} }
    }),
  },
  'GET /api/v1/logs/projects/:id/streams': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/projects/${projectA.id}/streams` })) },
  'GET /api/v1/logs/projects/:id/usage': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/projects/${projectA.id}/usage` })) },

  // A project's ingest tokens (docs/api.md "Ingest tokens of a project").
  'GET /api/v1/logs/projects/:id/tokens': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/projects/${projectA.id}/tokens` })) },
  'POST /api/v1/logs/projects/:id/tokens': {
    auth: team('logs:write'),
    samples: one('project', 201, () => ({ url: `/api/v1/logs/projects/${projectA.id}/tokens`, body: { name: `t-${unique()}`, allowed_origins: ['https://matrix.example'] } })),
  },
  'DELETE /api/v1/logs/projects/:id/tokens/:token_id': {
    auth: team('logs:write'),
    samples: one('project', 204, async () => ({ url: `/api/v1/logs/projects/${projectA.id}/tokens/${(await asAdmin('POST', `/logs/projects/${projectA.id}/tokens`, { name: 'victim' })).id}` })),
  },
  // CORS preflights carry no token (browsers send none): open, and answered per origin (test/api/cors.test.ts).
  ...Object.fromEntries(BROWSER_INGEST.map((url) => [`OPTIONS ${url}`, { auth: none, samples: one('filtered', 204, () => ({ url, headers: { origin: BROWSER_ORIGIN } })) }])),

  'POST /api/v1/logs/ingest': { auth: ingest, samples: one('project', 202, () => ({ url: '/api/v1/logs/ingest', body: { message: 'matrix' } })) },
  'POST /api/v1/logs/ingest/batch': { auth: ingest, samples: one('project', 202, () => ({ url: '/api/v1/logs/ingest/batch', body: [{ message: 'matrix' }] })) },

  // The standard protocols, at the root where their clients look (bodies in each one's own format).
  'POST /v1/logs': { auth: ingest, samples: one('project', 200, () => ({ url: '/v1/logs', body: OTLP_SAMPLE })) },
  'POST /otlp/v1/logs': { auth: ingest, samples: one('project', 200, () => ({ url: '/otlp/v1/logs', body: OTLP_SAMPLE })) },
  'POST /loki/api/v1/push': { auth: ingest, samples: one('project', 204, () => ({ url: '/loki/api/v1/push', body: lokiSample() })) },
  'POST /es/_bulk': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_bulk', ...ES_BULK_SAMPLE })) },
  'PUT /es/_bulk': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_bulk', ...ES_BULK_SAMPLE })) },
  'POST /es/:index/_bulk': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/matrix/_bulk', ...ES_BULK_SAMPLE })) },
  'PUT /es/:index/_bulk': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/matrix/_bulk', ...ES_BULK_SAMPLE })) },
  'GET /es': { auth: ingest, samples: one('project', 200, () => ({ url: '/es' })) },
  'GET /es/_license': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_license' })) },
  'GET /es/_cluster/health': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_cluster/health' })) },
  'GET /es/_cat/health': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_cat/health' })) },
  'PUT /es/_index_template/:name': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_index_template/matrix', body: { index_patterns: ['matrix-*'] } })) },
  'POST /es/_index_template/:name': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_index_template/matrix', body: { index_patterns: ['matrix-*'] } })) },
  'PUT /es/_ilm/policy/:name': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_ilm/policy/matrix', body: { policy: { phases: {} } } })) },
  'PUT /es/_data_stream/:name': { auth: ingest, samples: one('project', 200, () => ({ url: '/es/_data_stream/matrix' })) },

  'GET /api/v1/logs/search': { auth: readOrViewer, samples: one('project', 200, () => ({ url: `/api/v1/logs/search?project_id=${projectA.id}` })) },
  'POST /api/v1/logs/search': { auth: readOrViewer, samples: one('project', 200, () => ({ url: '/api/v1/logs/search', body: { project_id: projectA.id } })) },
  'GET /api/v1/logs/stats': { auth: readOrViewer, samples: one('project', 200, () => ({ url: `/api/v1/logs/stats?project_id=${projectA.id}` })) },
  'GET /api/v1/logs/export': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/export?project_id=${projectA.id}` })) },
  'GET /api/v1/logs/tail': { auth: readOrViewer, samples: one('project', 200, () => ({ url: `/api/v1/logs/tail?project_id=${projectA.id}` })) },
  'GET /api/v1/logs/context': { auth: readOrViewer, samples: one('project', 200, async () => ({ url: `/api/v1/logs/context?project_id=${projectA.id}&id=${await entryOf(projectA)}` })) },
  'GET /api/v1/logs/facets': { auth: readOrViewer, samples: one('project', 200, () => ({ url: `/api/v1/logs/facets?project_id=${projectA.id}&fields=level,service,metadata.n` })) },
  'GET /api/v1/logs/patterns': { auth: readOrViewer, samples: one('project', 200, () => ({ url: `/api/v1/logs/patterns?project_id=${projectA.id}` })) },

  'GET /api/v1/logs/alerts': {
    auth: team('logs:read'),
    samples: [
      { scoping: 'filtered', ok: 200, make: () => ({ url: '/api/v1/logs/alerts' }) },
      { scoping: 'project', ok: 200, make: () => ({ url: `/api/v1/logs/alerts?project_id=${projectA.id}` }) },
    ],
  },
  'POST /api/v1/logs/alerts': {
    auth: team('logs:write'),
    samples: one('project', 201, () => ({
      url: '/api/v1/logs/alerts',
      body: { project_id: projectA.id, name: `r-${unique()}`, query: 'x', condition: { type: 'count', threshold: 1, window_minutes: 1 }, channels: [{ type: 'email', to: ['oncall@example.com'] }] },
    })),
  },
  // A read with a body: logs:read, and a key limited to other projects gets 403.
  'POST /api/v1/logs/alerts/preview': {
    auth: team('logs:read'),
    samples: one('project', 200, () => ({
      url: '/api/v1/logs/alerts/preview',
      body: { project_id: projectA.id, query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 5 }, hours: 1 },
    })),
  },
  'GET /api/v1/logs/alerts/:id': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/alerts/${ruleA}` })) },
  'PUT /api/v1/logs/alerts/:id': { auth: team('logs:write'), samples: one('project', 200, () => ({ url: `/api/v1/logs/alerts/${ruleA}`, body: { cooldown_minutes: 20 } })) },
  'DELETE /api/v1/logs/alerts/:id': { auth: team('logs:write'), samples: one('project', 204, async () => ({ url: `/api/v1/logs/alerts/${await newRule(projectA.id)}` })) },
  'POST /api/v1/logs/alerts/:id/test': { auth: team('logs:write'), samples: one('project', 200, () => ({ url: `/api/v1/logs/alerts/${ruleA}/test` })) },
  'GET /api/v1/logs/alerts/:id/events': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/alerts/${ruleA}/events` })) },
  'GET /api/v1/logs/alert-events/:id': { auth: team('logs:read'), samples: one('project', 200, () => ({ url: `/api/v1/logs/alert-events/${newEvent(ruleA)}` })) },
  'PATCH /api/v1/logs/alert-events/:id': {
    auth: team('logs:write'),
    samples: one('project', 200, () => ({ url: `/api/v1/logs/alert-events/${newEvent(ruleA)}`, body: { status: 'acknowledged' } })),
  },

  'POST /api/v1/admin/retention/run': {
    auth: team('admin'),
    samples: [
      { scoping: 'project', ok: 200, make: () => ({ url: '/api/v1/admin/retention/run', body: { project_id: projectA.id, dry_run: true } }) },
      { scoping: 'team', ok: 200, make: () => ({ url: '/api/v1/admin/retention/run', body: { dry_run: true } }) },
    ],
  },
  'POST /api/v1/admin/backups': { auth: team('admin', true), samples: one('team', 201, () => ({ url: '/api/v1/admin/backups', body: { keep: 1 } })) },
  'GET /api/v1/admin/backups': { auth: team('admin', true), samples: one('team', 200, () => ({ url: '/api/v1/admin/backups' })) },
  'GET /api/v1/admin/status': { auth: team('admin', true), samples: one('team', 200, () => ({ url: '/api/v1/admin/status' })) },
  'GET /api/v1/admin/jobs': { auth: team('admin', true), samples: one('team', 200, () => ({ url: '/api/v1/admin/jobs' })) },

  'GET /api/v1/keys': { auth: team('admin', true), samples: one('team', 200, () => ({ url: '/api/v1/keys' })) },
  'POST /api/v1/keys': { auth: team('admin', true), samples: one('team', 201, () => ({ url: '/api/v1/keys', body: { name: `k-${unique()}`, scopes: ['admin'] } })) },
  'DELETE /api/v1/keys/:id': {
    auth: team('admin', true),
    samples: one('team', 204, async () => ({ url: `/api/v1/keys/${(await asAdmin('POST', '/keys', { name: 'victim', scopes: ['logs:read'] })).id}` })),
  },
  'GET /api/v1/audit-logs': { auth: team('admin', true), samples: one('team', 200, () => ({ url: '/api/v1/audit-logs' })) },
  // Browser sessions: these check their credential themselves (a key in the body, the cookie,
  // a link's token), whatever token comes in the headers (test/api/sessions.test.ts covers them).
  'POST /api/v1/sessions': { auth: none, samples: one('filtered', 201, () => ({ url: '/api/v1/sessions', body: { api_key: t.teamKey } })) },
  'GET /api/v1/sessions/current': { auth: none, samples: one('filtered', 200, async () => ({ url: '/api/v1/sessions/current', headers: await newSession() })) },
  'DELETE /api/v1/sessions/current': { auth: none, samples: one('filtered', 204, async () => ({ url: '/api/v1/sessions/current', headers: await newSession() })) },
  'POST /api/v1/sessions/login-links': { auth: team('admin', true), samples: one('team', 201, () => ({ url: '/api/v1/sessions/login-links' })) },
  'GET /login': { auth: none, samples: one('filtered', 303, async () => ({ url: `/login?token=${(await asAdmin('POST', '/sessions/login-links')).token}` })) },

  'GET /api/v1/redaction/rules': {
    auth: team('logs:read'),
    samples: [
      { scoping: 'filtered', ok: 200, make: () => ({ url: '/api/v1/redaction/rules' }) },
      { scoping: 'project', ok: 200, make: () => ({ url: `/api/v1/redaction/rules?project_id=${projectA.id}` }) },
    ],
  },
  // A project's rule: keys allowed that project; a team-wide rule or a built-in: unlimited keys.
  'POST /api/v1/redaction/rules': {
    auth: team('admin'),
    samples: [
      { scoping: 'project', ok: 201, make: () => ({ url: '/api/v1/redaction/rules', body: { project_id: projectA.id, name: `r-${unique()}`, pattern: 'order-[0-9]+' } }) },
      { scoping: 'team', ok: 201, make: () => ({ url: '/api/v1/redaction/rules', body: { name: `r-${unique()}`, field_names: ['ssn'] } }) },
    ],
  },
  'PUT /api/v1/redaction/rules/:id': {
    auth: team('admin'),
    samples: [
      { scoping: 'project', ok: 200, make: async () => ({ url: `/api/v1/redaction/rules/${await newRedactionRule(projectA.id)}`, body: { behavior: 'hash' } }) },
      { scoping: 'team', ok: 200, make: () => ({ url: '/api/v1/redaction/rules/builtin:email', body: { enabled: false } }) },
    ],
  },
  'DELETE /api/v1/redaction/rules/:id': {
    auth: team('admin'),
    samples: [
      { scoping: 'project', ok: 204, make: async () => ({ url: `/api/v1/redaction/rules/${await newRedactionRule(projectA.id)}` }) },
      { scoping: 'team', ok: 204, make: async () => ({ url: `/api/v1/redaction/rules/${await newRedactionRule(null)}` }) },
    ],
  },
  // Anonymous streams: events and info take no token (the stream's own token is the path).
  'POST /api/v1/streams/:token/events': { auth: none, samples: one('filtered', 202, async () => ({ url: `/api/v1/streams/${(streamToken ??= await anonymousStream())}/events`, body: { message: 'matrix' } })) },
  'GET /api/v1/streams/:token/info': { auth: none, samples: one('filtered', 200, async () => ({ url: `/api/v1/streams/${(streamToken ??= await anonymousStream())}/info` })) },
  'POST /api/v1/streams/claim': {
    auth: team('logs:write'),
    samples: one('project', 200, async () => ({ url: '/api/v1/streams/claim', body: { token: await anonymousStream(), project_id: projectA.id } })),
  },
  'POST /api/v1/viewer-tokens': { auth: team('logs:read'), samples: one('project', 201, () => ({ url: '/api/v1/viewer-tokens', body: { project_id: projectA.id } })) },
  'POST /api/v1/redaction/test': {
    auth: team('logs:read'),
    samples: one('project', 200, () => ({ url: '/api/v1/redaction/test', body: { project_id: projectA.id, entries: [{ message: 'password=hunter2' }] } })),
  },
})

/** A kind of token, made for the call (keys limited to "the right project" need its id). */
type Presented =
  | { kind: 'none' | 'garbage' | 'unknown-team' | 'unknown-ingest' | 'revoked-team' | 'expired-team' | 'revoked-ingest' | 'ingest' | 'full-team' | 'local' | 'viewer' }
  | { kind: 'scoped'; scope: Scope; limit: 'unlimited' | 'other' | 'right' }
interface TokenCase {
  name: string
  presented: Presented
  headers: (call: Call) => Record<string, string>
}

const tokenCases = async (): Promise<TokenCase[]> => {
  const expired = t.keyWith([...SCOPES], { expiresAt: new Date(t.clock.now().getTime() + 1000).toISOString() })
  const revoked = await asAdmin('POST', '/keys', { name: 'revoked', scopes: [...SCOPES] })
  await asAdmin('DELETE', `/keys/${revoked.id}`)
  const spare = await t.project({ name: `spare-${unique()}` })
  await asAdmin('POST', `/logs/projects/${spare.id}/rotate_token`, {})
  t.clock.advance(2000)
  const fixed = (name: string, kind: Extract<Presented, { kind: string }>['kind'], token?: string): TokenCase => ({
    name,
    presented: { kind } as Presented,
    headers: () => (token === undefined ? {} : bearer(token)),
  })
  const cases: TokenCase[] = [
    fixed('no token', 'none'),
    fixed('garbage', 'garbage', 'not-a-token'),
    fixed('unknown team key', 'unknown-team', `kr_live_${'q'.repeat(32)}`),
    fixed('unknown ingest token', 'unknown-ingest', `krl_live_${'q'.repeat(32)}`),
    fixed('revoked team key', 'revoked-team', revoked.key),
    fixed('expired team key', 'expired-team', expired),
    fixed('rotated-out ingest token', 'revoked-ingest', spare.ingest_token),
    fixed('ingest token', 'ingest', projectA.ingest_token),
    fixed('init key (all scopes)', 'full-team', t.teamKey),
    fixed('local admin token', 'local', t.localToken),
    fixed('viewer token for project A', 'viewer', (await asAdmin('POST', '/viewer-tokens', { project_id: projectA.id })).token),
  ]
  for (const scope of SCOPES) {
    cases.push({ name: `${scope} unlimited`, presented: { kind: 'scoped', scope, limit: 'unlimited' }, headers: () => bearer(t.keyWith([scope])) })
    cases.push({ name: `${scope} limited to another project`, presented: { kind: 'scoped', scope, limit: 'other' }, headers: () => bearer(t.keyWith([scope], { projectIds: [projectB.id] })) })
    cases.push({
      name: `${scope} limited to the right project`,
      presented: { kind: 'scoped', scope, limit: 'right' },
      headers: (call) => bearer(t.keyWith([scope], { projectIds: [call.project ?? projectA.id] })),
    })
  }
  return cases
}

type Outcome = { status: number; code?: string; message?: RegExp }

const expected = (spec: RouteSpec, sample: Sample, p: Presented, call: Call): Outcome => {
  const ok = { status: sample.ok }
  if (spec.auth.kind === 'none') return ok
  if (spec.auth.kind === 'team' && spec.auth.openOnLoopback && call.remoteAddress === undefined) return ok
  if (p.kind === 'none') return { status: 401, code: 'unauthorized', message: /^Missing token/ }
  if (p.kind === 'viewer') {
    if (spec.auth.kind === 'ingest') return { status: 401, code: 'unauthorized', message: /^Invalid ingest token$/ }
    if (!spec.auth.viewer) return { status: 401, code: 'unauthorized', message: /viewer tokens are accepted only by search, stats, tail, context, facets and patterns/ }
    return (call.project ?? projectA.id) === projectA.id ? ok : { status: 403, code: 'forbidden', message: /viewer token is not allowed to access this project/ }
  }
  if (spec.auth.kind === 'ingest') {
    if (p.kind === 'ingest') return ok
    if (p.kind === 'local' || p.kind === 'full-team' || p.kind === 'scoped' || p.kind.endsWith('-team')) {
      return { status: 401, code: 'unauthorized', message: /takes a project ingest token/ }
    }
    return { status: 401, code: 'unauthorized', message: /^Invalid ingest token$/ }
  }
  if (p.kind === 'local' || p.kind === 'full-team') return ok
  if (p.kind === 'ingest' || p.kind === 'unknown-ingest' || p.kind === 'revoked-ingest') {
    return { status: 401, code: 'unauthorized', message: /takes a team API key/ }
  }
  if (p.kind !== 'scoped') return { status: 401, code: 'unauthorized', message: /^Invalid API key$/ }
  if (p.scope !== spec.auth.scope) return { status: 403, code: 'forbidden', message: new RegExp(`lacks the ${spec.auth.scope} scope`) }
  if (p.limit === 'unlimited' || sample.scoping === 'filtered') return ok
  if (sample.scoping === 'team') return { status: 403, code: 'forbidden', message: sample.forbidden ?? /needs an unlimited API key/ }
  return p.limit === 'right' ? ok : { status: 403, code: 'forbidden', message: /not allowed to access this project/ }
}

const TOKEN_PATTERN = /kr_live_[a-z0-9]{32}|krl_live_[a-z0-9]{32}|krx_local_[a-f0-9]+/

describe('auth matrix: every route × every kind of token', () => {
  it('declares every route of the app, with the auth the route itself declares', () => {
    const table = routes()
    const app = Object.fromEntries(t.app.routeTable.map((r) => [`${r.method} ${r.url}`, r.auth]))
    expect(Object.keys(table).filter((k) => !(k in app)), 'in the table but not in the app').toEqual([])
    expect(Object.keys(app).filter((k) => !(k in table)), 'routes missing from the table').toEqual([])
    for (const [key, spec] of Object.entries(table)) expect(app[key], key).toEqual(spec.auth)
  })

  it('answers each (route, token) as the table says, always with the envelope and never a token', async () => {
    const table = routes()
    const cases = await tokenCases()
    const failures: string[] = []
    let checked = 0
    let testSends = 0
    const mailsBefore = smtp.mails.length
    for (const route of t.app.routeTable) {
      const key = `${route.method} ${route.url}`
      const spec = table[key]
      if (!spec) continue // the test above names it
      for (const [i, sample] of spec.samples.entries()) {
        for (const tokenCase of cases) {
          const call = await sample.make()
          const headers: Record<string, string> = { ...tokenCase.headers(call), ...call.headers, ...(call.contentType ? { 'content-type': call.contentType } : {}) }
          const res = await inject(route.method as Method, call.url, headers, call.body, call.remoteAddress)
          const what = `${key}${spec.samples.length > 1 ? ` #${i}` : ''} with ${tokenCase.name}`
          const want = expected(spec, sample, tokenCase.presented, call)
          checked++
          if (key === 'POST /api/v1/logs/alerts/:id/test' && want.status === 200) testSends++
          const presented = headers.authorization?.replace(/^Bearer /, '')
          if (res.statusCode !== want.status) {
            failures.push(`${what}: ${res.statusCode} (want ${want.status}) ${res.body.slice(0, 200)}`)
            continue
          }
          expect(res.headers['x-request-id'], what).toMatch(/^req_/)
          if (presented) expect(res.body, what).not.toContain(presented)
          if (res.statusCode >= 400) {
            const body = res.json()
            expect(body.error.code, what).toBe(want.code)
            expect(body.error.message, what).toMatch(want.message!)
            expect(body.request_id, what).toBe(res.headers['x-request-id'])
            expect(res.body, what).not.toMatch(TOKEN_PATTERN)
            expect(res.body, what).not.toMatch(/at .*\.[jt]s:\d+/)
          } else if (res.statusCode !== 204 && String(res.headers['content-type']).startsWith('application/json') && !route.url.endsWith('/healthz') && !route.url.endsWith('/openapi.json') && !PROTOCOL_ROOTS.some((root) => route.url.startsWith(root))) {
            expect(res.json().request_id, what).toBe(res.headers['x-request-id'])
          }
        }
      }
    }
    expect(failures).toEqual([])
    expect(checked).toBeGreaterThan(500)
    // The successes did the real work: each allowed test notification reached the mail server.
    expect(testSends).toBeGreaterThan(0)
    expect(smtp.mails.length - mailsBefore).toBe(testSends)
  })

  it('answers unknown, revoked and expired team keys with the same body', async () => {
    const cases = (await tokenCases()).filter((c) => ['unknown-team', 'revoked-team', 'expired-team'].includes(c.presented.kind))
    expect(cases).toHaveLength(3)
    const bodies = new Set<string>()
    for (const c of cases) {
      const res = await inject('GET', '/api/v1/keys', c.headers({ url: '' }))
      const { request_id: _id, ...rest } = res.json()
      bodies.add(JSON.stringify(rest))
    }
    expect([...bodies]).toEqual([JSON.stringify({ error: { code: 'unauthorized', message: 'Invalid API key' } })])
  })

  it('answers an unknown route 404 whatever the token', async () => {
    const cases = await tokenCases()
    for (const [method, url] of [
      ['GET', '/api/v1/nope'],
      ['POST', '/api/v1/admin/retention'],
      ['PUT', '/api/v1/keys'],
      ['GET', '/api/v1/logs/projects/a/b'],
    ] as const) {
      for (const c of cases) {
        const res = await inject(method, url, c.headers({ url }))
        expect(res.statusCode, `${method} ${url} with ${c.name}`).toBe(404)
        expect(res.json().error.code).toBe('not_found')
        expect(res.json().request_id).toBe(res.headers['x-request-id'])
      }
    }
  })
})

describe('CORS: only the browser ingest endpoints, only for a token\'s origin', () => {
  const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'))

  it('no other route answers CORS headers, with an allowed Origin and a valid credential, and no route does for a team key', async () => {
    const table = routes()
    const browserToken = (await asAdmin('POST', `/logs/projects/${projectA.id}/tokens`, { name: 'matrix browser', allowed_origins: [BROWSER_ORIGIN] })).token as string
    const failures: string[] = []
    let withCors = 0
    for (const route of t.app.routeTable) {
      const key = `${route.method} ${route.url}`
      const spec = table[key]!
      const browser = BROWSER_INGEST.includes(route.url) && ['POST', 'OPTIONS'].includes(route.method)
      for (const sample of spec.samples) {
        const credentials = spec.auth.kind === 'ingest' ? [browserToken, t.teamKey] : spec.auth.kind === 'team' ? [t.teamKey, t.localToken] : [undefined]
        for (const token of credentials) {
          const call = await sample.make()
          const headers: Record<string, string> = { ...(token ? bearer(token) : {}), ...call.headers, origin: BROWSER_ORIGIN, ...(call.contentType ? { 'content-type': call.contentType } : {}) }
          const res = await inject(route.method as Method, call.url, headers, call.body, call.remoteAddress)
          const what = `${key} with ${token === t.teamKey ? 'a team key' : token === browserToken ? 'the browser token' : token ? 'the local token' : 'no token'}`
          const wantsCors = browser && token !== t.teamKey
          const wantStatus = spec.auth.kind === 'ingest' && token === t.teamKey ? 401 : sample.ok
          if (res.statusCode !== wantStatus) failures.push(`${what}: ${res.statusCode} (want ${wantStatus}) ${res.body.slice(0, 200)}`)
          if (wantsCors) {
            withCors++
            if (res.headers['access-control-allow-origin'] !== BROWSER_ORIGIN) failures.push(`${what}: no Access-Control-Allow-Origin`)
          } else if (corsHeaders(res.headers).length > 0) failures.push(`${what}: answers ${corsHeaders(res.headers).join(', ')}`)
        }
      }
      // A preflight on any other route is an unknown route: 404, without CORS headers.
      if (!BROWSER_INGEST.includes(route.url)) {
        const res = await inject('OPTIONS', route.url.replace(/:\w+/g, '00000000-0000-4000-8000-000000000000'), { origin: BROWSER_ORIGIN, 'access-control-request-method': route.method })
        if (res.statusCode !== 404 || corsHeaders(res.headers).length > 0) failures.push(`OPTIONS ${route.url}: ${res.statusCode} ${corsHeaders(res.headers).join(', ')}`)
      }
    }
    expect(failures).toEqual([])
    expect(withCors).toBe(BROWSER_INGEST.length * 2)
  })
})

describe('admin keys limited to a project act on that project only', () => {
  const count = async (projectId: string) =>
    Number((await t.rows<{ n: string }>(`SELECT count() AS n FROM ${logTable(t.engine)} WHERE project_id = {p:UUID}`, { p: projectId }))[0]!.n)

  it('retention on another project, or on all, is refused and deletes nothing; on its own project it runs', async () => {
    const mine = await t.project({ name: `mine-${unique()}`, retention_days: 1 })
    const theirs = await t.project({ name: `theirs-${unique()}`, retention_days: 1 })
    for (const p of [mine, theirs]) {
      const res = await inject('POST', '/api/v1/logs/ingest/batch', bearer(p.ingest_token), [{ message: 'one' }, { message: 'two' }])
      expect(res.statusCode, res.body).toBe(202)
    }
    t.clock.advance(2 * 86_400_000)
    const limitedAdmin = bearer(t.keyWith([...SCOPES], { projectIds: [mine.id] }))
    const onTheirs = await inject('POST', '/api/v1/admin/retention/run', limitedAdmin, { project_id: theirs.id })
    expect(onTheirs.statusCode, onTheirs.body.slice(0, 300)).toBe(403)
    expect(onTheirs.json().error.message).toContain('not allowed to access this project')
    const onAll = await inject('POST', '/api/v1/admin/retention/run', limitedAdmin, {})
    expect(onAll.statusCode, onAll.body.slice(0, 300)).toBe(403)
    expect(onAll.json().error.message).toContain('unlimited API key')
    expect(await count(theirs.id)).toBe(2)
    expect(await count(mine.id)).toBe(2)

    const onMine = await inject('POST', '/api/v1/admin/retention/run', limitedAdmin, { project_id: mine.id })
    expect(onMine.statusCode, onMine.body).toBe(200)
    expect(onMine.json().data.projects).toEqual([expect.objectContaining({ project_id: mine.id, entries: 2 })])
    expect(await count(mine.id)).toBe(0)
    expect(await count(theirs.id)).toBe(2)
  })

  it('cannot read the audit log, list or make keys, back up, or read the engine status', async () => {
    const limitedAdmin = bearer(t.keyWith([...SCOPES], { projectIds: [projectB.id] }))
    const before = (await inject('GET', '/api/v1/admin/backups', bearer(t.teamKey))).json().data.length
    for (const [method, url, body] of [
      ['GET', '/api/v1/audit-logs'],
      ['GET', '/api/v1/keys'],
      ['POST', '/api/v1/keys', { name: 'mine', scopes: ['logs:read'], project_ids: [projectB.id] }],
      ['POST', '/api/v1/admin/backups', {}],
      ['GET', '/api/v1/admin/backups'],
      ['GET', '/api/v1/admin/status'],
      ['GET', '/api/v1/admin/jobs'],
    ] as const) {
      const res = await inject(method, url, limitedAdmin, body)
      expect(res.statusCode, `${method} ${url}: ${res.body.slice(0, 300)}`).toBe(403)
      expect(res.json().error.message).toBe('This operation covers the whole team: it needs an unlimited API key (one not limited to projects)')
      expect(res.body).not.toContain(projectA.id)
    }
    expect((await inject('GET', '/api/v1/admin/backups', bearer(t.teamKey))).json().data).toHaveLength(before)
  })
})

describe('GET /metrics', () => {
  it('is open to this machine, but not to a client a local reverse proxy forwards', async () => {
    const local = await inject('GET', '/metrics', {})
    expect(local.statusCode).toBe(200)
    expect(local.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(local.body).toContain('# TYPE krafter_ingest_records_rejected_total counter')
    const proxied = await inject('GET', '/metrics', { 'x-forwarded-for': '198.51.100.7' })
    expect(proxied.statusCode).toBe(401)
    expect(proxied.json().error.code).toBe('unauthorized')
    const proxiedWithKey = await inject('GET', '/metrics', { 'x-forwarded-for': '198.51.100.7', ...bearer(t.teamKey) })
    expect(proxiedWithKey.statusCode).toBe(200)
  })
})
