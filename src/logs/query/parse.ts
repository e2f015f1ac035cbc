import { AppError } from '../../errors.js'
import { LEVEL_ALIASES } from '../fields.js'
import { STRING_FIELDS, type Comparison, type QueryNode, type StringField } from './ast.js'

/**
 * Parser of the `q` language (API.md): words, "phrases", prefix*, implicit AND, OR, NOT / -,
 * parentheses, field:value, metadata.<path>:value, field:>=n, field:*. Operators are the
 * upper-case words AND, OR, NOT. Errors name the position (0-based character offset).
 */
export const MAX_QUERY_LENGTH = 4096
const MAX_DEPTH = 32
const MAX_TERMS = 64

type Token =
  | { kind: 'lparen' | 'rparen' | 'or' | 'and' | 'not' | 'minus'; pos: number }
  | { kind: 'term'; text: string; pos: number }
  | { kind: 'phrase'; text: string; pos: number }
  | { kind: 'fieldPhrase'; field: string; text: string; pos: number }

export const queryError = (message: string, pos?: number): AppError =>
  new AppError('validation_error', pos === undefined ? `Invalid q: ${message}` : `Invalid q at position ${pos}: ${message}`, {
    details: [{ field: 'q', message: pos === undefined ? message : `${message} (position ${pos})` }],
  })

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r'

const readPhrase = (q: string, start: number): { text: string; end: number } => {
  let i = start + 1
  let text = ''
  while (i < q.length) {
    const c = q[i]!
    if (c === '\\' && i + 1 < q.length) {
      text += q[i + 1]
      i += 2
      continue
    }
    if (c === '"') return { text, end: i + 1 }
    text += c
    i++
  }
  throw queryError('unterminated quote', start)
}

const lex = (q: string): Token[] => {
  const tokens: Token[] = []
  let i = 0
  while (i < q.length) {
    const c = q[i]!
    if (isSpace(c)) {
      i++
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', pos: i })
      i++
    } else if (c === '"') {
      const { text, end } = readPhrase(q, i)
      tokens.push({ kind: 'phrase', text, pos: i })
      i = end
    } else if (c === '-' && i + 1 < q.length && !isSpace(q[i + 1]!) && (tokens.length === 0 || i === 0 || isSpace(q[i - 1]!) || q[i - 1] === '(')) {
      tokens.push({ kind: 'minus', pos: i })
      i++
    } else {
      const start = i
      while (i < q.length && !isSpace(q[i]!) && q[i] !== '(' && q[i] !== ')' && q[i] !== '"') i++
      const text = q.slice(start, i)
      if (text.endsWith(':') && q[i] === '"') {
        const { text: phrase, end } = readPhrase(q, i)
        tokens.push({ kind: 'fieldPhrase', field: text.slice(0, -1), text: phrase, pos: start })
        i = end
      } else if (text === 'OR' || text === 'AND' || text === 'NOT') {
        tokens.push({ kind: text.toLowerCase() as 'or' | 'and' | 'not', pos: start })
      } else {
        tokens.push({ kind: 'term', text, pos: start })
      }
    }
  }
  return tokens
}

