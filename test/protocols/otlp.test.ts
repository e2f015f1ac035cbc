import { gzipSync } from 'node:zlib'
import { context, diag, DiagLogLevel, trace, TraceFlags, type Context } from '@opentelemetry/api'
import { SeverityNumber, type LogRecord } from '@opentelemetry/api-logs'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http'
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchLogRecordProcessor, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs'
import { MAX_PROTOCOL_RECORDS } from '../../src/ingest/pipeline.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'
import { storedEntries, type StoredEntry } from '../helpers/stored.js'
import { anyValue, attributes, decodeOtlpProtobufResponse, encodeOtlpJson, encodeOtlpProtobuf, nanos, type OtlpLogRecord, type OtlpRequest } from '../helpers/otlp.js'

// OTLP/HTTP logs (API.md "Standard ingest protocols") through the real OTel JS SDK and its two
// exporters, over real HTTP, into the real engine; and by hand for what the SDK never sends.
let t: TestApp
let base: string

beforeAll(async () => {
  t = await createTestApp()
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  base = `http://127.0.0.1:${address.port}`
})
afterAll(async () => {
  await t?.close()
})

type Row = StoredEntry
const stored = (projectId: string) => storedEntries(t, projectId)

/** An exporter that hands every batch to `inner` and keeps the result the SDK got. */
class Recording implements LogRecordExporter {
  readonly results: ExportResult[] = []
  constructor(private readonly inner: LogRecordExporter) {}
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.inner.export(logs, (result) => {
      this.results.push(result)
      done(result)
    })
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush()
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN_ID = '00f067aa0ba902b7'
const traced = (): Context => trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED })

/**
 * The last seconds of the app's clock (the one search's default range ends at), with
 * nanoseconds below the microsecond, as an hrtime and its stored text.
 */
const recentTime = (offsetMs: number, extraNs: number): { hr: [number, number]; stored: string } => {
  const ms = t.clock.now().getTime() - offsetMs
  const seconds = Math.floor(ms / 1000)
  const ns = (ms % 1000) * 1_000_000 + extraNs
  // The engine keeps microseconds, rounded to the nearest.
  const us = seconds * 1_000_000 + Math.round(ns / 1000)
  const iso = new Date(Math.floor(us / 1000)).toISOString()
  return { hr: [seconds, ns], stored: `${iso.slice(0, 19).replace('T', ' ')}.${String(us % 1_000_000).padStart(6, '0')}` }
}

/** Emits through a LoggerProvider with `exporter`, flushes, and gives what the exporter reported. */
const emitThrough = async (exporter: LogRecordExporter, records: LogRecord[], options: { batch?: boolean; scope?: string } = {}) => {
  const recording = new Recording(exporter)
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.3.4', 'deployment.environment.name': 'test' }),
    processors: [options.batch ? new BatchLogRecordProcessor({ exporter: recording }) : new SimpleLogRecordProcessor({ exporter: recording })],
  })
  const logger = provider.getLogger(options.scope ?? 'checkout-http', '1.7.0')
  for (const record of records) logger.emit(record)
  await provider.forceFlush()
  await provider.shutdown()
  return recording.results
}

const sdkRecords = (times: ReturnType<typeof recentTime>[]): LogRecord[] => [
  {
    timestamp: times[0]!.hr,
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: 'payment declined',
    attributes: { 'http.status_code': 402, 'http.route': '/pay', 'user.id': 'u-17', 'retry.delay_s': 1.5, stream: 'payments' },
    context: traced(),
  },
  {
    timestamp: times[1]!.hr,
    severityNumber: SeverityNumber.ERROR2,
    body: { order: { id: 42, items: ['a', 'b'] }, ok: false },
    attributes: { 'exception.type': 'CardError' },
  },
]

