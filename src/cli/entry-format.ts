/*
 * Log entries as table lines for a terminal: one line each, time, level (coloured), service,
 * message cut to the width. Pure functions, so the layout is tested without a terminal.
 */

export interface EntryLine {
  timestamp: string
  level: string
  service: string
  message: string
}

export interface LineOptions {
  /** Terminal columns; undefined: no cut. */
  width?: number
  color: boolean
}

const TIME_WIDTH = 23
const LEVEL_WIDTH = 5
const SERVICE_WIDTH = 16
const GAP = '  '
/** Never cut a message to less than this: on a terminal narrower than 60 columns the line wraps. */
const MIN_MESSAGE = 10

const LEVEL_COLORS: Record<string, string> = {
  debug: '90', // grey
  info: '32', // green
  warn: '33', // yellow
  error: '31', // red
  fatal: '1;31', // bold red
}

const paint = (text: string, code: string | undefined, color: boolean): string =>
  color && code ? `\u001B[${code}m${text}\u001B[0m` : text

/**
 * What a log line may not do to a terminal: escape sequences (colours, cursor moves, a title
 * change) and line breaks in a message are shown, not obeyed. Every character stays one
 * character, so the cut below counts what is shown.
 */
export const terminalSafe = (text: string): string =>
  text
    .replace(/\r\n|\r|\n/g, '↵')
    .replace(/\t/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001F\u007F-\u009F]/g, '\uFFFD')

/** At most `max` characters (code points), the last one an ellipsis when something was cut. */
export const cut = (text: string, max: number): string => {
  const chars = [...text]
  if (chars.length <= max) return text
  return max <= 0 ? '' : `${chars.slice(0, max - 1).join('')}…`
}

const pad = (text: string, width: number): string => {
  const cutText = cut(text, width)
  return cutText + ' '.repeat(Math.max(0, width - [...cutText].length))
}

/** 2026-11-27T10:00:00.123456Z → 2026-11-27 10:00:00.123 (UTC, as the header says). */
export const displayTime = (timestamp: string): string => {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(timestamp)
  return match ? `${match[1]} ${match[2]}${(match[3] ?? '.').padEnd(4, '0')}` : timestamp
}

const messageWidth = (width: number | undefined): number | undefined =>
  width === undefined ? undefined : Math.max(MIN_MESSAGE, width - (TIME_WIDTH + LEVEL_WIDTH + SERVICE_WIDTH + 3 * GAP.length))

export const formatHeader = (options: LineOptions): string => {
  const line = ['TIME (UTC)'.padEnd(TIME_WIDTH), 'LEVEL', 'SERVICE'.padEnd(SERVICE_WIDTH), 'MESSAGE'].join(GAP)
  return paint(line, '1', options.color)
}

export const formatEntryLine = (entry: EntryLine, options: LineOptions): string => {
  const level = paint(pad(terminalSafe(entry.level), LEVEL_WIDTH), LEVEL_COLORS[entry.level], options.color)
  const service = pad(terminalSafe(entry.service), SERVICE_WIDTH)
  const max = messageWidth(options.width)
  const message = terminalSafe(entry.message)
  return [pad(displayTime(entry.timestamp), TIME_WIDTH), level, service, max === undefined ? message : cut(message, max)].join(GAP).trimEnd()
}

/**
 * Colour only for a person at a terminal: not on a pipe or file, not with NO_COLOR set to
 * anything (no-color.org), not on a dumb terminal.
 */
export const colorWanted = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean =>
  stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb'
