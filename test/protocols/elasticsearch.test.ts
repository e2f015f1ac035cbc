import { Client, errors } from '@elastic/elasticsearch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { storedEntries } from '../helpers/stored.js'
import { bulkBody, ecsDocument, ecsDocuments } from '../helpers/elasticsearch.js'

// The official client, configured as its users do: node URL with the /es path, the project's
// ingest token as an API key (Authorization: ApiKey) or as the Basic password.
let t: TestApp
let base: string
let project: { id: string; name: string; ingest_token: string }

beforeAll(async () => {
  t = await createTestApp()
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address() as { port: number }
  base = `http://127.0.0.1:${address.port}`
  project = await t.project()
})
afterAll(async () => {
  await t?.close()
})

const clientFor = (token: string, options: Partial<ConstructorParameters<typeof Client>[0]> = {}) =>
  new Client({ node: `${base}/es`, auth: { apiKey: token }, ...options })

const stored = (projectId: string, stream?: string) => storedEntries(t, projectId, { stream, newestFirst: true })
const engineTime = (iso: string) => iso.replace('T', ' ').replace('Z', '000')

/** helpers.bulk over documents, with the drops it reported. */
const helperBulk = async (client: Client, documents: Record<string, unknown>[], index: string) => {
  const dropped: { status: number; error: { type: string; reason: string } | null; document: unknown }[] = []
  const stats = await client.helpers.bulk({
    datasource: documents,
    onDocument: () => ({ create: { _index: index } }),
    onDrop: (drop) => void dropped.push({ status: drop.status, error: drop.error as never, document: drop.document }),
  })
  return { stats, dropped }
}