/** Lower-cased tokens as the message text index splits them (on non-alphanumeric ASCII). */
export const textTokens = (text: string): string[] => text.toLowerCase().split(/[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/).filter(Boolean)

/** A metadata path as q and facets accept it: dotted segments of A-Z a-z 0-9 _ -. */
export const METADATA_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

const textNode = (text: string, pos: number, quoted: boolean): QueryNode => {
  if (!quoted && text.endsWith('*')) {
    const tokens = textTokens(text.slice(0, -1))
    if (tokens.length !== 1) throw queryError('a prefix search takes one word followed by *', pos)
    return { type: 'prefix', prefix: tokens[0]! }
  }
  const tokens = textTokens(text)
  if (tokens.length === 0) throw queryError(`nothing to search for in "${text.slice(0, 40)}"`, pos)
  if (tokens.length === 1 && !quoted) return { type: 'word', token: tokens[0]! }
  return { type: 'phrase', tokens, text }
}

const COMPARISONS: [string, Comparison][] = [['>=', 'gte'], ['<=', 'lte'], ['>', 'gt'], ['<', 'lt']]

const fieldNode = (name: string, value: string, pos: number, quoted: boolean): QueryNode => {
  const valuePos = pos + name.length + 1
  if (name === 'message') {
    if (!quoted && value === '*') return { type: 'all' }
    return textNode(value, valuePos, quoted)
  }
  if (name.startsWith('metadata.')) {
    const path = name.slice('metadata.'.length)
    if (!METADATA_PATH.test(path)) throw queryError(`"${name.slice(0, 60)}" is not a metadata path (segments of A-Z a-z 0-9 _ -)`, pos)
    if (!quoted && value === '*') return { type: 'meta', path, op: 'exists', value: '' }
    const comparison = quoted ? undefined : COMPARISONS.find(([symbol]) => value.startsWith(symbol))
    if (comparison) {
      const number = Number(value.slice(comparison[0].length))
      if (value.length === comparison[0].length || !Number.isFinite(number)) {
        throw queryError(`${comparison[0]} takes a number`, valuePos)
      }
      return { type: 'metaCompare', path, op: comparison[1], value: number }
    }
    return { type: 'meta', path, op: 'eq', value }
  }
  if (!(STRING_FIELDS as readonly string[]).includes(name)) {
    throw queryError(`unknown field "${name.slice(0, 40)}" (fields: message, ${STRING_FIELDS.join(', ')}, metadata.<path>)`, pos)
  }
  const field = name as StringField
  if (!quoted && value === '*') return { type: 'field', field, op: 'exists', value: '' }
  if (!quoted && COMPARISONS.some(([symbol]) => value.startsWith(symbol))) {
    throw queryError(`${field} is not numeric; comparisons work on metadata.<path>`, valuePos)
  }
  if (field === 'level') {
    const level = LEVEL_ALIASES[value.toLowerCase()]
    if (!level) throw queryError(`unknown level "${value.slice(0, 20)}"`, valuePos)
    return { type: 'field', field, op: 'eq', value: level }
  }
  if (!quoted && value.endsWith('*') && value.length > 1) return { type: 'field', field, op: 'prefix', value: value.slice(0, -1) }
  return { type: 'field', field, op: 'eq', value }
}

class Parser {
  private i = 0
  private terms = 0
  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.i]
  }

  parse(): QueryNode {
    if (this.tokens.length === 0) return { type: 'all' }
    const node = this.or(0)
    const extra = this.peek()
    if (extra) throw queryError(extra.kind === 'rparen' ? 'unmatched ")"' : 'unexpected input', extra.pos)
    return node
  }

  private or(depth: number): QueryNode {
    const items = [this.and(depth)]
    while (this.peek()?.kind === 'or') {
      const op = this.tokens[this.i++]!
      if (!this.startsOperand()) throw queryError('OR needs something on its right', op.pos)
      items.push(this.and(depth))
    }
    return items.length === 1 ? items[0]! : { type: 'or', items }
  }

  private startsOperand(): boolean {
    const t = this.peek()
    return !!t && t.kind !== 'rparen' && t.kind !== 'or' && t.kind !== 'and'
  }

  private and(depth: number): QueryNode {
    const first = this.peek()
    if (first && (first.kind === 'and' || first.kind === 'or')) throw queryError(`${first.kind.toUpperCase()} needs something on its left`, first.pos)
    const items = [this.unary(depth)]
    for (;;) {
      const t = this.peek()
      if (t?.kind === 'and') {
        this.i++
        if (!this.startsOperand()) throw queryError('AND needs something on its right', t.pos)
        items.push(this.unary(depth))
      } else if (this.startsOperand()) {
        items.push(this.unary(depth))
      } else {
        break
      }
    }
    return items.length === 1 ? items[0]! : { type: 'and', items }
  }

  private unary(depth: number): QueryNode {
    const t = this.peek()
    if (!t) throw queryError('the query ends too early', this.length)
    if (t.kind === 'not' || t.kind === 'minus') {
      this.i++
      if (!this.startsOperand()) throw queryError(`${t.kind === 'not' ? 'NOT' : '-'} needs something to negate`, t.pos)
      return { type: 'not', item: this.unary(depth + 1) }
    }
    return this.primary(depth)
  }

  private primary(depth: number): QueryNode {
    const t = this.tokens[this.i++]
    if (!t) throw queryError('the query ends too early', this.length)
    if (depth > MAX_DEPTH) throw queryError(`nesting deeper than ${MAX_DEPTH}`, t.pos)
    if (t.kind === 'lparen') {
      if (this.peek()?.kind === 'rparen') throw queryError('empty parentheses', t.pos)
      const inner = this.or(depth + 1)
      const close = this.tokens[this.i++]
      if (close?.kind !== 'rparen') throw queryError('missing ")" for this "("', t.pos)
      return inner
    }
    if (++this.terms > MAX_TERMS) throw queryError(`more than ${MAX_TERMS} terms`, t.pos)
    switch (t.kind) {
      case 'phrase':
        return textNode(t.text, t.pos, true)
      case 'fieldPhrase':
        return fieldNode(t.field, t.text, t.pos, true)
      case 'term': {
        const colon = t.text.indexOf(':')
        if (colon > 0) {
          const value = t.text.slice(colon + 1)
          if (value === '') throw queryError(`missing value after "${t.text.slice(0, 40)}"`, t.pos)
          return fieldNode(t.text.slice(0, colon), value, t.pos, false)
        }
        return textNode(t.text, t.pos, false)
      }
      default:
        throw queryError(`unexpected ${t.kind === 'rparen' ? '")"' : t.kind.toUpperCase()}`, t.pos)
    }
  }
}

export const parseQuery = (q: string): QueryNode => {
  if (q.length > MAX_QUERY_LENGTH) throw queryError(`longer than ${MAX_QUERY_LENGTH} characters`)
  return new Parser(lex(q), q.length).parse()
}
