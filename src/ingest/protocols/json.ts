import { validationError } from '../../errors.js'
import { mayHoldSurrogates } from '../entry.js'
import { tooManyRecords, type DecodedRecord } from '../pipeline.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A whole body as one JSON value; the text is checked for surrogate escapes (entry.ts). */
const parseJsonBody = (body: Buffer): { value: unknown; surrogates: boolean } => {
  const text = utf8.decode(body)
  return { value: JSON.parse(text), surrogates: mayHoldSurrogates(text) }
}

/** A body holding one entry (POST /logs/ingest). */
export const decodeJsonEntry = (body: Buffer): DecodedRecord => {
  try {
    return { number: 1, ...parseJsonBody(body) }
  } catch {
    throw validationError('body', 'is not valid JSON (UTF-8)')
  }
}

/** Whether a JSON body is an array (its first non-blank byte is `[`), i.e. a batch of entries. */
export const isJsonArray = (body: Buffer): boolean =>
  body.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) === 0x5b /* [ */

/** A JSON array body → one record per element, numbered by array position. */
export const decodeJsonArray = (body: Buffer, maxEntries: number): DecodedRecord[] => {
  let parsed: { value: unknown; surrogates: boolean }
  try {
    parsed = parseJsonBody(body)
  } catch {
    throw validationError('body', 'is not a valid JSON array')
  }
  const { surrogates } = parsed
  const array = parsed.value as unknown[]
  if (array.length > maxEntries) throw tooManyRecords(maxEntries)
  return array.map((value, i) => ({ number: i + 1, value, surrogates }))
}
