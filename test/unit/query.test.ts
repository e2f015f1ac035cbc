import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import { compileQuery, metadataSubcolumn, Params } from '../../src/logs/query/compile.js'
import { parseQuery, textTokens } from '../../src/logs/query/parse.js'

const parseError = (q: string): AppError => {
  try {
    parseQuery(q)
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return err as AppError
  }
  throw new Error(`expected "${q}" to be refused`)
}

describe('q parser', () => {
  it('reads words, phrases and prefixes, lower-cased as the index tokenizes', () => {
    expect(parseQuery('Timeout')).toEqual({ type: 'word', token: 'timeout' })
    expect(parseQuery('timeout db')).toEqual({ type: 'and', items: [{ type: 'word', token: 'timeout' }, { type: 'word', token: 'db' }] })
    expect(parseQuery('"connection reset"')).toEqual({ type: 'phrase', tokens: ['connection', 'reset'], text: 'connection reset' })
    expect(parseQuery('timeo*')).toEqual({ type: 'prefix', prefix: 'timeo' })
    // A word with separators is a phrase of its tokens.
    expect(parseQuery('db-1')).toEqual({ type: 'phrase', tokens: ['db', '1'], text: 'db-1' })
    expect(textTokens('GET /v1/orders?x=ÜBER')).toEqual(['get', 'v1', 'orders', 'x', 'über'])
  })

  it('handles OR, AND, NOT, - and parentheses with AND binding tighter than OR', () => {
    expect(parseQuery('a OR b c')).toEqual({
      type: 'or',
      items: [{ type: 'word', token: 'a' }, { type: 'and', items: [{ type: 'word', token: 'b' }, { type: 'word', token: 'c' }] }],
    })
    expect(parseQuery('(a OR b) AND NOT c')).toEqual({
      type: 'and',
      items: [
        { type: 'or', items: [{ type: 'word', token: 'a' }, { type: 'word', token: 'b' }] },
        { type: 'not', item: { type: 'word', token: 'c' } },
      ],
    })
    expect(parseQuery('-debug error')).toEqual({ type: 'and', items: [{ type: 'not', item: { type: 'word', token: 'debug' } }, { type: 'word', token: 'error' }] })
    // Lower-case and/or/not are words, and a dash inside a word is not negation.
    expect(parseQuery('rock and roll')).toMatchObject({ type: 'and', items: [{ token: 'rock' }, { token: 'and' }, { token: 'roll' }] })
    expect(parseQuery('x-ray')).toEqual({ type: 'phrase', tokens: ['x', 'ray'], text: 'x-ray' })
  })

  it('reads field:value on entry fields and metadata paths', () => {
    expect(parseQuery('level:ERR')).toEqual({ type: 'field', field: 'level', op: 'eq', value: 'error' })
    expect(parseQuery('service:api')).toEqual({ type: 'field', field: 'service', op: 'eq', value: 'api' })
    expect(parseQuery('service:api-*')).toEqual({ type: 'field', field: 'service', op: 'prefix', value: 'api-' })
    expect(parseQuery('trace_id:*')).toEqual({ type: 'field', field: 'trace_id', op: 'exists', value: '' })
    expect(parseQuery('stream:"my stream"')).toEqual({ type: 'field', field: 'stream', op: 'eq', value: 'my stream' })
    expect(parseQuery('message:"connection reset"')).toEqual({ type: 'phrase', tokens: ['connection', 'reset'], text: 'connection reset' })
    expect(parseQuery('message:timeout')).toEqual({ type: 'word', token: 'timeout' })
    expect(parseQuery('metadata.user.id:42')).toEqual({ type: 'meta', path: 'user.id', op: 'eq', value: '42' })
    expect(parseQuery('metadata.http.status:>=500')).toEqual({ type: 'metaCompare', path: 'http.status', op: 'gte', value: 500 })
    expect(parseQuery('metadata.latency:<1.5')).toEqual({ type: 'metaCompare', path: 'latency', op: 'lt', value: 1.5 })
    expect(parseQuery('metadata.region:*')).toEqual({ type: 'meta', path: 'region', op: 'exists', value: '' })
    expect(parseQuery('metadata.note:">=5"')).toEqual({ type: 'meta', path: 'note', op: 'eq', value: '>=5' })
  })

  it('names the position of what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['(timeout', /position 0: missing "\)"/],
      ['timeout)', /position 7: unmatched "\)"/],
      ['"open', /position 0: unterminated quote/],
      ['a OR', /position 2: OR needs something on its right/],
      ['OR a', /position 0: OR needs something on its left/],
      ['NOT', /position 0: NOT needs something to negate/],
      ['()', /position 0: empty parentheses/],
      ['colour:red', /position 0: unknown field "colour"/],
      ['level:loud', /position 6: unknown level/],
      ['service:>=5', /position 8: service is not numeric/],
      ['metadata.a..b:1', /position 0: .* is not a metadata path/],
      ['metadata.x:>=abc', /position 11: >= takes a number/],
      ['level:', /position 0: missing value/],
      ['ti-me*', /position 0: a prefix search takes one word/],
      ['---', /position 1: nothing to search for/],
    ]
    for (const [q, message] of cases) {
      const err = parseError(q)
      expect(err.code, q).toBe('validation_error')
      expect(err.message, q).toMatch(message)
      expect(err.details?.[0]?.field).toBe('q')
    }
  })

  it('survives hostile input: quotes, backslashes, SQL, unicode, very long and deep input', () => {
    const hostile = [
      `' OR 1=1 --`,
      `"; DROP TABLE krafter.log_entries; --"`,
      `"back\\\\slash \\" quote"`,
      `message:"') OR project_id != '"`,
      `metadata.x:'1' OR '1'='1'`,
      `service:api' UNION SELECT *`,
      `日本語 ログ 🚀`,
      `{p0:String}`,
    ]
    for (const q of hostile) {
      let tree
      try {
        tree = parseQuery(q)
      } catch (err) {
        expect(err).toBeInstanceOf(AppError)
        continue
      }
      const params = new Params()
      const sql = compileQuery(tree, params)
      // No user text reaches the SQL: only placeholders, field names and fixed functions.
      expect(sql).not.toMatch(/DROP|UNION|OR 1=1|'|日本/)
      for (const value of Object.values(params.values)) expect(sql).not.toContain(String(value))
    }
    expect(parseError('x'.repeat(5000)).message).toMatch(/longer than 4096/)
    expect(parseError('('.repeat(40) + 'a' + ')'.repeat(40)).message).toMatch(/nesting deeper than 32/)
    expect(parseError(Array.from({ length: 70 }, (_, i) => `w${i}`).join(' ')).message).toMatch(/more than 64 terms/)
  })

  it('compiles to SQL with bound parameters only (a metadata path is a whitelisted identifier)', () => {
    const params = new Params()
    const sql = compileQuery(parseQuery('(level:error OR level:fatal) -"health check" metadata.http.status:>=500 timeo*'), params)
    expect(sql).toBe(
      "((level = {p0:String} OR level = {p1:String}) AND NOT (hasAllTokens(lower(message), {p2:Array(String)}) AND positionCaseInsensitiveUTF8(message, {p3:String}) > 0) AND ifNull(toFloat64OrNull(toString(metadata.`http`.`status`)) >= {p4:Float64}, 0) AND (lower(message) LIKE {p5:String} AND match(lower(message), {p6:String})))",
    )
    expect(() => metadataSubcolumn('a`.b')).toThrow(/not a metadata path/)
    expect(() => metadataSubcolumn('a..b')).toThrow(/not a metadata path/)
    expect(params.values).toEqual({ p0: 'error', p1: 'fatal', p2: ['health', 'check'], p3: 'health check', p4: 500, p5: '%timeo%', p6: '(^|[^a-z0-9])timeo' })
  })
})
