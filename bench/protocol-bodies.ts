/**
 * The bench data set (API.md entries, bench/data.ts) as each standard protocol's clients
 * would send it, 1,000 records per request, so every phase stores the same entries:
 * - OTLP protobuf: what the OTel SDK's HTTP/protobuf exporter sends (one resource per service,
 *   with the SDK's own resource attributes and a scope), and the same data alone (the resource
 *   only service.name, no scope), whose stored rows are exactly the NDJSON phase's.
 * - Loki push: protobuf PushRequest, snappy, as Promtail/Alloy send it; labels service_name,
 *   stream and level (low cardinality, as Loki wants), trace ids and metadata as structured
 *   metadata (Loki's are flat strings).
 * - Elasticsearch bulk: ECS-style documents (`@timestamp`, `log.level`, `service.name`,
 *   `trace.id`), the stream as the action's `_index`.
 */
import { uncompressSync } from 'snappy'
import type { DecodedRecord } from '../src/ingest/pipeline.js'
import { decodeBulk } from '../src/ingest/protocols/elasticsearch.js'
import { decodeLokiProtobuf } from '../src/ingest/protocols/loki.js'
import { decodeOtlpLogs } from '../src/ingest/protocols/otlp.js'
import { dotted, encodeOtlpProtobuf, otlpRequestOf, type PlainEntry } from '../test/helpers/otlp.js'
import { nsOf, snappyPushBody, type PushStream } from '../test/helpers/loki.js'

export const otlpBody = (entries: PlainEntry[]): Buffer => encodeOtlpProtobuf(otlpRequestOf(entries))
export const otlpSameDataBody = (entries: PlainEntry[]): Buffer => encodeOtlpProtobuf(otlpRequestOf(entries, null, {}))

/** Loki's structured metadata are flat strings: the entry's metadata as dotted keys, values as text. */
const structuredMetadata = (metadata: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(dotted(metadata)).map(([k, v]) => [k, String(v)]))

export const lokiBody = (entries: PlainEntry[]): Buffer => {
  const streams = new Map<string, PushStream>()
  for (const e of entries) {
    const labels = { service_name: e.service ?? '', stream: e.stream ?? 'default', level: e.level ?? 'info' }
    const key = JSON.stringify(labels)
    let stream = streams.get(key)
    if (!stream) streams.set(key, (stream = { labels, entries: [] }))
    stream.entries.push({
      ts: nsOf(Date.parse(e.timestamp!)),
      line: e.message,
      metadata: { ...structuredMetadata(e.metadata ?? {}), ...(e.trace_id ? { trace_id: e.trace_id, span_id: e.span_id ?? '' } : {}) },
    })
  }
  return snappyPushBody([...streams.values()])
}

export const bulkBodyOf = (entries: PlainEntry[]): string => {
  let body = ''
  for (const e of entries) {
    const document = {
      '@timestamp': e.timestamp,
      'log.level': e.level,
      'service.name': e.service,
      message: e.message,
      ...(e.trace_id ? { 'trace.id': e.trace_id, 'span.id': e.span_id } : {}),
      ...e.metadata,
    }
    body += `{"create":{"_index":${JSON.stringify(e.stream ?? 'default')}}}\n${JSON.stringify(document)}\n`
  }
  return body
}

/**
 * The entries a protocol body becomes (its decoder, as the server runs it), as an NDJSON batch:
 * posting it measures NDJSON ingest of exactly the rows the protocol stores, so the protocol's
 * own cost is told apart from the cost of what it stores (OTLP adds the resource and scope,
 * Loki the labels, to every entry's metadata).
 */
const ndjsonOf = (records: DecodedRecord[]): string => records.map((r) => (r.refused ? '' : `${JSON.stringify(r.value)}\n`)).join('')
export const storedAsNdjson = {
  otlp: (body: Buffer) => ndjsonOf(decodeOtlpLogs(body, 'protobuf').records),
  loki: (body: Buffer) => ndjsonOf(decodeLokiProtobuf(uncompressSync(body) as Buffer, Infinity).records),
  elasticsearch: (body: string) => ndjsonOf(decodeBulk(Buffer.from(body), undefined, Infinity).records),
}
