import { describe, expect, it } from 'vitest'
import { parseLabelText } from '../../src/ingest/protocols/loki-labels.js'
import { snappyDeclaredLength } from '../../src/ingest/snappy.js'
import { labelText, snappyLengthPrefix } from '../helpers/loki.js'

describe('Loki label text (protobuf streams)', () => {
  it('reads the form clients write: identifiers, quoted values, spaces, trailing comma, empty set', () => {
    expect(parseLabelText('{app="api", job="web"}')).toEqual({ labels: { app: 'api', job: 'web' } })
    expect(parseLabelText('  { app = "api" ,job="web", }  ')).toEqual({ labels: { app: 'api', job: 'web' } })
    expect(parseLabelText('{}')).toEqual({ labels: {} })
    expect(parseLabelText('{_a1="", B_2="x"}')).toEqual({ labels: { _a1: '', B_2: 'x' } })
  })

  it('reads Go string escapes, raw back-quoted values and quoted (UTF-8) names', () => {
    expect(parseLabelText('{a="q\\"uote \\\\ back\\nline\\ttab"}')).toEqual({ labels: { a: 'q"uote \\ back\nline\ttab' } })
    expect(parseLabelText('{a="\\x41\\u00e9\\U0001F600\\101"}')).toEqual({ labels: { a: 'Aé😀A' } })
    expect(parseLabelText('{a=`raw \\n "kept"`}')).toEqual({ labels: { a: 'raw \\n "kept"' } })
    expect(parseLabelText('{"service.name"="api", "日本"="語"}')).toEqual({ labels: { 'service.name': 'api', 日本: '語' } })
  })

  it('reads back what labelText (the test client) writes, for awkward values', () => {
    const labels = { a: 'plain', b: 'q"uote', c: 'back\\slash', d: 'new\nline', e: 'ünï©ødé 😀', f: '' }
    expect(parseLabelText(labelText(labels))).toEqual({ labels })
  })

  it('keeps a label named __proto__ as a label', () => {
    const parsed = parseLabelText('{__proto__="x", a="b"}')
    expect('labels' in parsed && Object.keys(parsed.labels)).toEqual(['__proto__', 'a'])
    expect(JSON.stringify('labels' in parsed && parsed.labels)).toBe('{"__proto__":"x","a":"b"}')
  })

  it('says what is wrong with text that is not a label set', () => {
    const cases: [string, RegExp][] = [
      ['app="x"', /expected "\{" at character 1/],
      ['{app="x"', /expected "," or "\}"/],
      ['{app=x}', /expected a quoted value/],
      ['{app="x}', /unterminated "string"/],
      ['{1app="x"}', /expected a label name/],
      ['{app "x"}', /expected "="/],
      ['{app="\\q"}', /unknown escape \\q/],
      ['{app="\\u12"}', /bad \\u escape/],
      ['{app="\\ud800"}', /bad \\u escape/],
      ['{app="x"} trailing', /unexpected text after "\}"/],
      ['', /expected "\{"/],
    ]
    for (const [text, message] of cases) {
      const parsed = parseLabelText(text)
      expect('error' in parsed && parsed.error, text).toMatch(message)
    }
  })
})

describe('snappy block header', () => {
  it('reads the declared length varint, up to 32 bits', () => {
    for (const n of [0, 1, 127, 128, 300, 16_384, 10 * 1024 * 1024, 0xffffffff]) {
      expect(snappyDeclaredLength(snappyLengthPrefix(n)), String(n)).toBe(n)
    }
    // Unfinished, or longer than 32 bits: no length.
    expect(snappyDeclaredLength(Buffer.from([0x80]))).toBeUndefined()
    expect(snappyDeclaredLength(Buffer.alloc(0))).toBeUndefined()
    expect(snappyDeclaredLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]))).toBeUndefined()
    expect(snappyDeclaredLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBeUndefined()
  })
})
