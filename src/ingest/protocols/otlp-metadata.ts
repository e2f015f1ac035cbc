/**
 * Dotted attribute keys → nested metadata paths (API.md: `http.status_code` is
 * `metadata.http.status_code`), the way the engine itself reads keys: its JSON column splits
 * every key on every dot (`a..b` is `a` → `` → `b`), so the object written is the one the
 * engine would see, and a query on `metadata.<path>` finds it.
 *
 * Two keys can want the same place: `a` = 1 beside `a.b` = 2, or the same key twice. The engine
 * refuses such an object outright ("duplicate path"), which would cost the whole record, so
 * they are settled here by one rule that never throws and never drops a value:
 *  - an object keeps the name, and a value that is not an object moves inside it under
 *    `_value`: {a: 1, "a.b": 2} → {a: {_value: 1, b: 2}}, whichever key came first;
 *  - two objects merge, key by key, by the same rule;
 *  - a second value for a name that holds a value (not an object) goes to the first free name
 *    of `<name>_2`, `<name>_3`, …, beside it, in the order the keys came.
 * A key of more than MAX_SEGMENTS segments nests that deep and keeps the rest as one key: the
 * entry rules refuse such a record for its depth anyway (metadata nests at most 16 levels), and
 * no key can build an object too deep to encode.
 * Keys are read as own properties and `__proto__` is defined as one, so every key is a key like
 * any other (plain objects, not prototype-less ones: V8 keeps those in slow dictionary mode).
 */

/** A metadata value: JSON's values. */
export type Plain = null | boolean | number | string | Plain[] | PlainObject
export interface PlainObject {
  [key: string]: Plain
}

/** The key a value moves to when an object of paths takes its name. */
export const VALUE_KEY = '_value'

export const isPlainObject = (value: Plain | undefined): value is PlainObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

export const emptyObject = (): PlainObject => ({})

/** Far beyond the metadata depth limit, far below what JSON.stringify can recurse. */
export const MAX_SEGMENTS = 64

/** The next `_n` suffix to try per object and name, so n copies of one key cost n steps, not n². */
const suffixes = new WeakMap<PlainObject, Map<string, number>>()

const own = (node: PlainObject, key: string): Plain | undefined => (Object.hasOwn(node, key) ? node[key] : undefined)

const set = (node: PlainObject, key: string, value: Plain): void => {
  if (key === '__proto__') Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true })
  else node[key] = value
}

/** Sets `key` of `node` (a key taken as it is, dots and all) to `value` by the rule above; `value` is already nested. */
export const putKey = (node: PlainObject, key: string, value: Plain): void => {
  const current = own(node, key)
  if (current === undefined) {
    set(node, key, value)
  } else if (isPlainObject(current)) {
    if (isPlainObject(value)) {
      for (const k of Object.keys(value)) putKey(current, k, value[k]!)
    } else {
      putKey(current, VALUE_KEY, value)
    }
  } else if (isPlainObject(value)) {
    set(node, key, value)
    putKey(value, VALUE_KEY, current)
  } else {
    let next = suffixes.get(node)
    if (!next) suffixes.set(node, (next = new Map()))
    let n = next.get(key) ?? 2
    while (own(node, `${key}_${n}`) !== undefined) n++
    next.set(key, n + 1)
    set(node, `${key}_${n}`, value)
  }
}

/** A value with the keys of every object in it (arrays included) turned into paths. */
export const nestValue = (value: Plain): Plain => {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(nestValue)
  const out = emptyObject()
  for (const key of Object.keys(value)) putPath(out, key, nestValue(value[key]!))
  return out
}

/** Puts `value` (already nested) at the path the dotted `key` names in `target`. */
/**
 * A dotted key's segments, cached: attribute keys repeat in every record of an export, and
 * `split` with a limit is a slow runtime call V8 never caches. The arrays are never changed
 * after they are made; the cache is emptied when it holds CACHED_KEYS of them, and keeps only
 * keys of at most CACHED_KEY_CHARS characters.
 */
const CACHED_KEYS = 4096
const CACHED_KEY_CHARS = 200
const segmentCache = new Map<string, readonly string[]>()
const segmentsOf = (key: string): readonly string[] => {
  const segments = segmentCache.get(key)
  if (segments) return segments
  const split = key.split('.', MAX_SEGMENTS)
  if (split.length === MAX_SEGMENTS) split[MAX_SEGMENTS - 1] = key.split('.').slice(MAX_SEGMENTS - 1).join('.')
  // Only keys of attribute-name size: the cache's memory stays small whatever clients send.
  if (key.length > CACHED_KEY_CHARS) return split
  if (segmentCache.size >= CACHED_KEYS) segmentCache.clear()
  segmentCache.set(key, split)
  return split
}

export const putPath = (target: PlainObject, key: string, value: Plain): void => {
  if (!key.includes('.')) {
    putKey(target, key, value)
    return
  }
  const segments = segmentsOf(key)
  let node = target
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!
    const current = own(node, segment)
    if (isPlainObject(current)) {
      node = current
      continue
    }
    const child = emptyObject()
    // A value already at a prefix of this path moves inside the object taking its name.
    if (current !== undefined) child[VALUE_KEY] = current
    set(node, segment, child)
    node = child
  }
  putKey(node, segments[segments.length - 1]!, value)
}
