/**
 * Linear-time regex engines for custom redaction patterns (#14): re2js (pure JS port of RE2)
 * vs re2-wasm (Google's RE2 compiled to WASM), with V8 RegExp as the reference; then the cost
 * of redactEntry with the default rules over bench entries.
 *
 *   npx tsx bench/regex-engines.ts [--runs 7] [--entries 100000]
 *
 * Each figure is the median of the runs with min–max. The native `re2` package is not a
 * candidate: it builds with node-gyp in an install script, and npm 11 here runs no install
 * scripts.
 */
import { createRequire } from 'node:module'
import { RE2JS } from 're2js'
import { buildEntry, timestampWindow, validateEntry, type LogEntry } from '../src/ingest/entry.js'
import { BUILTIN_RULES, compileRedaction, redactEntry } from '../src/redaction/index.js'
import { makeEntryFactory } from './data.js'

const require = createRequire(import.meta.url)
/** re2-wasm lost the measurement and is no longer installed: its row runs only where it is (`npm i --no-save re2-wasm`). */
type Re2Wasm = { lastIndex: number; test(s: string): boolean; [Symbol.replace](s: string, r: string): string }
const RE2Wasm = ((): (new (p: string, flags: string) => Re2Wasm) | undefined => {
  try {
    return (require('re2-wasm') as { RE2: new (p: string, flags: string) => Re2Wasm }).RE2
  } catch {
    return undefined
  }
})()

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const RUNS = arg('runs', 7)
const ENTRIES = arg('entries', 100_000)

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! }
}
const fmt = (xs: number[], unit: string, digits = 2) => {
  const { median, min, max } = stats(xs)
  return `${median.toFixed(digits)} ${unit} (${min.toFixed(digits)}–${max.toFixed(digits)})`
}

// Realistic messages: the bench data set's, one in ten carrying something a pattern finds.
const next = makeEntryFactory(7)
// Bench messages are short (~60 bytes): with the entry's fields appended, as a request log
// line would print them, they are 150–250 bytes.
const messages: string[] = Array.from({ length: 20_000 }, (_, i) => {
  const e = next()
  const m = `${e.message} service=${e.service} trace_id=${e.trace_id ?? '-'} meta=${JSON.stringify(e.metadata)}`
  if (i % 10 === 0) return `${m} user=usr_${(i * 7919).toString(36).padStart(8, '0')} session=${i}`
  if (i % 10 === 5) return `${m} order ORD-${i} secret=abc${i}&x=1`
  return m
})
const avgBytes = messages.reduce((n, m) => n + m.length, 0) / messages.length

const PATTERNS = ['usr_[a-z0-9]{8}', 'ORD-[0-9]+', 'secret=[^\\s&]+', '(?i)(user|customer)[_ ]?id[=:] ?[0-9]+', '[0-9]{3}-[0-9]{2}-[0-9]{4}']

interface Engine {
  name: string
  compile(p: string): unknown
  /** Replace every match (what redaction does when the test matches). */
  replace(re: unknown, s: string): string
  test(re: unknown, s: string): boolean
}

const engines: Engine[] = [
  {
    name: 're2js',
    compile: (p) => RE2JS.compile(p),
    test: (re, s) => (re as RE2JS).test(s),
    replace: (re, s) => ((re as RE2JS).test(s) ? (re as RE2JS).matcher(s).replaceAll('[X]') : s),
  },
  {
    name: 'V8 RegExp (reference, not linear)',
    compile: (p) => (p.startsWith('(?i)') ? new RegExp(p.slice(4), 'gi') : new RegExp(p, 'g')),
    test: (re, s) => {
      const r = re as RegExp
      r.lastIndex = 0
      return r.test(s)
    },
    replace: (re, s) => s.replace(re as RegExp, '[X]'),
  },
]
if (RE2Wasm) engines.splice(1, 0, {
    name: 're2-wasm',
    // re2-wasm requires the u flag; (?i) is RE2 syntax it accepts.
    compile: (p) => new RE2Wasm!(p, 'gu'),
    test: (re, s) => {
      const r = re as Re2Wasm
      r.lastIndex = 0
      return r.test(s)
    },
    replace: (re, s) => s.replace(re as Re2Wasm, '[X]'),
  })

const time = (f: () => void): number => {
  const t = process.hrtime.bigint()
  f()
  return Number(process.hrtime.bigint() - t) / 1e6
}

console.log(`node ${process.version}; ${messages.length} messages, ${avgBytes.toFixed(0)} bytes on average; ${RUNS} runs each, median (min–max)\n`)
console.log('## Throughput: test + replace on every message, all patterns in turn')
for (const e of engines) {
  const compiled = PATTERNS.map((p) => e.compile(p))
  const run = () => {
    for (const re of compiled) for (const m of messages) e.replace(re, m)
  }
  run() // warm-up
  const us: number[] = []
  for (let r = 0; r < RUNS; r++) us.push((time(run) * 1000) / (messages.length * PATTERNS.length))
  const mbs = us.map((x) => avgBytes / x) // bytes/µs = MB/s
  console.log(`${e.name.padEnd(34)} ${fmt(us, 'µs/message·pattern', 3)}  ${fmt(mbs, 'MB/s', 0)}`)
}