describe('cluster info', () => {
  it('client.info() sees an Elasticsearch 8 cluster, with the API key and with Basic (token as password)', async () => {
    for (const client of [clientFor(project.ingest_token), new Client({ node: `${base}/es`, auth: { username: 'elastic', password: project.ingest_token } })]) {
      const info = await client.info()
      expect(info.version.number).toMatch(/^8\.\d+\.\d+$/)
      expect(info.version.build_flavor).toBe('default')
      expect(info.tagline).toBe('You Know, for Search')
      expect(info.cluster_uuid).toBe(project.id)
      expect(await client.ping()).toBe(true)
      await client.close()
    }
  })

  it('Basic credentials (any user, the token as password) send documents too', async () => {
    const p = await t.project()
    const client = new Client({ node: `${base}/es`, auth: { username: 'elastic', password: p.ingest_token } })
    const { stats } = await helperBulk(client, ecsDocuments(3, t.clock.now()), 'basic')
    expect(stats).toMatchObject({ successful: 3, failed: 0 })
    expect(await stored(p.id, 'basic')).toHaveLength(3)
    await client.close()
  })

  it('marks every answer under /es as Elasticsearch, refusals and unknown paths included', async () => {
    const ok = await fetch(`${base}/es/`, { headers: { authorization: `ApiKey ${project.ingest_token}` } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-elastic-product')).toBe('Elasticsearch')
    const body = await ok.json()
    expect(body).toMatchObject({ name: expect.any(String), cluster_name: expect.any(String), version: { lucene_version: expect.any(String), minimum_wire_compatibility_version: expect.any(String), minimum_index_compatibility_version: expect.any(String) } })
    const head = await fetch(`${base}/es/`, { method: 'HEAD', headers: { authorization: `ApiKey ${project.ingest_token}` } })
    expect(head.status).toBe(200)
    // Some shippers join the base URL without its slash.
    expect((await fetch(`${base}/es`, { headers: { authorization: `ApiKey ${project.ingest_token}` } })).status).toBe(200)
    const noToken = await fetch(`${base}/es/`)
    expect(noToken.status).toBe(401)
    expect(noToken.headers.get('x-elastic-product')).toBe('Elasticsearch')
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    const headNoToken = await fetch(`${base}/es/`, { method: 'HEAD' })
    expect(headNoToken.status).toBe(401)
    const unknown = await fetch(`${base}/es/_nodes/http`, { headers: { authorization: `ApiKey ${project.ingest_token}` } })
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('x-elastic-product')).toBe('Elasticsearch')
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })
})

describe('helpers.bulk with ECS documents', () => {
  it('stores every document: message, level, service, timestamp, ids, the index as stream, the rest as metadata', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const at = t.clock.now()
    const documents = ecsDocuments(40, at)
    const { stats, dropped } = await helperBulk(client, documents, 'app-logs')
    expect(dropped).toEqual([])
    expect(stats).toMatchObject({ total: 40, successful: 40, failed: 0 })
    const rows = await stored(p.id)
    expect(rows).toHaveLength(40)
    for (const i of [0, 1, 6, 39]) {
      const doc = ecsDocument(i, at)
      const row = rows[i]!
      expect(row).toMatchObject({
        message: doc.message,
        level: ['debug', 'info', 'info', 'info', 'warn', 'error'][i % 6],
        service: ['checkout', 'payments', 'search', 'auth'][i % 4],
        stream: 'app-logs',
        ts: engineTime(doc['@timestamp'] as string),
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      })
      // Nested and dotted documents give the same metadata; mapped fields are not repeated.
      expect(row.metadata).toEqual({
        ecs: { version: '8.11.0' },
        log: { logger: expect.stringMatching(/\.http$/), ...(i % 2 === 0 ? { origin: { file: { name: 'server.js', line: 10 + (i % 50) } } } : {}) },
        service: { version: '1.4.2' },
        http: { request: { method: 'GET' }, response: { status_code: 200 + (i % 5) } },
        host: { name: `web-${i % 3}` },
      })
    }
    // The search API sees them as the entries they became.
    const search = await t.app.inject({ url: `/api/v1/logs/search?project_id=${p.id}&stream=app-logs&q=${encodeURIComponent('"/api/items/1 "')}`, headers: bearer(t.teamKey) })
    expect(search.statusCode).toBe(200)
    const [entry] = search.json().data
    expect(entry).toMatchObject({ message: ecsDocument(1, at).message, level: 'info', service: 'payments', stream: 'app-logs', trace_id: ecsDocument(1, at)['trace.id'] })
    expect(entry.metadata).toMatchObject({ http: { response: { status_code: 201 } }, 'ecs': { version: '8.11.0' } })
    const streams = await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/streams`, headers: bearer(t.teamKey) })
    expect(streams.json().data.map((s: { name: string }) => s.name)).toEqual(['app-logs'])
    await client.close()
  })

  it('maps msg, log (as text), event.original, timestamp/time, severity, service and trace_id/span_id spellings', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const at = t.clock.now().getTime()
    const { stats } = await helperBulk(
      client,
      [
        { msg: 'pino line', level: 50, time: at - 1, service: 'api', trace_id: 'abc', span_id: 'def', pid: 7 },
        { log: 'fluent-bit line\n', stream: 'stderr', time: new Date(at - 2).toISOString(), kubernetes: { pod_name: 'web-1' } },
        { log: { level: 'warn', file: { path: '/var/log/x.log' } }, event: { original: 'raw line', dataset: 'x' }, timestamp: at - 3 },
        { message: 'first wins', msg: 'kept in metadata', severity: 'critical', 'log.level': 'debug' },
        { message: 'unknown level', level: 'loud', 'service.name': 'svc', service: { version: '2' } },
      ],
      'mixed',
    )
    expect(stats.failed).toBe(0)
    const rows = await stored(p.id)
    const by = (message: string) => rows.find((r) => r.message === message)!
    expect(by('pino line')).toMatchObject({ level: 'error', service: 'api', trace_id: 'abc', span_id: 'def', ts: engineTime(new Date(at - 1).toISOString()), stream: 'mixed' })
    expect(by('pino line').metadata).toEqual({ pid: 7 })
    // A document's own `stream` field is metadata: the stream is the index.
    expect(by('fluent-bit line\n').metadata).toEqual({ stream: 'stderr', kubernetes: { pod_name: 'web-1' } })
    expect(by('raw line')).toMatchObject({ level: 'warn', ts: engineTime(new Date(at - 3).toISOString()) })
    expect(by('raw line').metadata).toEqual({ log: { file: { path: '/var/log/x.log' } }, event: { dataset: 'x' } })
    expect(by('first wins').level).toBe('debug')
    expect(by('first wins').metadata).toEqual({ msg: 'kept in metadata', severity: 'critical' })
    expect(by('unknown level')).toMatchObject({ level: 'info', service: 'svc' })
    expect(by('unknown level').metadata).toEqual({ service: { version: '2' }, original_level: 'loud' })
    await client.close()
  })

  it('a mixed batch: refused documents reach onDrop with 400 and the field at fault, the others are stored', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const at = t.clock.now()
    const documents = [
      ecsDocument(0, at),
      { ...ecsDocument(1, at), '@timestamp': 'yesterday-ish' },
      ecsDocument(2, at),
      { '@timestamp': at.toISOString(), 'log.level': 'info', note: 'no message at all' },
      { ...ecsDocument(4, at), '@timestamp': '2001-01-01T00:00:00Z' },
      { message: 'both', a: 1, 'a.b': 2 },
      ecsDocument(6, at),
    ]
    const { stats, dropped } = await helperBulk(client, documents, 'mixed')
    expect(stats).toMatchObject({ total: 7, successful: 3, failed: 4 })
    expect(dropped.map((d) => [d.status, d.error?.type])).toEqual(Array(4).fill([400, 'document_parsing_exception']))
    expect(dropped[0]!.error!.reason).toMatch(/^@timestamp must be an existing date/)
    expect(dropped[0]!.document).toEqual(documents[1])
    expect(dropped[1]!.error!.reason).toMatch(/^message is required: send it as message, msg, log/)
    expect(dropped[2]!.error!.reason).toMatch(/^@timestamp must be within the project's retention window/)
    expect(dropped[3]!.error!.reason).toMatch(/^a cannot be both a value and an object/)
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual([0, 2, 6].map((i) => ecsDocument(i, at).message).sort())
    // Counted as refused records, like every other protocol's.
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today).toMatchObject({ entries: 3, rejected: 4 })
    await client.close()
  })
})

describe('client.bulk', () => {
  it('answers each item in order under the action it used, with the _index and the _id given', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const res = await client.bulk({
      operations: [
        { index: { _index: 'orders', _id: 'o-1' } },
        { message: 'first', 'log.level': 'info' },
        { create: { _index: 'orders' } },
        { message: 'second' },
        { index: {} },
        { message: 'third: no index anywhere' },
      ],
    })
    expect(res.errors).toBe(false)
    expect(res.items.map((item) => Object.keys(item)[0])).toEqual(['index', 'create', 'index'])
    expect(res.items[0]!.index).toMatchObject({ _index: 'orders', _id: 'o-1', status: 201, result: 'created', _version: 1 })
    expect(res.items[1]!.create).toMatchObject({ _index: 'orders', _id: expect.stringMatching(/^[A-Za-z0-9_-]{20}$/), status: 201, result: 'created' })
    expect(res.items[2]!.index).toMatchObject({ _index: 'default', status: 201 })
    expect(res.took).toBeGreaterThanOrEqual(0)
    const rows = await stored(p.id)
    expect(rows.map((r) => [r.message, r.stream]).sort()).toEqual([['first', 'orders'], ['second', 'orders'], ['third: no index anywhere', 'default']])
    await client.close()
  })

  it('takes the index of /{index}/_bulk for actions without one, and gzip bodies (compression: true)', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token, { compression: true })
    const res = await client.bulk({ index: 'from-url', operations: [{ create: {} }, { message: 'url index' }, { create: { _index: 'own' } }, { message: 'own index' }] })
    expect(res.errors).toBe(false)
    expect(res.items.map((i) => i.create!._index)).toEqual(['from-url', 'own'])
    expect((await stored(p.id)).map((r) => [r.message, r.stream]).sort()).toEqual([['own index', 'own'], ['url index', 'from-url']])
    await client.close()
  })

  it('refuses delete and update per item without losing the pairing of the items after them', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const res = await client.bulk({
      operations: [
        { index: { _index: 'pairs' } },
        { message: 'before' },
        { delete: { _index: 'pairs', _id: 'x' } },
        { update: { _index: 'pairs', _id: 'y' } },
        { doc: { message: 'an update body, not a document' } },
        { create: { _index: 'pairs' } },
        { message: 'after' },
      ],
    })
    expect(res.errors).toBe(true)
    expect(res.items.map((item) => Object.entries(item).map(([action, r]) => [action, r.status]))).toEqual([[['index', 201]], [['delete', 400]], [['update', 400]], [['create', 201]]])
    expect(res.items[1]!.delete).toMatchObject({ _id: 'x', error: { type: 'illegal_argument_exception', reason: expect.stringMatching(/^action delete is not supported/) } })
    expect(res.items[2]!.update).toMatchObject({ _id: 'y', error: { type: 'illegal_argument_exception', reason: expect.stringMatching(/^action update is not supported/) } })
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual(['after', 'before'])
    await client.close()
  })

  it('writes "errors" just before "items", as Fluent Bit looks for it in a response too big for its buffer', async () => {
    const p = await t.project()
    const res = await fetch(`${base}/es/logs/_bulk`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`fluent:${p.ingest_token}`).toString('base64')}`, 'content-type': 'application/x-ndjson' },
      body: bulkBody(ecsDocuments(2, t.clock.now()), { action: 'index' }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toMatch(/^\{"took":\d+,"errors":false,"items":\[\{"index":\{"_index":"logs",/)
  })

  it('refuses per item a document that is not a JSON object, and keeps the rest', async () => {
    const p = await t.project()
    const res = await fetch(`${base}/es/_bulk`, {
      method: 'POST',
      headers: { authorization: `ApiKey ${p.ingest_token}`, 'content-type': 'application/x-ndjson' },
      body: '{"create":{}}\n{"message": oops}\n{"create":{}}\n[1,2]\n\n{"index":{"_id":7}}\n{"message":"kept"}\n',
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { items: Record<string, { status: number; _id: string; error?: { reason: string } }>[] }
    expect(body.items.map((i) => Object.values(i)[0]!.error?.reason ?? Object.values(i)[0]!.status)).toEqual([
      'document is not valid JSON',
      'document must be a JSON object',
      201,
    ])
    expect(body.items[2]!.index!._id).toBe('7')
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['kept'])
  })

  it('merges dotted and nested spellings of one object, keeps keys like __proto__ as data, and mends lone surrogates', async () => {
    const p = await t.project()
    const lines = [
      { create: {} },
      { message: 'merge', 'a.b': 1, a: { c: 2, 'd.e': 3 }, 'a.d.f': 4 },
      { create: {} },
      { message: 'proto', ['__proto__']: { polluted: true }, 'x.__proto__.y': 1 },
    ].map((l) => JSON.stringify(l))
    const body = `${lines.join('\n')}\n{"create":{}}\n{"message":"lone \\ud800 surrogate"}\n`
    const res = await fetch(`${base}/es/_bulk`, { method: 'POST', headers: { authorization: `ApiKey ${p.ingest_token}`, 'content-type': 'application/json' }, body })
    expect(((await res.json()) as { errors: boolean }).errors).toBe(false)
    const rows = await stored(p.id)
    const meta = (message: string) => rows.find((r) => r.message === message)!.metadata
    expect(meta('merge')).toEqual({ a: { b: 1, c: 2, d: { e: 3, f: 4 } } })
    // (A top-level metadata key `__proto__` is dropped by the shared entry schema, for every protocol.)
    expect(JSON.stringify(meta('proto').x)).toBe('{"__proto__":{"y":1}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(rows.map((r) => r.message)).toContain('lone \ufffd surrogate')
  })

  it('refuses a document line that is not UTF-8 for that item only; an action line that is not is a 400', async () => {
    const p = await t.project()
    const send = (body: Buffer) =>
      fetch(`${base}/es/_bulk`, { method: 'POST', headers: { authorization: `ApiKey ${p.ingest_token}`, 'content-type': 'application/x-ndjson' }, body })
    const bad = Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0x22, 0x7d])
    const res = await send(Buffer.concat([Buffer.from('{"create":{}}\n'), bad, Buffer.from('\n{"create":{}}\n{"message":"fine"}\n')]))
    const body = (await res.json()) as { items: { create: { status: number; error?: { type: string; reason: string } } }[] }
    expect(body.items.map((i) => i.create.status)).toEqual([400, 201])
    expect(body.items[0]!.create.error).toEqual({ type: 'document_parsing_exception', reason: 'document is not valid UTF-8' })
    expect((await send(Buffer.concat([bad, Buffer.from('\n{"message":"x"}\n')]))).status).toBe(400)
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['fine'])
  })

  it('refuses a document nesting deeper than the metadata limit per item, however deep (never a 500)', async () => {
    const p = await t.project()
    const depth = 100_000
    const deep = (key: string) => `{"message":"deep","${key}":${`{"${key}":`.repeat(depth)}1${'}'.repeat(depth)}}`
    const levels = (n: number, message: string) => JSON.stringify({ message, a: JSON.parse(`${'{"a":'.repeat(n - 1)}1${'}'.repeat(n - 1)}`) })
    const res = await fetch(`${base}/es/_bulk`, {
      method: 'POST',
      headers: { authorization: `ApiKey ${p.ingest_token}`, 'content-type': 'application/x-ndjson' },
      body: ['{"create":{}}', deep('a'), '{"create":{}}', deep('a.b'), '{"create":{}}', levels(16, 'sixteen levels'), '{"create":{}}', levels(17, 'seventeen')].join('\n'),
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { items: { create: { status: number; error?: { reason: string } } }[] }
    expect(body.items.map((i) => i.create.error?.reason ?? i.create.status)).toEqual(['metadata must not nest deeper than 16 levels', 'metadata must not nest deeper than 16 levels', 201, 'metadata must not nest deeper than 16 levels'])
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['sixteen levels'])
  })

  it('refuses a body that is not bulk NDJSON with 400, storing nothing', async () => {
    const p = await t.project()
    const client = clientFor(p.ingest_token)
    const cases: [string, string][] = [
      ['this is not json\n', 'line 1'],
      ['{"message":"a document without its action"}\n', 'line 1'],
      ['{"create":{}}\n{"message":"ok"}\n\n{"create":{}}\n', 'line 4'],
      ['{"upsert":{}}\n{"message":"x"}\n', 'line 1'],
    ]
    for (const [garbage, field] of cases) {
      const error = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: garbage }).catch((e: unknown) => e)
      expect(error, garbage).toBeInstanceOf(errors.ResponseError)
      expect((error as errors.ResponseError).statusCode).toBe(400)
      expect((error as errors.ResponseError).body).toMatchObject({ error: { code: 'validation_error', details: [{ field }] } })
    }
    expect(await stored(p.id)).toEqual([])
    await client.close()
  })

  it('a team key is refused with 401, and the client surfaces it', async () => {
    const client = clientFor(t.teamKey)
    const error = await client.bulk({ operations: [{ create: { _index: 'x' } }, { message: 'not sent' }] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(errors.ResponseError)
    expect((error as errors.ResponseError).statusCode).toBe(401)
    expect((error as errors.ResponseError).message).toMatch(/ingest token/)
    const info = await client.info().catch((e: unknown) => e)
    expect((info as errors.ResponseError).statusCode).toBe(401)
    await client.close()
  })
})

describe('what shippers call before sending', () => {
  it('license, cluster health and cat health answer as Elasticsearch does', async () => {
    const client = clientFor(project.ingest_token)
    const { license } = await client.license.get()
    expect(license).toMatchObject({ status: 'active', type: 'basic', uid: project.id })
    const health = await client.cluster.health()
    expect(health).toMatchObject({ status: 'green', number_of_nodes: 1, timed_out: false })
    const text = await client.cat.health()
    expect(text).toMatch(/^\d+ \d\d:\d\d:\d\d krafter-logs green 1 1 /)
    expect(await client.cat.health({ v: true })).toMatch(/^epoch timestamp cluster status/)
    const json = await client.cat.health({ format: 'json' })
    expect(json).toEqual([expect.objectContaining({ cluster: 'krafter-logs', status: 'green' })])
    await client.close()
  })

  it('finds no template, policy or data stream, and acknowledges creating them (gzip or not)', async () => {
    for (const compression of [false, true]) {
      const client = clientFor(project.ingest_token, { compression })
      expect(await client.indices.existsIndexTemplate({ name: 'filebeat-8.19.0' })).toBe(false)
      expect(await client.indices.putIndexTemplate({ name: 'filebeat-8.19.0', index_patterns: ['filebeat-8.19.0'], data_stream: {}, template: { mappings: { properties: { message: { type: 'text' } } } } })).toEqual({ acknowledged: true })
      const policy = await client.ilm.getLifecycle({ name: 'filebeat' }).catch((e: unknown) => e)
      expect((policy as errors.ResponseError).statusCode).toBe(404)
      expect(await client.ilm.putLifecycle({ name: 'filebeat', policy: { phases: { hot: { actions: {} } } } })).toEqual({ acknowledged: true })
      const stream = await client.indices.getDataStream({ name: 'filebeat-8.19.0' }).catch((e: unknown) => e)
      expect((stream as errors.ResponseError).statusCode).toBe(404)
      expect(await client.indices.createDataStream({ name: 'filebeat-8.19.0' })).toEqual({ acknowledged: true })
      await client.close()
    }
  })

  it('takes the ingest token for those calls too', async () => {
    const res = await fetch(`${base}/es/_license`, { headers: bearer(t.teamKey) })
    expect(res.status).toBe(401)
    const put = await fetch(`${base}/es/_index_template/x`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(put.status).toBe(401)
  })
})
