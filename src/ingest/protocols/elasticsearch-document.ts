import type { FieldError } from '../../errors.js'
import { LIMITS } from '../entry.js'

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

/** A field's segments and, for each start and end, the key they make (`keys[from][end]`), built once. */
interface FieldPath {
  segments: readonly string[]
  keys: string[][]
}
const fieldPath = (field: string): FieldPath => {
  const segments = field.split('.')
  const keys = segments.map((_, from) => segments.map((_, end) => (end >= from ? segments.slice(from, end + 1).join('.') : '')))
  return { segments, keys }
}

const PATHS = new Map(COLUMNS.flatMap(([, fields]) => fields.map((f) => [f, fieldPath(f)] as const)))

/** Where a field is in a document whose keys may be dotted, nested, or both (`a.b`, `a: {b}`). */
const find = (object: Json, path: FieldPath, from = 0): Found | undefined => {
  const last = path.segments.length - 1
  for (let end = last; end >= from; end--) {
    const key = path.keys[from]![end]!
    if (!Object.hasOwn(object, key) || object[key] === undefined) continue
    if (end === last) return { holder: object, key, parents: [] }
    const inner = object[key]
    if (!isObject(inner)) continue
    const found = find(inner, path, end + 1)
    if (found) {
      found.parents.unshift([object, key])
      return found
    }
  }
  return undefined
}

/** No field: none, or only removed ones (see `remove`). */
const isEmpty = (object: Json): boolean => {
  for (const key in object) if (Object.hasOwn(object, key) && object[key] !== undefined) return false
  return true
}

/**
 * Removes a found field, and the objects that held nothing else. A removed field is set to
 * undefined rather than deleted (a delete makes V8 turn the object into a slow dictionary,
 * for every later read): the metadata is only ever read as JSON, which has no undefined, and
 * this module skips them.
 */
const remove = ({ holder, key, parents }: Found): void => {
  holder[key] = undefined
  for (let i = parents.length - 1; i >= 0; i--) {
    const [parent, name] = parents[i]!
    if (!isEmpty(parent[name] as Json)) return
    parent[name] = undefined
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

/** Sets a key as an own property, `__proto__` included (a JSON key like any other). */
const set = (object: Json, key: string, value: unknown): void => {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
  else object[key] = value
}
const child = (object: Json, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined)

/** Whether an object holds a dotted key at any depth (arrays are values: not looked into). */
const hasDottedKey = (object: Json): boolean => {
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue
    const value = object[key]
    if (value === undefined) continue
    if (key.includes('.')) return true
    if (isObject(value) && hasDottedKey(value)) return true
  }
  return false
}

/**
 * Puts `value` at `segments` in `target`, merging objects; a field that would be a value and
 * an object at once is an error, as it is in Elasticsearch. An object without dotted keys is
 * taken as it is (the document is this module's to change), not copied.
 */
const place = (target: Json, segments: string[], value: unknown, path: string): FieldError | undefined => {
  let node = target
  for (let i = 0; i < segments.length - 1; i++) {
    const next = child(node, segments[i]!)
    if (next === undefined) {
      const created: Json = {}
      set(node, segments[i]!, created)
      node = created
    } else if (isObject(next)) node = next
    else return conflict(segments.slice(0, i + 1).join('.'))
  }
  const last = segments[segments.length - 1]!
  const existing = child(node, last)
  if (!isObject(value)) {
    if (existing !== undefined) return conflict(path)
    set(node, last, value)
    return undefined
  }
  if (existing === undefined && !hasDottedKey(value)) {
    set(node, last, value)
    return undefined
  }
  let into: Json
  if (existing === undefined) set(node, last, (into = {}))
  else if (isObject(existing)) into = existing
  else return conflict(path)
  for (const key of Object.keys(value)) {
    if (value[key] === undefined) continue
    const error = place(into, segmentsOf(key), value[key], `${path}.${key}`)
    if (error) return error
  }
  return undefined
}

/** The document's fields as nested paths, or the field that is both a value and an object. */
const nested = (document: Json): { value: Json } | { error: FieldError } => {
  if (!hasDottedKey(document)) return { value: document }
  const value: Json = {}
  for (const key of Object.keys(document)) {
    if (document[key] === undefined) continue
    const error = place(value, segmentsOf(key), document[key], key)
    if (error) return { error }
  }
  return { value }
}

/** Whether a value nests objects or arrays deeper than `limit` levels (itself the first); stops looking there. */
const deeperThan = (value: unknown, limit: number): boolean => {
  if (value === null || typeof value !== 'object') return false
  if (limit === 0) return true
  for (const inner of Array.isArray(value) ? value : Object.values(value)) if (deeperThan(inner, limit - 1)) return true
  return false
}
const TOO_DEEP: FieldError = { field: 'metadata', message: `must not nest deeper than ${LIMITS.metadataDepth} levels` }

/**
 * Maps one document (a JSON object, which this takes over and changes) for an index. Returns
 * the entry and where its columns came from, or the field that makes the document unusable.
 */
export const mapDocument = (document: Json, index: string): MappedDocument | { refused: FieldError } => {
  // The entry's metadata limit, applied first: the walks below recurse as deep as the document.
  if (deeperThan(document, LIMITS.metadataDepth)) return { refused: TOO_DEEP }
  const entry: Json = { stream: index }
  const sources: Record<string, string> = { stream: '_index' }
  for (const [column, fields] of COLUMNS) {
    for (const field of fields) {
      const found = find(document, PATHS.get(field)!)
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
  if (!isEmpty(metadata.value)) entry.metadata = metadata.value
  return { entry, sources }
}
