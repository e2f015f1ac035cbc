import { isDeepStrictEqual } from 'node:util'
import { parseQuery, queryError } from '../logs/query/parse.js'

/**
 * The `q` a viewer's read runs with: the token's fixed filter ANDed with the request's own,
 * `(<fixed>) AND (<request>)`, or the fixed filter alone when the request has none.
 *
 * Text is composed, because every read path (search, stats, tail, context, facets, patterns)
 * takes its filter as a `q` string; so the composition must not be something the request can
 * reshape. Each part is parsed alone first (a request `q` such as `x) OR (y` is refused as the
 * malformed query it is, 400 naming `q`), and the composed text must parse to exactly the AND
 * of the two parts' trees: a request cannot close the parenthesis around it and OR its way out
 * of the fixed filter, whatever the lexer does at the seams.
 */
export const withFixedFilter = (fixed: string | undefined, requested: string | undefined): string | undefined => {
  const own = requested !== undefined && requested.trim() !== '' ? requested : undefined
  if (fixed === undefined) return requested
  if (own === undefined) return fixed
  const fixedTree = parseQuery(fixed)
  const ownTree = parseQuery(own)
  const composed = `(${fixed}) AND (${own})`
  const tree = parseQuery(composed)
  if (!isDeepStrictEqual(tree, { type: 'and', items: [fixedTree, ownTree] })) {
    throw queryError('cannot be combined with the viewer token\'s fixed filter')
  }
  return composed
}

