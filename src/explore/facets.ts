import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { logTable as table } from '../engine/schema.js'
import { validationError } from '../errors.js'
import { metadataSubcolumn, type Params } from '../logs/query/compile.js'
import { METADATA_PATH } from '../logs/query/parse.js'
import { compileFilters, FilterShape, selectRows } from '../logs/search.js'
import { intParam } from './shared.js'

export const FACET_COLUMNS = ['level', 'service', 'stream'] as const
export const MAX_FACET_FIELDS = 10
const MAX_PATH_LENGTH = 200

export const FacetsInput = z
  .object({
    ...FilterShape,
    fields: z.string().max(4000, 'must be at most 4000 characters').default(FACET_COLUMNS.join(',')),
    limit: intParam(1, 100, 10),
  })
  .strict()
export type FacetsInput = z.infer<typeof FacetsInput>

export interface FacetValue {
  value: string
  count: number
}

export interface FacetsResult {
  total: number
  fields: Record<string, FacetValue[]>
}

const FIELD_RULE = `must be a comma list of at most ${MAX_FACET_FIELDS} of ${FACET_COLUMNS.join(', ')}, metadata.<path> (path: dotted segments of A-Z a-z 0-9 _ -)`

/** The facet fields asked for, each checked against the whitelist; duplicates count once. */
export const parseFacetFields = (spec: string): string[] => {
  const fields = [...new Set(spec.split(',').map((f) => f.trim()))]
  for (const field of fields) {
    const column = (FACET_COLUMNS as readonly string[]).includes(field)
    const path = field.startsWith('metadata.') ? field.slice('metadata.'.length) : undefined
    if (!column && !(path !== undefined && path.length <= MAX_PATH_LENGTH && METADATA_PATH.test(path))) {
      throw validationError('fields', field === '' ? `${FIELD_RULE}; an empty name was given` : `"${field.slice(0, 60)}" is not a facet field: ${FIELD_RULE}`)
    }
  }
  if (fields.length > MAX_FACET_FIELDS) throw validationError('fields', FIELD_RULE)
  return fields
}

/** A field's value as text: the column itself, or the metadata subcolumn (NULL where the entry lacks it). */
const valueExpr = (field: string, params: Params): string => {
  if (!field.startsWith('metadata.')) return `toString(${field})`
  const path = field.slice('metadata.'.length)
  // toString of an absent subcolumn is '', which a value may be too: keep absent as NULL.
  return `if(isNull(${metadataSubcolumn(path, params)}), NULL, toString(${metadataSubcolumn(path, params)}))`
}

/**
 * Top values per field plus the total, in one statement that reads the entries once: GROUPING
 * SETS aggregates every field (and the empty set, the total) in the same pass, then LIMIT BY
 * keeps each field's top `limit`. Entries lacking a metadata path group under NULL, which is
 * sorted after every value and dropped. Measured over 1.8M entries (level, service, stream and
 * one metadata path): ~105 ms, against ~125 ms for a UNION ALL of one GROUP BY per field and
 * ~245 ms for an arrayJoin of (field, value) pairs.
 */
export const buildFacetsSql = (engine: Engine, input: FacetsInput, now: Date) => {
  const fields = parseFacetFields(input.fields)
  const compiled = compileFilters(input, now)
  const { params } = compiled
  const columns = fields.map((f, i) => `${valueExpr(f, params)} AS c${i}`).join(', ')
  const which = `multiIf(${fields.map((_, i) => `grouping(c${i}) = 0, ${i}`).join(', ')}, -1)`
  const value = `multiIf(${fields.map((_, i) => `g = ${i}, c${i}`).join(', ')}, NULL)`
  const sql = `SELECT g, v, n FROM (
  SELECT ${which} AS g, ${value} AS v, count() AS n
  FROM (SELECT ${columns}\n  FROM ${table(engine)}\n  WHERE ${compiled.where})
  GROUP BY GROUPING SETS (${fields.map((_, i) => `(c${i})`).join(', ')}, ())
)
ORDER BY g, isNull(v), n DESC, v
LIMIT ${params.bind('UInt32', input.limit + 1)} BY g`
  return { fields, sql, params }
}

export const facetCounts = async (engine: Engine, input: FacetsInput, now: Date): Promise<FacetsResult> => {
  const { fields, sql, params } = buildFacetsSql(engine, input, now)
  const { rows } = await selectRows<{ g: number; v: string | null; n: number | string }>(engine, sql, params, { measure: false })
  const result: FacetsResult = { total: 0, fields: Object.fromEntries(fields.map((f) => [f, []])) }
  for (const row of rows) {
    const g = Number(row.g)
    if (g === -1) result.total = Number(row.n)
    const list = result.fields[fields[g] ?? '']
    if (list && row.v !== null && list.length < input.limit) list.push({ value: row.v, count: Number(row.n) })
  }
  return result
}