const expectSdkRows = (rows: Row[], times: ReturnType<typeof recentTime>[]) => {
  expect(rows).toHaveLength(2)
  const [warn, error] = rows
  expect(warn).toMatchObject({ message: 'payment declined', level: 'warn', service: 'checkout', stream: 'payments', ts: times[0]!.stored, trace_id: TRACE_ID, span_id: SPAN_ID })
  expect(warn!.metadata).toEqual({
    http: { status_code: 402, route: '/pay' },
    user: { id: 'u-17' },
    retry: { delay_s: 1.5 },
    resource: { service: { version: '2.3.4' }, deployment: { environment: { name: 'test' } } },
    scope: { name: 'checkout-http', version: '1.7.0' },
  })
  // No stream attribute: the scope's name. A non-string body: the JSON text of its value.
  expect(error).toMatchObject({ level: 'error', service: 'checkout', stream: 'checkout-http', ts: times[1]!.stored, trace_id: '', span_id: '' })
  expect(JSON.parse(error!.message)).toEqual({ order: { id: 42, items: ['a', 'b'] }, ok: false })
  expect(error!.metadata.exception).toEqual({ type: 'CardError' })
}

describe('the OTel JS SDK exporters', () => {
  it('protobuf (exporter-logs-otlp-proto): SUCCESS, and every field is where API.md says', async () => {
    const p = await t.project()
    const times = [recentTime(2000, 123_456_789 % 1_000_000), recentTime(1000, 499)]
    const exporter = new ProtoExporter({ url: `${base}/v1/logs`, headers: { authorization: `Bearer ${p.ingest_token}` } })
    const results = await emitThrough(exporter, sdkRecords(times), { batch: true })
    expect(results.map((r) => r.code)).toEqual([ExportResultCode.SUCCESS])
    expectSdkRows(await stored(p.id), times)
  })

  it('JSON (exporter-logs-otlp-http) with gzip, at /otlp/v1/logs: the same entries', async () => {
    const p = await t.project()
    const times = [recentTime(2000, 777), recentTime(1000, 999_999)]
    const exporter = new JsonExporter({ url: `${base}/otlp/v1/logs`, headers: { 'x-api-key': p.ingest_token }, compression: CompressionAlgorithm.GZIP })
    const results = await emitThrough(exporter, sdkRecords(times))
    expect(results.map((r) => r.code)).toEqual([ExportResultCode.SUCCESS, ExportResultCode.SUCCESS])
    expectSdkRows(await stored(p.id), times)
  })

  it('the search API finds them by metadata path, service, level and trace id', async () => {
    const p = await t.project()
    const times = [recentTime(2000, 0), recentTime(1000, 0)]
    const exporter = new ProtoExporter({ url: `${base}/v1/logs`, headers: { authorization: `Bearer ${p.ingest_token}` }, compression: CompressionAlgorithm.GZIP })
    expect((await emitThrough(exporter, sdkRecords(times), { batch: true })).map((r) => r.code)).toEqual([ExportResultCode.SUCCESS])
    const search = async (q: string) => {
      const res = await t.app.inject({ url: `/api/v1/logs/search?${new URLSearchParams({ project_id: p.id, q })}`, headers: bearer(t.teamKey) })
      expect(res.statusCode, res.body).toBe(200)
      return res.json().data as { message: string; metadata: Record<string, any> }[]
    }
    const found = await search('metadata.http.status_code:>=400 service:checkout level:warn')
    expect(found.map((e) => e.message)).toEqual(['payment declined'])
    expect(found[0]!.metadata.scope).toEqual({ name: 'checkout-http', version: '1.7.0' })
    expect((await search(`trace_id:${TRACE_ID}`)).map((e) => e.message)).toEqual(['payment declined'])
    expect((await search('metadata.resource.deployment.environment.name:test')).length).toBe(2)
  })

  it('a refused record is a partial success the SDK reports (diag warn); the others are stored', async () => {
    const p = await t.project()
    const warnings: string[] = []
    diag.setLogger({ error: () => {}, warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')), info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN)
    try {
      const exporter = new ProtoExporter({ url: `${base}/v1/logs`, headers: { authorization: `Bearer ${p.ingest_token}` } })
      const results = await emitThrough(exporter, [{ body: 'kept' }, { body: '' }, { body: 'kept too' }], { batch: true })
      expect(results.map((r) => r.code)).toEqual([ExportResultCode.SUCCESS])
    } finally {
      diag.disable()
    }
    const partial = warnings.find((w) => w.includes('Partial Success'))
    expect(partial).toContain('"rejectedLogRecords"')
    expect(partial).toContain('resource_logs[0].scope_logs[0].log_records[1]: message must be 1 byte to 256 KiB')
    expect((await stored(p.id)).map((r) => r.message).sort()).toEqual(['kept', 'kept too'])
  })
})

// -------------------------------------------------------------------------------------------
// By hand: the answers, the errors, the encodings' corners.

const post = (body: string | Uint8Array, headers: Record<string, string>, path = '/v1/logs') =>
  fetch(`${base}${path}`, { method: 'POST', body, headers })

const request = (records: OtlpLogRecord[], resource: Record<string, unknown> = { 'service.name': 'hand' }, scope: { name?: string; version?: string } = {}): OtlpRequest => ({
  resourceLogs: [{ resource: { attributes: attributes(resource) }, scopeLogs: [{ scope, logRecords: records }] }],
})

const now = () => nanos(Date.now())

describe('partial success', () => {
  const mixed = (): OtlpRequest =>
    request([
      { timeUnixNano: now(), body: { stringValue: 'good 1' } },
      { timeUnixNano: now(), body: { stringValue: '' } },
      { timeUnixNano: nanos(Date.now() - 30 * 86_400_000), body: { stringValue: 'thirty days old' } },
      { timeUnixNano: now(), body: { stringValue: 'good 2' } },
    ])

  it('protobuf: 200 with partial_success counting and naming the refused records; the good ones are stored and counted', async () => {
    const p = await t.project()
    const res = await post(encodeOtlpProtobuf(mixed()), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-protobuf')
    const answer = decodeOtlpProtobufResponse(new Uint8Array(await res.arrayBuffer()))
    expect(answer.partialSuccess?.rejectedLogRecords).toBe('2')
    const message = answer.partialSuccess!.errorMessage
    expect(message).toMatch(/^2 of 4 log records refused: /)
    expect(message).toContain('resource_logs[0].scope_logs[0].log_records[1]: message must be 1 byte to 256 KiB')
    expect(message).toMatch(/resource_logs\[0\]\.scope_logs\[0\]\.log_records\[2\]: timestamp must be within the project's retention window/)
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['good 1', 'good 2'])
    const usage = (await t.app.inject({ url: `/api/v1/logs/projects/${p.id}/usage`, headers: bearer(t.teamKey) })).json().data
    expect(usage.today).toMatchObject({ entries: 2, rejected: 2 })
    // And in the metrics, under the otlp protocol.
    const metrics = (await t.app.inject({ url: '/metrics' })).body
    const counter = (series: string) => Number(metrics.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? 0)
    expect(counter('krafter_ingest_requests_total{protocol="otlp",status="200"}')).toBeGreaterThanOrEqual(1)
    expect(counter('krafter_ingest_records_rejected_total{protocol="otlp",reason="invalid"}')).toBeGreaterThanOrEqual(2)
  })

  it('JSON: the same, as OTLP JSON', async () => {
    const p = await t.project()
    const res = await post(encodeOtlpJson(mixed()), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } }
    expect(answer.partialSuccess.rejectedLogRecords).toBe('2')
    expect(answer.partialSuccess.errorMessage).toContain('resourceLogs[0].scopeLogs[0].logRecords[1]: message must be 1 byte to 256 KiB')
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['good 1', 'good 2'])
  })

  it('everything accepted: an empty ExportLogsServiceResponse (no partial_success), in each encoding', async () => {
    const p = await t.project()
    const ok = request([{ body: { stringValue: 'fine' } }])
    const pb = await post(encodeOtlpProtobuf(ok), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' })
    expect(pb.status).toBe(200)
    expect((await pb.arrayBuffer()).byteLength).toBe(0)
    const json = await post(encodeOtlpJson(ok), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json' })
    expect(await json.json()).toEqual({})
  })

  it('a record malformed in OTLP JSON is refused alone, naming where', async () => {
    const p = await t.project()
    const body = JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { body: { stringValue: 'fine' } },
                { body: { stringValue: 'bad id' }, traceId: 'not hex at all' },
                { body: { intValue: 'twelve' } },
                { body: { stringValue: 'bad time' }, timeUnixNano: '17e17' },
              ],
            },
          ],
        },
      ],
    })
    const res = await post(body, { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json' })
    expect(res.status).toBe(200)
    const { partialSuccess } = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } }
    expect(partialSuccess.rejectedLogRecords).toBe('3')
    expect(partialSuccess.errorMessage).toContain('logRecords[1]: trace_id resourceLogs[0].scopeLogs[0].logRecords[1].traceId must be hex')
    expect(partialSuccess.errorMessage).toContain('logRecords[2]: message resourceLogs[0].scopeLogs[0].logRecords[2].body.intValue must be an integer')
    expect(partialSuccess.errorMessage).toContain('logRecords[3]: timestamp')
    expect((await stored(p.id)).map((r) => r.message)).toEqual(['fine'])
  })
})

