import { describe, expect, it } from 'vitest'
import { emptyObject, nestValue, putPath, VALUE_KEY, type Plain, type PlainObject } from '../../src/ingest/protocols/otlp-metadata.js'

// Dotted attribute keys → metadata paths, and the rule for two keys wanting one place.
const nest = (pairs: [string, Plain][]): PlainObject => {
  const out = emptyObject()
  for (const [key, value] of pairs) putPath(out, key, nestValue(value))
  return out
}

/** Every leaf value (arrays as one value), so a test can say none was lost. */
const leaves = (value: Plain): Plain[] => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [value]
  return Object.values(value).flatMap(leaves)
}
const keysOf = (value: Plain): string[] => (value === null || typeof value !== 'object' || Array.isArray(value) ? [] : Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]))

describe('dotted keys → paths', () => {
  it('splits on every dot, as the engine reads keys', () => {
    expect(nest([['http.status_code', 200], ['http.route', '/a'], ['a..b', 1], ['plain', true]])).toEqual({ http: { status_code: 200, route: '/a' }, a: { '': { b: 1 } }, plain: true })
  })

  it('a value and a path under the same name keep both, the value under _value, in either order', () => {
    const expected = { a: { [VALUE_KEY]: 1, b: 2 } }
    expect(nest([['a', 1], ['a.b', 2]])).toEqual(expected)
    expect(nest([['a.b', 2], ['a', 1]])).toEqual(expected)
    expect(nest([['a', [1, 2]], ['a.b.c', 3]])).toEqual({ a: { [VALUE_KEY]: [1, 2], b: { c: 3 } } })
  })

  it('objects merge; a second value for a name goes to name_2, name_3, …', () => {
    expect(nest([['db', { system: 'pg' }], ['db.rows', 3]])).toEqual({ db: { system: 'pg', rows: 3 } })
    expect(nest([['k', 1], ['k', 2], ['k', 3]])).toEqual({ k: 1, k_2: 2, k_3: 3 })
    expect(nest([['a', 1], ['a.b', 2], ['a', 3]])).toEqual({ a: { [VALUE_KEY]: 1, b: 2, [`${VALUE_KEY}_2`]: 3 } })
  })

  it('kvlist values nest too, arrays of objects included', () => {
    expect(nestValue({ 'x.y': 1, list: [{ 'p.q': true }] })).toEqual({ x: { y: 1 }, list: [{ p: { q: true } }] })
  })

  it('keys named like Object.prototype members are keys like any other', () => {
    const out = nest([['__proto__', 1], ['constructor', 2], ['toString.x', 3], ['__proto__.polluted', 4]])
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"__proto__": {"_value": 1, "polluted": 4}, "constructor": 2, "toString": {"x": 3}}'))
  })

  it('a key of thousands of segments nests 64 deep and keeps the rest as one key; many copies of one key all stay', () => {
    const out = nest([['x.'.repeat(10_000) + 'end', 1]])
    let depth = 0
    let node: Plain = out
    while (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      const keys: string[] = Object.keys(node)
      expect(keys).toHaveLength(1)
      node = node[keys[0]!]!
      depth++
    }
    expect(depth).toBe(64)
    expect(node).toBe(1)
    expect(() => JSON.stringify(out)).not.toThrow()

    const copies = nest(Array.from({ length: 100_000 }, (_, i): [string, Plain] => ['k', i]))
    expect(Object.keys(copies)).toHaveLength(100_000)
    expect(copies.k_100000).toBe(99_999)
  })

  it('never throws, never loses a value, never leaves a dotted key (the engine would split it again)', () => {
    let seed = 11
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const segments = ['a', 'b', 'c', '_value', '']
    for (let round = 0; round < 300; round++) {
      const pairs: [string, Plain][] = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) => {
        const key = Array.from({ length: 1 + Math.floor(random() * 3) }, () => segments[Math.floor(random() * segments.length)]).join('.')
        return [key, random() < 0.2 ? { [`${segments[Math.floor(random() * 3)]}.z`]: i } : i]
      })
      const out = nest(pairs)
      expect(keysOf(out).filter((k) => k.includes('.'))).toEqual([])
      const given = pairs.flatMap(([, v]) => leaves(nestValue(v)))
      expect(leaves(out).sort(), JSON.stringify(pairs)).toEqual(given.sort())
    }
  })
})
