import { z } from 'zod'
import { validationError } from '../errors.js'

export interface Page<T> {
  items: T[]
  has_more: boolean
  cursor: string | null
}

/** Cursors are opaque to clients: base64url of the last key of the page. */
export const encodeCursor = (key: Record<string, string | number>): string =>
  Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')

/**
 * A cursor comes back from the client, so it is input like any other: its key must have
 * exactly the fields and types the listing encodes, or a forged one ({"t":"abc"}, 1e30) would
 * reach the query and fail there instead of being refused.
 */
export const decodeCursor = <T>(cursor: string, key: z.ZodType<T>): T => {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  const parsed = key.safeParse(value)
  if (parsed.success) return parsed.data
  throw validationError('cursor', 'is not a cursor returned by this endpoint')
}

/** The key of a listing ordered by text columns (an ISO time, an id): exactly these fields. */
export const textKey = <K extends string>(...fields: K[]) =>
  z.strictObject(Object.fromEntries(fields.map((f) => [f, z.string().max(128)])) as Record<K, z.ZodString>)

/**
 * A page from the `limit + 1` rows a keyset query fetched: the extra row only tells that there
 * is more, and the cursor is the key of the page's last row.
 */
export const pageOf = <R, T = R>(
  rows: R[],
  limit: number,
  keyOf: (last: R) => Record<string, string | number>,
  present: (row: R) => T = (row) => row as unknown as T,
): Page<T> => {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  const hasMore = rows.length > limit
  return { items: page.map(present), has_more: hasMore, cursor: hasMore && last ? encodeCursor(keyOf(last)) : null }
}

/** Every item of a paged listing, page after page (the CLI's list commands). */
export const allPages = <T>(fetchPage: (cursor: string | undefined) => Page<T>): T[] => {
  const all: T[] = []
  let cursor: string | undefined
  do {
    const page = fetchPage(cursor)
    all.push(...page.items)
    cursor = page.cursor ?? undefined
  } while (cursor)
  return all
}

