import { Flags } from '@oclif/core'
import type { FilterText } from '../ops/filter-text.js'

/**
 * The filters of GET /logs/search, /stats and /export as flags, shared by `search` and
 * `export` so both take a project and a query the same way. Values stay strings: the API's
 * schemas (FilterShape) validate them, with the API's messages.
 */
export const searchFilterFlags = {
  project: Flags.string({ char: 'p', description: 'Project id or exact name', required: true }),
  q: Flags.string({ description: 'Query in the q language (docs/api.md), e.g. \'timeout service:api\'' }),
  from: Flags.string({ description: 'Start (inclusive): ISO 8601 time or epoch milliseconds [default: 24 h before --to]' }),
  to: Flags.string({ description: 'End (exclusive): ISO 8601 time or epoch milliseconds [default: now]' }),
  level: Flags.string({ description: 'Comma list of levels: debug, info, warn, error, fatal' }),
  service: Flags.string({ description: 'Exact service' }),
  stream: Flags.string({ description: 'Exact stream' }),
  'trace-id': Flags.string({ description: 'Exact trace id' }),
  'span-id': Flags.string({ description: 'Exact span id' }),
}

/** The filter flags as the API names them (trace_id, span_id); undefined when not given. */
export const filtersOf = (flags: Omit<FilterText, 'trace_id' | 'span_id'> & { 'trace-id'?: string; 'span-id'?: string }): FilterText => ({
  q: flags.q,
  from: flags.from,
  to: flags.to,
  level: flags.level,
  service: flags.service,
  stream: flags.stream,
  trace_id: flags['trace-id'],
  span_id: flags['span-id'],
})
