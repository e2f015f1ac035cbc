/**
 * Elasticsearch bulk data for the tests and bench/ingest.ts: ECS documents as Filebeat,
 * Logstash and the ECS loggers write them (`@timestamp`, `log.level`, `service.name`,
 * `trace.id`, nested objects and dotted keys side by side), and the NDJSON bulk body of them.
 */

export type EcsDocument = Record<string, unknown>

const LEVELS = ['debug', 'info', 'info', 'info', 'warn', 'error'] as const
const SERVICES = ['checkout', 'payments', 'search', 'auth'] as const
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0').slice(-width)

/**
 * Document `i` of a data set: deterministic, so a test can say what each one became. Half the
 * documents spell their fields as nested objects, half as dotted keys (both are the same field).
 */
export const ecsDocument = (i: number, at: Date): EcsDocument => {
  const level = LEVELS[i % LEVELS.length]!
  const service = SERVICES[i % SERVICES.length]!
  const traceId = hex(i * 2654435761, 16).padStart(32, '0')
  const spanId = hex(i * 40503 + 7, 16)
  const common = {
    '@timestamp': new Date(at.getTime() - i).toISOString(),
    message: `GET /api/items/${i} ${200 + (i % 5)} in ${i % 97} ms`,
    'ecs.version': '8.11.0',
  }
  return i % 2 === 0
    ? {
        ...common,
        log: { level, logger: `${service}.http`, origin: { file: { name: 'server.js', line: 10 + (i % 50) } } },
        service: { name: service, version: '1.4.2' },
        trace: { id: traceId },
        span: { id: spanId },
        http: { request: { method: 'GET' }, response: { status_code: 200 + (i % 5) } },
        host: { name: `web-${i % 3}` },
      }
    : {
        ...common,
        'log.level': level,
        'log.logger': `${service}.http`,
        'service.name': service,
        'service.version': '1.4.2',
        'trace.id': traceId,
        'span.id': spanId,
        'http.request.method': 'GET',
        'http.response.status_code': 200 + (i % 5),
        host: { name: `web-${i % 3}` },
      }
}

/** `count` documents ending at `at` (document 0 is the newest, one millisecond apart). */
export const ecsDocuments = (count: number, at = new Date()): EcsDocument[] => Array.from({ length: count }, (_, i) => ecsDocument(i, at))

export interface BulkBodyOptions {
  /** The action of every document (default `create`, what data streams and Filebeat use). */
  action?: 'index' | 'create'
  /** The `_index` of every action; leave it out to use the URL's index (`/es/{index}/_bulk`). */
  index?: string
}

/** The NDJSON bulk body of documents: an action line, then the document, each on its line. */
export const bulkBody = (documents: EcsDocument[], options: BulkBodyOptions = {}): string => {
  const action = JSON.stringify({ [options.action ?? 'create']: options.index === undefined ? {} : { _index: options.index } })
  let body = ''
  for (const document of documents) body += `${action}\n${JSON.stringify(document)}\n`
  return body
}
