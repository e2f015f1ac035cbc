import { readFileSync } from 'node:fs'
import { AppError, errorMessage, UserError } from '../errors.js'

/**
 * `redaction test`: the entries to try, from repeated --entry flags or one --file (NDJSON, one
 * entry a line, or a JSON array; `-` for stdin). Each entry keeps where it came from, so that a
 * mistake in it can be pointed at on the command line or in the file.
 */
export interface EntriesInput {
  entries: unknown[]
  /** Where entries[i] came from: `--entry #2`, `line 3 of entries.ndjson`. */
  sources: string[]
}

const badInput = (message: string): UserError => new UserError(message, { exitCode: 2 })

/** The first line of JSON.parse's complaint (it quotes the input, which may be long). */
const parseJson = (text: string): { value: unknown } | { error: string } => {
  try {
    return { value: JSON.parse(text) }
  } catch (err) {
    return { error: errorMessage(err).split('\n')[0]! }
  }
}

const fromFlags = (values: string[]): EntriesInput => {
  const entries = values.map((text, i) => {
    const parsed = parseJson(text)
    if ('error' in parsed) throw badInput(`--entry #${i + 1} is not valid JSON: ${parsed.error}`)
    return parsed.value
  })
  return { entries, sources: values.map((_, i) => `--entry #${i + 1}`) }
}

const fromFile = (file: string): EntriesInput => {
  const name = file === '-' ? 'stdin' : file
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (err) {
    throw badInput(`Could not read ${name}: ${errorMessage(err)}`)
  }
  // A JSON array (possibly spread over lines), else NDJSON; blank lines are skipped.
  if (text.trimStart().startsWith('[')) {
    const parsed = parseJson(text)
    if ('error' in parsed) throw badInput(`${name} starts with "[" but is not a valid JSON array: ${parsed.error}`)
    const entries = parsed.value as unknown[]
    return { entries, sources: entries.map((_, i) => `element ${i + 1} of ${name}`) }
  }
  const entries: unknown[] = []
  const sources: string[] = []
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return
    const parsed = parseJson(line)
    if ('error' in parsed) throw badInput(`Line ${i + 1} of ${name} is not valid JSON: ${parsed.error}`)
    entries.push(parsed.value)
    sources.push(`line ${i + 1} of ${name}`)
  })
  if (entries.length === 0) throw badInput(`${name} holds no entries: one JSON object a line, or a JSON array.`)
  return { entries, sources }
}

export const readEntries = (flags: { entry?: string[]; file?: string }): EntriesInput => {
  if (flags.file !== undefined) return fromFile(flags.file)
  return fromFlags(flags.entry ?? [])
}

/**
 * The API's validation error for `entries[i].…`, its message followed by where that entry came
 * from (the details, which scripts read, stay the API's).
 */
export const withEntrySource = (err: unknown, sources: string[]): unknown => {
  if (!(err instanceof AppError) || err.code !== 'validation_error') return err
  const index = /^entries\[(\d+)\]/.exec(err.details?.[0]?.field ?? '')?.[1]
  const source = index === undefined ? undefined : sources[Number(index)]
  if (source === undefined) return err
  return new AppError('validation_error', `${err.message} (${source})`, { details: err.details, cause: err })
}
