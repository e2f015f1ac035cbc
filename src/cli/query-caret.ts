import { AppError } from '../errors.js'

/** The position a q error names (queryError in logs/query/parse.ts: "Invalid q at position N: …"). */
export const queryErrorPosition = (err: unknown): number | undefined => {
  if (!(err instanceof AppError) || err.code !== 'validation_error') return undefined
  if (!err.details?.some((d) => d.field === 'q')) return undefined
  const match = /^Invalid q at position (\d+):/.exec(err.message)
  return match ? Number(match[1]) : undefined
}

/**
 * The query and a caret under `pos`, as two lines at most `width` wide: a long query is shown
 * as the window around the position, with … where it was cut.
 */
export const pointAtQuery = (q: string, pos: number, width = 80): [string, string] => {
  // One character each, so the caret stays under its character.
  // eslint-disable-next-line no-control-regex
  const shown = q.replace(/[\u0000-\u001F\u007F-\u009F]/g, ' ')
  const room = Math.max(20, width - 4)
  const at = Math.min(Math.max(pos, 0), shown.length)
  if (shown.length < room) return [`  ${shown}`, `  ${' '.repeat(at)}^`]
  const start = Math.max(0, Math.min(at - Math.floor(room / 2), shown.length - room + 2))
  const end = Math.min(shown.length, start + room - 2)
  const before = start > 0 ? '…' : ''
  const after = end < shown.length ? '…' : ''
  return [`  ${before}${shown.slice(start, end)}${after}`, `  ${' '.repeat(before.length + at - start)}^`]
}

/**
 * A bad q shown with the query and a caret under the position (for people; --json keeps the
 * plain message, whose details name the position). Any other error passes unchanged.
 */
export const withQueryCaret = (err: unknown, q: string | undefined, width?: number): unknown => {
  const pos = queryErrorPosition(err)
  if (pos === undefined || q === undefined) return err
  const { code, message, details } = err as AppError
  return new AppError(code, [message, ...pointAtQuery(q, pos, width)].join('\n'), { details, cause: err })
}