describe('errors', () => {
  const expectEnvelope = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status)
    const body = (await res.json()) as { error: { code: string; message: string; details?: { field: string; message: string }[] }; request_id: string }
    expect(body.error.code).toBe(code)
    expect(body.request_id).toMatch(/^req_/)
    expect(res.headers.get('x-request-id')).toBe(body.request_id)
    return body.error
  }

  it('an undecodable protobuf body is a 400 envelope naming the body; nothing is stored', async () => {
    const p = await t.project()
    const good = encodeOtlpProtobuf(request([{ body: { stringValue: 'never stored' } }]))
    for (const body of [good.subarray(0, good.length - 3), Buffer.from('{"resourceLogs": []}'), Buffer.from([0xff, 0xff, 0xff])]) {
      const error = await expectEnvelope(await post(body, { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' }), 400, 'validation_error')
      expect(error.details?.[0]?.field).toBe('body')
      expect(error.details?.[0]?.message).toMatch(/^is not a protobuf ExportLogsServiceRequest/)
    }
    expect(await stored(p.id)).toEqual([])
  })

  it('bad JSON, and JSON that is no ExportLogsServiceRequest, are 400s naming where', async () => {
    const p = await t.project()
    const headers = { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json' }
    expect((await expectEnvelope(await post('{"resourceLogs": [', headers), 400, 'validation_error')).details).toEqual([{ field: 'body', message: 'is not valid JSON' }])
    expect((await expectEnvelope(await post('[]', headers), 400, 'validation_error')).details?.[0]?.field).toBe('body')
    const shape = await expectEnvelope(await post('{"resourceLogs": [{"scopeLogs": {"logRecords": []}}]}', headers), 400, 'validation_error')
    expect(shape.details).toEqual([{ field: 'body', message: 'resourceLogs[0].scopeLogs must be an array' }])
    // Not valid gzip under Content-Encoding: gzip.
    await expectEnvelope(await post('plain', { ...headers, 'content-encoding': 'gzip' }), 400, 'validation_error')
  })

  it('another Content-Type is 415 saying what OTLP takes', async () => {
    const p = await t.project()
    const body = encodeOtlpJson(request([{ body: { stringValue: 'x' } }]))
    const error = await expectEnvelope(await post(body, { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'text/plain' }), 415, 'unsupported_media_type')
    expect(error.message).toContain('application/x-protobuf or application/json')
    await expectEnvelope(await post(body, { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-ndjson' }, '/otlp/v1/logs'), 415, 'unsupported_media_type')
    // A byte body with no Content-Type at all.
    await expectEnvelope(await post(new TextEncoder().encode(body), { authorization: `Bearer ${p.ingest_token}` }), 415, 'unsupported_media_type')
  })

  it('hostile bodies, in either encoding, never get a 5xx: a 400 envelope or a 200 with what could be read', async () => {
    const p = await t.project()
    const auth = { authorization: `Bearer ${p.ingest_token}` }
    const good = encodeOtlpProtobuf(request([{ timeUnixNano: now(), body: { stringValue: 'seed' }, attributes: attributes({ 'a.b': 1, c: ['x'] }), traceId: TRACE_ID }]))
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const protobufs: Uint8Array[] = [
      ...Array.from({ length: 40 }, () => Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256))),
      ...Array.from({ length: 40 }, () => {
        const copy = Buffer.from(good)
        copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256)
        return copy
      }),
      // A string that is not UTF-8 (proto3 strings must be).
      Buffer.from(Buffer.from(good).toString('latin1').replace('seed', '\xff\xfe\xed\xa0'), 'latin1'),
    ]
    const deep = (n: number) => '{"arrayValue":{"values":['.repeat(n) + '{"stringValue":"x"}' + ']}}'.repeat(n)
    const jsons: string[] = [
      'null', '1', '"x"', '{"resourceLogs": 1}', '{"resourceLogs": [1]}', '{"resourceLogs": [{"resource": 1}]}',
      '{"resourceLogs": [{"resource": {"attributes": {}}}]}', '{"resourceLogs": [{"resource": {"attributes": [{"key": 1}]}}]}',
      '{"resourceLogs": [{"scopeLogs": [{"scope": "x"}]}]}', '{"resourceLogs": [{"scopeLogs": [{"scope": {"name": 5}}]}]}',
      ...[
        '1', 'null', '{"attributes": [1]}', '{"attributes": [{"key": 1}]}', '{"attributes": [{"key": "k", "value": 3}]}', '{"body": {"kvlistValue": {"values": [1]}}}',
        '{"body": {"kvlistValue": 3}}', '{"body": {"arrayValue": {"values": {}}}}', '{"severityNumber": 1.5}', '{"severityNumber": "LOUD"}', '{"severityText": 3}',
        '{"timeUnixNano": -1}', '{"timeUnixNano": "99999999999999999999999"}', '{"timeUnixNano": "1e18"}', '{"traceId": 5}', '{"spanId": "zz"}',
        '{"body": {"intValue": "99999999999999999999"}}', '{"body": {"doubleValue": "x"}}', '{"body": {"bytesValue": "%%%"}}', '{"body": {"stringValue": "\\ud800 lone"}}',
        `{"body": ${deep(200)}}`, `{"body": {"stringValue": "deep key"}, "attributes": [{"key": "${'x.'.repeat(5000)}y", "value": {"intValue": 1}}]}`,
        `{"body": {"stringValue": "copies"}, "attributes": [${Array(20_000).fill('{"key": "k", "value": {"boolValue": true}}').join(',')}]}`, `{"body": {"stringValue": "deep attrs"}, "attributes": [{"key": "d", "value": ${deep(30)}}]}`,
      ].map((record) => `{"resourceLogs": [{"scopeLogs": [{"logRecords": [${record}]}]}]}`),
    ]
    const answers = [
      ...protobufs.map(async (body) => [body.length, await post(body, { ...auth, 'content-type': 'application/x-protobuf' })] as const),
      ...jsons.map(async (body) => [body.slice(0, 120), await post(body, { ...auth, 'content-type': 'application/json' })] as const),
    ]
    const statuses = new Set<number>()
    for (const [what, res] of await Promise.all(answers)) {
      const text = await res.text()
      statuses.add(res.status)
      expect(res.status, `${what}: ${text.slice(0, 200)}`).toBeLessThan(500)
      expect(text).not.toMatch(/at .*\.[jt]s:\d+/)
      if (res.status >= 400) expect(JSON.parse(text).request_id).toBe(res.headers.get('x-request-id'))
    }
    expect([...statuses].sort()).toEqual([200, 400])
  })

  it('more records than a batch takes is 413; nothing is stored', async () => {
    const p = await t.project()
    const records = Array.from({ length: MAX_PROTOCOL_RECORDS + 1 }, (_, i) => ({ body: { stringValue: `r${i}` } }))
    await expectEnvelope(await post(encodeOtlpProtobuf(request(records)), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' }), 413, 'payload_too_large')
    expect(await stored(p.id)).toEqual([])
  })

  it('an empty export (no records) is a valid request: 200, nothing stored', async () => {
    const p = await t.project()
    const pb = await post(new Uint8Array(0), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' })
    expect(pb.status).toBe(200)
    const json = await post('{"resourceLogs": []}', { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json' })
    expect(json.status).toBe(200)
    expect(await json.json()).toEqual({})
  })
})

describe('authentication', () => {
  const body = () => encodeOtlpProtobuf(request([{ body: { stringValue: 'auth check' } }]))
  const pb = { 'content-type': 'application/x-protobuf' }

  it('takes the ingest token as Bearer, Basic (as the password), X-API-KEY, ApiKey and ?api_key=', async () => {
    const p = await t.project()
    const basic = `Basic ${Buffer.from(`otel:${p.ingest_token}`).toString('base64')}`
    expect((await post(body(), { ...pb, authorization: basic })).status).toBe(200)
    expect((await post(body(), { ...pb, 'x-api-key': p.ingest_token })).status).toBe(200)
    expect((await post(body(), { ...pb, authorization: `ApiKey ${p.ingest_token}` }, '/otlp/v1/logs')).status).toBe(200)
    expect((await post(body(), pb, `/v1/logs?api_key=${p.ingest_token}`)).status).toBe(200)
    expect(await stored(p.id)).toHaveLength(4)
  })

  it('a team key, a missing token and an unknown one are 401', async () => {
    const cases: Record<string, string>[] = [{ authorization: `Bearer ${t.teamKey}` }, {}, { 'x-api-key': `krl_live_${'0'.repeat(32)}` }]
    for (const headers of cases) {
      const res = await post(body(), { ...pb, ...headers })
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    }
  })
})

describe('mapping (API.md "Mapping to a log entry")', () => {
  const send = async (records: OtlpLogRecord[], resource?: Record<string, unknown>, scope?: { name?: string; version?: string }) => {
    const p = await t.project()
    const res = await post(encodeOtlpProtobuf(request(records, resource, scope)), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' })
    expect(res.status).toBe(200)
    expect((await res.arrayBuffer()).byteLength).toBe(0)
    return stored(p.id)
  }

  it('levels: severity_number ranges, else severity_text by the level rules', async () => {
    const base = Date.now() - 60_000
    const cases: [number, string, string][] = [
      [1, '', 'debug'],
      [8, '', 'debug'],
      [9, '', 'info'],
      [12, '', 'info'],
      [13, '', 'warn'],
      [16, '', 'warn'],
      [17, '', 'error'],
      [20, '', 'error'],
      [21, '', 'fatal'],
      [24, '', 'fatal'],
      [0, 'Warning', 'warn'],
      [0, 'CRITICAL', 'fatal'],
      [0, 'loud', 'info'],
      [0, '', 'info'],
      [99, '', 'info'],
    ]
    const rows = await send(cases.map(([severityNumber, severityText], i) => ({ timeUnixNano: nanos(base + i), severityNumber, severityText, body: { stringValue: `case ${i}` } })))
    expect(rows.map((r) => r.level)).toEqual(cases.map(([, , level]) => level))
    expect(rows[12]!.metadata).toMatchObject({ original_level: 'loud' })
    expect(rows[14]!.metadata).toMatchObject({ severity_number: 99 })
  })

  it('timestamps: time_unix_nano to the microsecond, else observed_time_unix_nano, else receipt', async () => {
    const ms = Date.now() - 5000
    const iso = (at: number) => new Date(at).toISOString().replace('T', ' ').replace('Z', '')
    const rows = await send([
      { timeUnixNano: nanos(ms, 123_499), observedTimeUnixNano: nanos(ms + 1000), body: { stringValue: 'a' } },
      { timeUnixNano: '0', observedTimeUnixNano: nanos(ms + 1, 500), body: { stringValue: 'b' } },
      { body: { stringValue: 'c' } },
    ])
    const byMessage = Object.fromEntries(rows.map((r) => [r.message, r.ts]))
    expect(byMessage.a).toBe(`${iso(ms)}123`)
    expect(byMessage.b).toBe(`${iso(ms + 1)}001`)
    expect(byMessage.c).toBe(`${iso(t.clock.now().getTime())}000`)
  })

  it('body values: kvlist → object, array, bytes → base64, int64 beyond 2^53 → text, double, bool', async () => {
    const rows = await send([
      { body: { kvlistValue: { values: attributes({ a: 1, nested: { 'b.c': true } }) } } },
      { body: { arrayValue: { values: [anyValue('x'), anyValue(2.5), { intValue: '9007199254740993' }] } } },
      { body: { bytesValue: Buffer.from([1, 2, 3]).toString('base64') } },
      { body: { intValue: '-42' } },
      { body: { intValue: '-9223372036854775808' } },
      { body: { doubleValue: 0.25 } },
      { body: { boolValue: false } },
    ])
    expect(rows.map((r) => r.message).sort()).toEqual(['"AQID"', '-42', '-9223372036854775808', '0.25', '["x",2.5,"9007199254740993"]', 'false', '{"a":1,"nested":{"b.c":true}}'].sort())
  })

  it('attributes: dotted keys as paths, the same name as a value and as a path keeps both, stream taken out', async () => {
    const [row] = await send([
      {
        body: { stringValue: 'attrs' },
        attributes: attributes({
          a: 1,
          'a.b': 2,
          'http.request.header.x': ['v1', 'v2'],
          big: 2n ** 60n,
          'db.rows': 12,
          db: { system: 'postgresql' },
          stream: 'audit',
        }),
        eventName: 'user.login',
      },
    ])
    expect(row!.stream).toBe('audit')
    expect(row!.metadata).toEqual({
      a: { _value: 1, b: 2 },
      http: { request: { header: { x: ['v1', 'v2'] } } },
      big: String(2n ** 60n),
      db: { rows: 12, system: 'postgresql' },
      event_name: 'user.login',
    })
  })

  it('resource and scope: service.name → service, the rest → metadata.resource, scope → metadata.scope and stream', async () => {
    const [row] = await send([{ body: { stringValue: 'r' }, traceId: 'ABCDEF0123456789ABCDEF0123456789', spanId: '0123456789ABCDEF' }], { 'service.name': 'billing', 'host.name': 'h1', 'k8s.pod.name': 'p-1' }, { name: 'io.opentelemetry.billing', version: '3' })
    expect(row).toMatchObject({ service: 'billing', stream: 'io.opentelemetry.billing', trace_id: 'abcdef0123456789abcdef0123456789', span_id: '0123456789abcdef' })
    expect(row!.metadata).toEqual({ resource: { host: { name: 'h1' }, k8s: { pod: { name: 'p-1' } } }, scope: { name: 'io.opentelemetry.billing', version: '3' } })
  })

  it('JSON escapes of lone surrogates are mended (U+FFFD); a value nested past 64 levels refuses its record; non-UTF-8 protobuf strings refuse the request', async () => {
    const p = await t.project()
    const deep = (n: number) => '{"arrayValue":{"values":['.repeat(n) + '{"stringValue":"x"}' + ']}}'.repeat(n)
    const body = `{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "lone \\ud800 surrogate"}, "attributes": [{"key": "k\\udc00", "value": {"stringValue": "v"}}]}, {"body": ${deep(65)}}]}]}]}`
    const res = await post(body, { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json' })
    expect(res.status).toBe(200)
    const { partialSuccess } = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } }
    expect(partialSuccess.rejectedLogRecords).toBe('1')
    expect(partialSuccess.errorMessage).toMatch(/logRecords\[1\]: message .*nests deeper than 64 levels/)
    const [row] = await stored(p.id)
    expect(row!.message).toBe('lone \ufffd surrogate')
    expect(row!.metadata).toEqual({ 'k\ufffd': 'v' })

    const good = encodeOtlpProtobuf(request([{ body: { stringValue: 'seed' } }]))
    const latin1 = Buffer.from(Buffer.from(good).toString('latin1').replace('seed', '\xff\xfe\xed\xa0'), 'latin1')
    const refused = await post(latin1, { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/x-protobuf' })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/not a protobuf ExportLogsServiceRequest.*utf-8/i)
  })

  it('OTLP JSON: proto field names, numbers for int64, enum names and gzip are taken too', async () => {
    const p = await t.project()
    const ms = Date.now() - 3000
    const body = JSON.stringify({
      resource_logs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'snake' } }] },
          scope_logs: [
            {
              log_records: [
                {
                  time_unix_nano: ms * 1_000_000,
                  severity_number: 'SEVERITY_NUMBER_ERROR',
                  body: { string_value: 'snake case' },
                  attributes: [{ key: 'n', value: { int_value: 7 } }],
                  trace_id: TRACE_ID,
                  span_id: SPAN_ID,
                },
              ],
            },
          ],
        },
      ],
    })
    const res = await post(gzipSync(body), { authorization: `Bearer ${p.ingest_token}`, 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    const [row] = await stored(p.id)
    expect(row).toMatchObject({ message: 'snake case', level: 'error', service: 'snake', trace_id: TRACE_ID, span_id: SPAN_ID, ts: `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}000` })
    expect(row!.metadata).toEqual({ n: 7 })
  })
})
