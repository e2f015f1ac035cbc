import { AppError } from '../../errors.js'
import { mayHoldSurrogates } from '../entry.js'
import { MAX_REPORTED_ERRORS, tooManyRecords, type DecodedRecord } from '../pipeline.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

const NOT_JSON = { field: 'line', message: 'is not valid JSON' }
const NOT_UTF8 = { field: 'line', message: 'is not valid UTF-8' }

const parseLine = (text: string, number: number, lines: DecodedRecord[], maxEntries: number): void => {
  if (text.trim() === '') return
  if (lines.length >= maxEntries) throw tooManyRecords(maxEntries)
  try {
    lines.push({ number, value: JSON.parse(text), surrogates: mayHoldSurrogates(text) })
  } catch {
    lines.push({ number, refused: NOT_JSON })
  }
}

/**
 * An NDJSON body → one record per line, numbered by line. Blank lines are skipped; a line that
 * is not UTF-8 or not JSON is refused, not thrown, so the rest of the batch is kept; a body
 * where no line is JSON is not NDJSON at all (400). The body is decoded in one go; only a body
 * with invalid UTF-8 is decoded line by line to find the lines at fault.
 */
export const decodeNdjson = (body: Buffer, maxEntries: number): DecodedRecord[] => {
  const records = splitLines(body, maxEntries)
  if (records.length > 0 && records.every((r) => r.refused)) {
    throw new AppError('validation_error', 'The body is not NDJSON: no line is a JSON value', {
      details: records.slice(0, MAX_REPORTED_ERRORS).map((r) => ({ field: `line ${r.number}`, message: r.refused!.message })),
    })
  }
  return records
}

const splitLines = (body: Buffer, maxEntries: number): DecodedRecord[] => {
  const lines: DecodedRecord[] = []
  forEachLine(body, (text, number) => {
    if (text !== undefined) return parseLine(text, number, lines, maxEntries)
    if (lines.length >= maxEntries) throw tooManyRecords(maxEntries)
    lines.push({ number, refused: NOT_UTF8 })
  })
  return lines
}

/**
 * Calls `line` with each line of a body and its 1-based number, blank ones included (the
 * newline ending the last line does not start another), `text` undefined for a line that is
 * not UTF-8: for decoders whose lines mean something by their place (Elasticsearch bulk
 * pairs). The body is decoded in one go; only a body with invalid UTF-8 is decoded line by
 * line to find the lines at fault.
 */
export const forEachLine = (body: Buffer, line: (text: string | undefined, number: number) => void): void => {
  let text: string | undefined
  try {
    text = utf8.decode(body)
  } catch {
    return forEachLineOfBytes(body, line)
  }
  let start = 0
  let number = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    line(text.slice(start, end), ++number)
    start = end + 1
  }
}

const forEachLineOfBytes = (body: Buffer, line: (text: string | undefined, number: number) => void): void => {
  let start = 0
  let number = 0
  while (start < body.length) {
    let end = body.indexOf(10, start)
    if (end === -1) end = body.length
    let text: string | undefined
    try {
      text = utf8.decode(body.subarray(start, end))
    } catch {
      text = undefined
    }
    line(text, ++number)
    start = end + 1
  }
}