console.log('\n## Compile cost (all patterns, fresh each time)')
for (const e of engines) {
  const us: number[] = []
  for (let r = 0; r < RUNS; r++) us.push((time(() => { for (let k = 0; k < 20; k++) for (const p of PATTERNS) e.compile(p) }) * 1000) / (20 * PATTERNS.length))
  console.log(`${e.name.padEnd(34)} ${fmt(us, 'µs/pattern', 1)}`)
}

console.log('\n## (a+)+$ on "a" x 50 000 + "b" (catastrophic backtracking on V8: not run there)')
for (const e of engines.slice(0, 2)) {
  const re = e.compile('(a+)+$')
  const s = 'a'.repeat(50_000) + 'b'
  const ms: number[] = []
  for (let r = 0; r < RUNS; r++) ms.push(time(() => e.replace(re, s)))
  console.log(`${e.name.padEnd(34)} ${fmt(ms, 'ms', 2)}`)
}

// Could the built-ins run on re2js too? RE2 has no (?!…) (used by the card, AWS, e-mail and IP
// patterns); the JWT and authorization patterns compile with re2js's LOOKBEHINDS flag: compare.
console.log('\n## Built-in patterns that re2js can compile: V8 vs re2js (test + replace per message)')
for (const b of BUILTIN_RULES.filter((x) => x.rule.name === 'jwt' || x.rule.name === 'authorization')) {
  for (const source of b.rule.pattern!.split(' | ')) {
    const flags = b.rule.name === 'authorization' ? 'gi' : 'g'
    const v8 = new RegExp(source, flags)
    const r2 = RE2JS.compile(source, RE2JS.LOOKBEHINDS | (flags === 'gi' ? RE2JS.CASE_INSENSITIVE : 0))
    const row = (name: string, f: (m: string) => unknown) => {
      for (const m of messages) f(m)
      const us: number[] = []
      for (let r = 0; r < RUNS; r++) us.push((time(() => { for (const m of messages) f(m) }) * 1000) / messages.length)
      console.log(`${`${b.rule.name} ${name}`.padEnd(34)} ${fmt(us, 'µs/message', 3)}`)
    }
    row('V8', (m) => m.replace(v8, '[X]'))
    row('re2js', (m) => (r2.test(m) ? r2.matcher(m).replaceAll('[X]') : m))
  }
}

// redactEntry over bench entries (validated and built as ingest does).
const receivedUs = Date.now() * 1000
const ctx = { projectId: 'p', receivedUs, nextId: () => 'x', window: timestampWindow(receivedUs, 30) }
const factory = makeEntryFactory(42, Date.now() - 3_600_000)
const entries: LogEntry[] = []
for (let i = 0; i < ENTRIES; i++) {
  const v = validateEntry(factory(), ctx)
  if ('error' in v) throw new Error(v.error.message)
  entries.push(buildEntry(v.fields, v.timestamp))
}
const key = Buffer.alloc(32, 7)
const sets = {
  'default rules': compileRedaction(),
  'all built-ins (e-mail, IP on)': compileRedaction({ overrides: { 'builtin:email': { enabled: true }, 'builtin:ip_address': { enabled: true } } }),
  'defaults + 3 custom patterns (re2js)': compileRedaction({
    custom: PATTERNS.slice(0, 3).map((pattern, i) => ({ name: `c${i}`, pattern, behavior: 'mask' as const, applies_to: 'all' as const, enabled: true })),
  }),
}
// The same entries with a secret in one in ten (a bearer token in the message, a password field).
const leaky = entries.map((e, i) =>
  i % 10 === 0 ? { ...e, message: `${e.message} Authorization: Bearer tok_${i}abcdef`, metadata: { ...e.metadata, password: 'hunter2' } } : e,
)
console.log(`\n## redactEntry over ${ENTRIES} bench entries`)
for (const [name, c, data] of [
  ...Object.entries(sets).map(([n, c]) => [n, c, entries] as const),
  ['default rules, 1 in 10 entries leaky', sets['default rules'], leaky] as const,
]) {
  let sink = 0
  const run = () => {
    for (const e of data) sink += redactEntry(c, e, key).matched.length
  }
  run()
  const us: number[] = []
  for (let r = 0; r < RUNS; r++) us.push((time(run) * 1000) / entries.length)
  console.log(`${name.padEnd(40)} ${fmt(us, 'µs/entry', 3)}  (matches: ${sink})`)
}
