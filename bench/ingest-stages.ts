/**
 * npm run bench:stages — the CPU one entry costs in each stage of the ingest pipeline on its
 * own, in one thread, without HTTP, redaction, the spool or the engine: the least serve's main
 * thread spends per entry of bench:ingest's NDJSON (bench/data.ts). BENCH_ENTRIES lines
 * (default 200,000), each stage BENCH_RUNS (5) times; prints the runs sorted, µs per entry.
 */
import { readFileSync } from 'node:fs'
import { buildEntry, encodeEntry, timestampWindow, validateEntry } from '../src/ingest/entry.js'
import { parseTimestamp } from '../src/logs/fields.js'
import { createIdGenerator } from '../src/logs/ids.js'
import { ensureDataSet } from './data.js'

const N = Number(process.env.BENCH_ENTRIES ?? 200_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const lines = readFileSync(await ensureDataSet(1_000_000), 'utf8').split('\n').filter(Boolean).slice(0, N)
const receivedUs = Date.now() * 1000
// A retention of 100 years: every timestamp of the data set is in the window.
const ctx = { projectId: '11111111-1111-4111-8111-111111111111', receivedUs, nextId: createIdGenerator(), window: timestampWindow(receivedUs, 36_500) }

type Valid = { fields: Parameters<typeof buildEntry>[0]; timestamp: number }
const valid = (v: ReturnType<typeof validateEntry>): Valid => {
  if ('error' in v) throw new Error(`the data set has an entry the rules refuse: ${v.error.field} ${v.error.message}`)
  return v
}
const time = (name: string, stage: () => void) => {
  const runs: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const started = performance.now()
    stage()
    runs.push(((performance.now() - started) * 1000) / lines.length)
  }
  console.log(`| ${name} | ${runs.sort((a, b) => a - b).map((x) => x.toFixed(2)).join(', ')} |`)
}

console.log(`| stage (${lines.length.toLocaleString('en-US')} entries, ${RUNS} runs) | µs per entry, runs sorted |`)
console.log('| --- | --- |')
let parsed: unknown[] = []
time('JSON.parse of the line', () => {
  parsed = lines.map((l) => JSON.parse(l))
})
time('entry rules (validateEntry: zod shape, sizes, timestamp)', () => {
  for (const v of parsed) validateEntry(v, ctx)
})
const valids = parsed.map((v) => valid(validateEntry(v, ctx)))
time('  of which parseTimestamp', () => {
  for (const v of valids) parseTimestamp(v.fields.timestamp!)
})
time('buildEntry (defaults, level, unknown fields)', () => {
  for (const v of valids) buildEntry(v.fields, v.timestamp)
})
const entries = valids.map((v) => buildEntry(v.fields, v.timestamp))
time('encodeEntry (the JSONEachRow row)', () => {
  for (const e of entries) encodeEntry(e, ctx)
})
const rows = entries.map((e) => {
  const r = encodeEntry(e, ctx)
  if ('error' in r) throw new Error(r.error.message)
  return r.line
})
time('1,000 rows joined and UTF-8 encoded (the spool append)', () => {
  for (let i = 0; i < rows.length; i += 1000) Buffer.from(rows.slice(i, i + 1000).join(''), 'utf8')
})
time('all of the above, line by line', () => {
  for (const l of lines) {
    const v = valid(validateEntry(JSON.parse(l), ctx))
    encodeEntry(buildEntry(v.fields, v.timestamp), ctx)
  }
})
