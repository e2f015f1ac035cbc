import { closest } from './suggest.js'

interface FlagShape {
  type: 'boolean' | 'option'
  required?: boolean
  hidden?: boolean
  options?: readonly string[]
  char?: string
  aliases?: string[]
  helpGroup?: string
}
interface ArgShape {
  required?: boolean
  hidden?: boolean
  description?: string
}
/** What oclif knows of a command (its class, or its cached manifest entry). */
export interface CommandShape {
  id: string
  args: Record<string, ArgShape>
  flags: Record<string, FlagShape>
}

/** `project:create` as the user types it. */
export const commandWords = (id: string): string => id.replaceAll(':', ' ')

const flagUsage = (name: string, flag: FlagShape): string => {
  if (flag.type === 'boolean') return `--${name}`
  const values = flag.options && flag.options.length <= 5 ? flag.options.join('|') : 'value'
  return `--${name} <${values}>`
}

/** One line, whatever the terminal width: arguments, required flags, then optional ones. */
export const usageLine = (bin: string, command: CommandShape): string => {
  const args = Object.entries(command.args)
    .filter(([, arg]) => !arg.hidden)
    .map(([name, arg]) => (arg.required ? name.toUpperCase() : `[${name.toUpperCase()}]`))
  // The command's own flags before --json and --data-dir, which every command has.
  const flags = Object.entries(command.flags)
    .filter(([, flag]) => !flag.hidden)
    .sort(([, a], [, b]) => Number(a.helpGroup === 'GLOBAL') - Number(b.helpGroup === 'GLOBAL'))
  const required = flags.filter(([, f]) => f.required).map(([name, f]) => flagUsage(name, f))
  const optional = flags.filter(([, f]) => !f.required).map(([name, f]) => `[${flagUsage(name, f)}]`)
  return `Usage: ${[bin, commandWords(command.id), ...args, ...required, ...optional].join(' ')}`
}

/** oclif's messages end in a help hint and spread over lines; ours are one line. */
const oneLine = (message: string): string =>
  message
    // eslint-disable-next-line no-control-regex
    .replace(/\u001B\[[0-9;]*m/g, '')
    .replace(/\n?See more help with --help/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ')

const flagNames = (command: CommandShape): string[] =>
  Object.entries(command.flags).flatMap(([name, flag]) => (flag.hidden ? [] : [name, ...(flag.aliases ?? [])]))

/** The unknown flag as typed, with a suggestion when it looks like a typo of a real one. */
const unknownFlag = (typed: string, command: CommandShape): string => {
  const name = typed.replace(/^-+/, '').split('=')[0]!
  const match = typed.startsWith('--') ? closest(name, flagNames(command)) : undefined
  return `Unknown flag ${typed.split('=')[0]}${match ? ` (did you mean --${match}?)` : ''}`
}

/**
 * What went wrong with the command line, as one sentence: a missing argument, an unknown
 * flag (with "did you mean"), an unexpected argument, or a flag value oclif refused.
 */
export const describeParseError = (err: unknown, command: CommandShape): string => {
  // oclif does not export its parse error classes; their names and fields are stable.
  const kind = (err as Error | undefined)?.constructor?.name
  const { args = [], flags = [] } = err as { args?: unknown[]; flags?: string[] }
  if (kind === 'RequiredArgsError') {
    const missing = (args as { name: string; description?: string }[]).map((arg) => `${arg.name.toUpperCase()}${arg.description ? ` (${arg.description})` : ''}`)
    return `Missing argument ${missing.join(', ')}`
  }
  if (kind === 'NonExistentFlagsError') return flags.map((flag) => unknownFlag(flag, command)).join('; ')
  if (kind === 'UnexpectedArgsError') {
    const takes = Object.keys(command.args).length
    return `Unexpected argument ${args.map((a) => JSON.stringify(String(a))).join(', ')}: the command takes ${takes === 0 ? 'no arguments' : `at most ${takes}`}`
  }
  const message = oneLine(err instanceof Error ? err.message : String(err))
  const parsing = /^Parsing (--\S+) (.*)$/.exec(message)
  if (parsing) return `Invalid value for ${parsing[1]}: ${parsing[2]}`
  const failed = /^The following errors? occurred: (.*)$/.exec(message)
  if (failed) return failed[1]!.replace(/Missing required flag (\S+)/g, 'Missing required flag --$1')
  return message
}

/** A failure as the CLI reports it; `exit` 2 is bad input, which gets the usage line. */
export interface CliFailure {
  code: string
  message: string
  exit: number
  details?: { field: string; message: string }[]
  suggestions?: string[]
  usage?: string
}

/**
 * Prints a failure: with --json one document on stdout (nothing else), otherwise the message,
 * the next steps and the usage line on stderr, never a stack trace or oclif's internals.
 */
export const reportFailure = (failure: CliFailure, json: boolean): void => {
  process.exitCode = failure.exit
  const { exit: _exit, usage, suggestions, ...error } = failure
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { ...error, ...(suggestions?.length ? { suggestions } : {}) } }, null, 2)}\n`)
    return
  }
  const lines = [`Error: ${failure.message}`, ...(suggestions ?? []).map((s) => `Hint: ${s}`), ...(usage ? [usage] : [])]
  process.stderr.write(`${lines.join('\n')}\n`)
}
