import { describe, expect, it } from 'vitest'
import { colorWanted, cut, displayTime, formatEntryLine, formatHeader, terminalSafe } from '../../src/cli/entry-format.js'
import { queryError } from '../../src/logs/query/parse.js'
import { pointAtQuery, queryErrorPosition, withQueryCaret } from '../../src/cli/query-caret.js'
import { AppError, validationError } from '../../src/errors.js'

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '')
const chars = (s: string) => [...s].length

const entry = {
  timestamp: '2026-11-27T10:00:00.123456Z',
  level: 'error',
  service: 'api',
  message: 'payment failed: card declined by the issuer after three retries, giving up',
}

describe('formatEntryLine', () => {
  it('lays out time (UTC, ms), level, service and message', () => {
    expect(formatEntryLine(entry, { color: false })).toBe(
      `2026-11-27 10:00:00.123  error  api${' '.repeat(13)}  ${entry.message}`,
    )
  })

  it('cuts the message to the width with an ellipsis, never below 10 characters', () => {
    for (const width of [60, 61, 80, 100]) {
      const line = formatEntryLine(entry, { width, color: false })
      expect(chars(line)).toBe(width)
      expect(line.endsWith('…')).toBe(true)
    }
    const wide = formatEntryLine(entry, { width: 200, color: false })
    expect(wide.endsWith('giving up')).toBe(true)
    const narrow = formatEntryLine(entry, { width: 30, color: false })
    expect(narrow.endsWith('  payment f…')).toBe(true)
  })

  it('colours the level only, and the width counts what is shown', () => {
    const line = formatEntryLine(entry, { width: 80, color: true })
    expect(line).toContain('\u001B[31merror\u001B[0m')
    expect(chars(plain(line))).toBe(80)
    expect(plain(line)).toBe(formatEntryLine(entry, { width: 80, color: false }))
    expect(formatEntryLine({ ...entry, level: 'warn' }, { color: true })).toContain('\u001B[33mwarn \u001B[0m')
    expect(formatEntryLine({ ...entry, level: 'fatal' }, { color: true })).toContain('\u001B[1;31mfatal\u001B[0m')
    expect(formatEntryLine(entry, { color: false })).not.toContain('\u001B')
    expect(formatHeader({ color: false })).toMatch(/^TIME \(UTC\) +LEVEL {2}SERVICE +MESSAGE$/)
    expect(plain(formatHeader({ color: true }))).toBe(formatHeader({ color: false }))
  })

  it('shows escape sequences and line breaks of a log line instead of obeying them', () => {
    const line = formatEntryLine({ ...entry, message: 'a\u001B[2Jb\nc\td\r\ne', service: 'x\u0007y' }, { color: false })
    expect(line).not.toMatch(/[\u0000-\u001F]/)
    expect(line).toContain('a\uFFFD[2Jb↵c d↵e')
    expect(line).toContain('x\uFFFDy')
    expect(terminalSafe('ok')).toBe('ok')
  })

  it('cuts a long service to its column', () => {
    const line = formatEntryLine({ ...entry, service: 'a-very-long-service-name' }, { color: false })
    expect(line).toContain('  a-very-long-ser…  payment')
  })

  it('cuts by characters, not UTF-16 units', () => {
    expect(cut('héllo wörld', 5)).toBe('héll…')
    expect(cut('😀😀😀', 2)).toBe('😀…')
    expect(cut('short', 10)).toBe('short')
  })

  it('shows a time without fraction with .000', () => {
    expect(displayTime('2026-11-27T10:00:00Z')).toBe('2026-11-27 10:00:00.000')
    expect(displayTime('not a time')).toBe('not a time')
  })
})

describe('colorWanted', () => {
  it('colours a terminal only, unless NO_COLOR or TERM=dumb', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true)
    expect(colorWanted({ isTTY: false }, {})).toBe(false)
    expect(colorWanted({}, {})).toBe(false)
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    // no-color.org: set to a non-empty value.
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true)
    expect(colorWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
  })
})

describe('the caret under a bad q', () => {
  it('reads the position of a q error, as the parser and the API give it', () => {
    expect(queryErrorPosition(queryError('unmatched ")"', 12))).toBe(12)
    // The same error as the CLI rebuilds it from a server's 400 envelope.
    const fromServer = new AppError('validation_error', 'Invalid q at position 3: unknown level "x"', {
      details: [{ field: 'q', message: 'unknown level "x" (position 3)' }],
    })
    expect(queryErrorPosition(fromServer)).toBe(3)
    expect(queryErrorPosition(queryError('too long'))).toBeUndefined()
    expect(queryErrorPosition(validationError('limit', 'must be an integer'))).toBeUndefined()
    expect(queryErrorPosition(new Error('Invalid q at position 1: x'))).toBeUndefined()
  })

  it('points at the position, in a window for a long query', () => {
    expect(pointAtQuery('level:error )', 12)).toEqual(['  level:error )', `  ${' '.repeat(12)}^`])
    expect(pointAtQuery('a\tb\n(', 4)).toEqual(['  a b (', '      ^'])
    expect(pointAtQuery('"open', 5)).toEqual(['  "open', '       ^'])
    const long = `${'word '.repeat(100)}) ${'more '.repeat(100)}`
    const pos = long.indexOf(')')
    const [shown, caret] = pointAtQuery(long, pos, 60)
    expect(chars(shown)).toBeLessThanOrEqual(58)
    expect(shown.startsWith('  …') && shown.endsWith('…')).toBe(true)
    expect(shown[caret.indexOf('^')]).toBe(')')
    const atStart = pointAtQuery(`) ${'x '.repeat(100)}`, 0, 40)
    expect(atStart[0]!.startsWith('  )')).toBe(true)
    expect(atStart[1]).toBe('  ^')
  })

  it('adds the query and caret to the message, keeping code and details', () => {
    const err = withQueryCaret(queryError('unmatched ")"', 12), 'level:error )') as AppError
    expect(err).toBeInstanceOf(AppError)
    expect(err.code).toBe('validation_error')
    expect(err.message).toBe(`Invalid q at position 12: unmatched ")"\n  level:error )\n  ${' '.repeat(12)}^`)
    expect(err.details).toEqual([{ field: 'q', message: 'unmatched ")" (position 12)' }])
    const other = validationError('limit', 'x')
    expect(withQueryCaret(other, 'q')).toBe(other)
  })
})
