import { validationError } from '../errors.js'

export interface Page<T> {
  items: T[]
  has_more: boolean
  cursor: string | null
}

/** Cursors are opaque to clients: base64url of the last key of the page. */
export const encodeCursor = (key: Record<string, string | number>): string =>
  Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')

export const decodeCursor = <T extends object>(cursor: string, fields: (keyof T)[]): T => {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>
    if (value && typeof value === 'object' && fields.every((f) => ['string', 'number'].includes(typeof value[f as string]))) {
      return value as T
    }
  } catch {
    // fall through to the validation error
  }
  throw validationError('cursor', 'is not a cursor returned by this endpoint')
}
