import { describe, expect, it } from 'vitest'
import { buildEntry, encodeEntry, normalizeEntry, timestampWindow, validateEntry, type NormalizeContext } from '../../src/ingest/entry.js'

const receivedUs = Date.UTC(2025, 0, 15) * 1000
const ctx = (): NormalizeContext => {
  let n = 0
  return { projectId: 'p1', receivedUs, nextId: () => `id${++n}`, window: timestampWindow(receivedUs, 30) }
}

describe('entry stages (validate → entry → encode)', () => {
  it('composes to what normalizeEntry gives', () => {
    const input = { message: 'hello', level: 'WARNING', service: 'api', custom: 1, metadata: { a: { b: 2 } } }
    const valid = validateEntry(input, ctx())
    if ('error' in valid) throw new Error(valid.error.message)
    const entry = buildEntry(valid.fields, valid.timestamp)
    expect(entry).toMatchObject({ level: 'warn', service: 'api', stream: 'default', message: 'hello', metadata: { custom: 1, a: { b: 2 } } })
    expect(encodeEntry(entry, ctx())).toEqual(normalizeEntry(input, ctx()))
  })

  it('encodes what a stage between entry and encode rewrote, counting bytes on the result', () => {
    const valid = validateEntry({ message: 'password=hunter2', metadata: { token: 'secret-value' } }, ctx())
    if ('error' in valid) throw new Error(valid.error.message)
    const entry = buildEntry(valid.fields, valid.timestamp)
    const redacted = { ...entry, message: 'password=[redacted]', metadata: { token: '[redacted]' } }
    const row = encodeEntry(redacted, ctx())
    if ('error' in row) throw new Error(row.error.message)
    const stored = JSON.parse(row.line) as Record<string, unknown>
    expect(stored.message).toBe('password=[redacted]')
    expect(stored.metadata).toEqual({ token: '[redacted]' })
    expect(row.line).not.toContain('hunter2')
    expect(row.bytes).toBe('password=[redacted]'.length + 'default'.length + JSON.stringify({ token: '[redacted]' }).length)
  })

  it('keeps the order of faults: entry rules before metadata limits', () => {
    expect(validateEntry({ message: '', timestamp: 'nope' }, ctx())).toEqual({ error: expect.objectContaining({ field: 'message' }) })
    expect(normalizeEntry({ message: 'x', timestamp: 'nope', metadata: { big: 'y'.repeat(70_000) } }, ctx())).toEqual({
      error: expect.objectContaining({ field: 'timestamp' }),
    })
    expect(normalizeEntry({ message: 'x', metadata: { big: 'y'.repeat(70_000) } }, ctx())).toEqual({ error: expect.objectContaining({ field: 'metadata' }) })
  })
})
