import { AppError } from '../../errors.js'
import { mayHoldSurrogates } from '../entry.js'

export interface Line {
  /** 1-based line number in the body. */
  number: number
  value?: unknown
  /** Why the line is not a JSON value. */
  error?: string
  /** The text may spell UTF-16 surrogates (see entry.ts). */
  surrogates?: boolean
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

const parseLine = (text: string, number: number, lines: Line[], maxEntries: number): void => {
  if (text.trim() === '') return
  if (lines.length >= maxEntries) throw new AppError('payload_too_large', `A batch takes at most ${maxEntries} entries`)
  try {
    lines.push({ number, value: JSON.parse(text), surrogates: mayHoldSurrogates(text) })
  } catch {
    lines.push({ number, error: 'is not valid JSON' })
  }
}

/**
 * Splits an NDJSON body into parsed lines with their numbers. Blank lines are skipped; a line
 * that is not UTF-8 or not JSON is reported, not thrown, so the rest of the batch is kept.
 * The body is decoded in one go; only a body with invalid UTF-8 is decoded line by line to
 * find the lines at fault.
 */
export const parseNdjson = (body: Buffer, maxEntries: number): Line[] => {
  const lines: Line[] = []
  let text: string | undefined
  try {
    text = utf8.decode(body)
  } catch {
    return parseNdjsonByLine(body, maxEntries)
  }
  let start = 0
  let number = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    number++
    parseLine(text.slice(start, end), number, lines, maxEntries)
    start = end + 1
  }
  return lines
}

const parseNdjsonByLine = (body: Buffer, maxEntries: number): Line[] => {
  const lines: Line[] = []
  let start = 0
  let number = 0
  while (start <= body.length) {
    let end = body.indexOf(10, start)
    if (end === -1) end = body.length
    number++
    let text: string | undefined
    try {
      text = utf8.decode(body.subarray(start, end))
    } catch {
      if (lines.length >= maxEntries) throw new AppError('payload_too_large', `A batch takes at most ${maxEntries} entries`)
      lines.push({ number, error: 'is not valid UTF-8' })
    }
    if (text !== undefined) parseLine(text, number, lines, maxEntries)
    start = end + 1
  }
  return lines
}
