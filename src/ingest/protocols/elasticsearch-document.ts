import type { FieldError } from '../../errors.js'

/**
 * An Elasticsearch document (ECS or not) → API.md's log entry, by the mapping of API.md
 * ("Standard ingest protocols"): the first field present of each list becomes that entry
 * column, everything else goes to metadata. Dotted keys and nested objects are the same field
 * (`{"log.level": …}` is `{"log": {"level": …}}`, in any mix), so metadata holds the document
 * as nested paths, without the fields mapped to a column.
 */

type Json = Record<string, unknown>

/** The entry column, and the document fields that fill it, first present wins. */
const COLUMNS: [column: string, fields: string[]][] = [
  ['message', ['message', 'msg', 'log', 'event.original']],
  ['timestamp', ['@timestamp', 'timestamp', 'time']],
  ['level', ['level', 'log.level', 'severity']],
  ['service', ['service.name', 'service']],
  ['trace_id', ['trace.id', 'trace_id']],
  ['span_id', ['span.id', 'span_id']],
]
const SEGMENTS = new Map(COLUMNS.flatMap(([, fields]) => fields.map((f) => [f, f.split('.')] as const)))
/** Columns whose value may come as a number (an id, a service written as one): kept as its text. */
const TEXT_COLUMNS = new Set(['service', 'trace_id', 'span_id'])

export interface MappedDocument {
  /** The entry for the pipeline; `stream` is the index. */
  entry: Json
  /** Entry column → the document field it came from, so an error names what the client sent. */
  sources: Record<string, string>
}

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value)

interface Found {
  holder: Json
  key: string
  /** The objects the value sits in, outermost first, with the key of each in its parent. */
  parents: [Json, string][]
}

/** Where a field (as segments) is in a document whose keys may be dotted, nested, or both. */
const find = (object: Json, segments: readonly string[], from = 0): Found | undefined => {
  for (let end = segments.length; end > from; end--) {
    const key = end - from === 1 ? segments[from]! : segments.slice(from, end).join('.')
    if (!Object.hasOwn(object, key)) continue
    if (end === segments.length) return { holder: object, key, parents: [] }
    const inner = object[key]
    if (!isObject(inner)) continue
    const found = find(inner, segments, end)
    if (found) {
      found.parents.unshift([object, key])
      return found
    }
  }
  return undefined
}

/** Removes a found field, and the objects that held nothing else. */
const remove = ({ holder, key, parents }: Found): void => {
  delete holder[key]
  for (let i = parents.length - 1; i >= 0; i--) {
    const [parent, name] = parents[i]!
    if (Object.keys(parent[name] as Json).length > 0) return
    delete parent[name]
  }
}

/** The field a key names, as path segments; a key with an empty segment (`a..b`, `.a`) is kept whole. */
const segmentsOf = (key: string): string[] => {
  if (!key.includes('.')) return [key]
  const segments = key.split('.')
  return segments.includes('') ? [key] : segments
}

const conflict = (path: string): FieldError => ({
  field: path,
  message: 'cannot be both a value and an object (the same field sent as a dotted key and as a nested object)',
})

/**
 * Puts `value` at `segments` in `target` (objects without prototype, so no key is special),
 * merging objects; a field that would be a value and an object at once is an error, as it is
 * in Elasticsearch.
 */
const place = (target: Json, segments: string[], value: unknown, path: string): FieldError | undefined => {
  let node = target
  for (let i = 0; i < segments.length - 1; i++) {
    const next = node[segments[i]!]
    if (next === undefined) node = node[segments[i]!] = Object.create(null) as Json
    else if (isObject(next)) node = next
    else return conflict(segments.slice(0, i + 1).join('.'))
  }
  const last = segments[segments.length - 1]!
  const existing = node[last]
  if (!isObject(value)) {
    if (existing !== undefined) return conflict(path)
    node[last] = value
    return undefined
  }
  let child: Json
  if (existing === undefined) child = node[last] = Object.create(null) as Json
  else if (isObject(existing)) child = existing
  else return conflict(path)
  for (const key of Object.keys(value)) {
    const error = place(child, segmentsOf(key), value[key], `${path}.${key}`)
    if (error) return error
  }
  return undefined
}

/** The document's fields as nested paths, or the field that is both a value and an object. */
const nested = (document: Json): { value: Json } | { error: FieldError } => {
  const value = Object.create(null) as Json
  for (const key of Object.keys(document)) {
    const error = place(value, segmentsOf(key), document[key], key)
    if (error) return { error }
  }
  return { value }
}

/**
 * Maps one document (a JSON object, which this takes over and changes) for an index. Returns
 * the entry and where its columns came from, or the field that makes the document unusable.
 */
export const mapDocument = (document: Json, index: string): MappedDocument | { refused: FieldError } => {
  const entry: Json = { stream: index }
  const sources: Record<string, string> = { stream: '_index' }
  for (const [column, fields] of COLUMNS) {
    for (const field of fields) {
      const found = find(document, SEGMENTS.get(field)!)
      if (!found) continue
      const value = found.holder[found.key]
      // A null is no value; an object is a group of fields (`service: {name}`), not this one;
      // `log` is the message only as text (ECS has a `log` object).
      if (value === null || isObject(value) || (field === 'log' && typeof value !== 'string')) continue
      entry[column] = TEXT_COLUMNS.has(column) && typeof value === 'number' && Number.isFinite(value) ? String(value) : value
      sources[column] = field
      remove(found)
      break
    }
  }
  if (entry.message === undefined) {
    return { refused: { field: 'message', message: 'is required: send it as message, msg, log (as text) or event.original' } }
  }
  const metadata = nested(document)
  if ('error' in metadata) return { refused: metadata.error }
  if (Object.keys(metadata.value).length > 0) entry.metadata = metadata.value
  return { entry, sources }
}
