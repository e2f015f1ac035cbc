/** How a listing is ordered: two columns (a sort key and a unique tie-breaker), one direction. */
export interface KeysetOrder {
  readonly columns: readonly [string, string]
  readonly direction: 'ASC' | 'DESC'
}

/** A filter clause and its bound values; a falsy entry is a filter the caller did not ask for. */
export type Filter = readonly [sql: string, params: Record<string, unknown>] | false | '' | null | undefined

/**
 * The SQL of one keyset page of a list repository: the filters, the seek past the key of the
 * previous page's last row, the order and `limit`. Identifiers come from the repository, never
 * from input; every value (the key included) is a bound parameter.
 */
export const keysetQuery = (q: {
  select: string
  filters: Filter[]
  order: KeysetOrder
  after?: readonly [string, string | number]
  limit: number
}): { sql: string; params: Record<string, unknown> } => {
  const where: string[] = []
  const params: Record<string, unknown> = { limit: q.limit }
  for (const filter of q.filters) {
    if (!filter) continue
    where.push(filter[0])
    Object.assign(params, filter[1])
  }
  const [sortKey, tieBreaker] = q.order.columns
  if (q.after) {
    const op = q.order.direction === 'ASC' ? '>' : '<'
    where.push(`(${sortKey} ${op} @keysetSort OR (${sortKey} = @keysetSort AND ${tieBreaker} ${op} @keysetTie))`)
    params.keysetSort = q.after[0]
    params.keysetTie = q.after[1]
  }
  const whereSql = where.length ? ` WHERE ${where.join(' AND ')}` : ''
  const dir = q.order.direction
  return { sql: `${q.select}${whereSql} ORDER BY ${sortKey} ${dir}, ${tieBreaker} ${dir} LIMIT @limit`, params }
}
