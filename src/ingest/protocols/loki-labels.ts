/**
 * The label text of a Loki protobuf stream (`{app="api", job="web"}`): Prometheus' label-set
 * form, as Loki's syntax.ParseLabels reads it. Names are identifiers or (Prometheus 3, UTF-8
 * names) quoted strings; values are Go string literals, double-quoted with Go's escapes or
 * back-quoted raw. Returns the labels, or what is wrong with the text.
 */
export const parseLabelText = (text: string): { labels: Record<string, string> } | { error: string } => {
  const labels: Record<string, string> = {}
  let i = 0
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++
  }
  const fail = (what: string) => ({ error: `is not a label set ({name="value", …}): ${what} at character ${i + 1}` })
  skipSpace()
  if (text[i] !== '{') return fail('expected "{"')
  i++
  skipSpace()
  if (text[i] === '}') {
    i++
    skipSpace()
    return i === text.length ? { labels } : fail('unexpected text after "}"')
  }
  for (;;) {
    skipSpace()
    let name: string | undefined
    if (text[i] === '"' || text[i] === '`') {
      const quoted = readQuoted(text, i)
      if ('error' in quoted) return fail(quoted.error)
      name = quoted.value
      i = quoted.end
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 1024))
      if (!m) return fail('expected a label name')
      name = m[0]
      i += name.length
    }
    skipSpace()
    if (text[i] !== '=') return fail('expected "="')
    i++
    skipSpace()
    const value = readQuoted(text, i)
    if ('error' in value) return fail(value.error)
    i = value.end
    // As an own property whatever the name (`__proto__` by assignment would be dropped).
    Object.defineProperty(labels, name, { value: value.value, enumerable: true, writable: true, configurable: true })
    skipSpace()
    if (text[i] === ',') {
      i++
      skipSpace()
      // A trailing comma before "}" is allowed, as Prometheus allows it.
      if (text[i] !== '}') continue
    }
    if (text[i] !== '}') return fail('expected "," or "}"')
    i++
    skipSpace()
    return i === text.length ? { labels } : fail('unexpected text after "}"')
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" }

/** A Go string literal starting at `start`: its value and the index after it. */
const readQuoted = (text: string, start: number): { value: string; end: number } | { error: string } => {
  const quote = text[start]
  if (quote === '`') {
    const close = text.indexOf('`', start + 1)
    return close === -1 ? { error: 'unterminated `string`' } : { value: text.slice(start + 1, close), end: close + 1 }
  }
  if (quote !== '"') return { error: 'expected a quoted value' }
  let out = ''
  let i = start + 1
  let chunk = i
  while (i < text.length) {
    const c = text[i]!
    if (c === '"') return { value: out + text.slice(chunk, i), end: i + 1 }
    if (c === '\n') return { error: 'newline in a quoted string' }
    if (c !== '\\') {
      i++
      continue
    }
    out += text.slice(chunk, i)
    const e = text[i + 1]
    if (e === undefined) break
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
      out += SIMPLE_ESCAPES[e]
      i += 2
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8
      const hex = text.slice(i + 2, i + 2 + digits)
      if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) return { error: `bad \\${e} escape` }
      const code = parseInt(hex, 16)
      if (e === 'x') {
        // A byte: Go strings are bytes; a lone byte above 0x7f is no character here.
        out += code < 0x80 ? String.fromCharCode(code) : '\ufffd'
      } else {
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return { error: `bad \\${e} escape` }
        out += String.fromCodePoint(code)
      }
      i += 2 + digits
    } else if (/[0-7]/.test(e)) {
      const oct = text.slice(i + 1, i + 4)
      if (!/^[0-7]{3}$/.test(oct)) return { error: 'bad octal escape' }
      const code = parseInt(oct, 8)
      if (code > 255) return { error: 'bad octal escape' }
      out += code < 0x80 ? String.fromCharCode(code) : '\ufffd'
      i += 4
    } else {
      return { error: `unknown escape \\${e}` }
    }
    chunk = i
  }
  return { error: 'unterminated "string"' }
}
