/** The `q` language as a tree; compile.ts turns it into SQL with bound parameters. */
export const STRING_FIELDS = ['level', 'service', 'stream', 'trace_id', 'span_id'] as const
export type StringField = (typeof STRING_FIELDS)[number]

export type Comparison = 'gt' | 'gte' | 'lt' | 'lte'

export type QueryNode =
  | { type: 'and'; items: QueryNode[] }
  | { type: 'or'; items: QueryNode[] }
  | { type: 'not'; item: QueryNode }
  /** Free text on message: one token, a phrase (tokens in order), or a token prefix. */
  | { type: 'word'; token: string }
  | { type: 'phrase'; tokens: string[]; text: string }
  | { type: 'prefix'; prefix: string }
  | { type: 'field'; field: StringField; op: 'eq' | 'prefix' | 'exists'; value: string }
  | { type: 'meta'; path: string; op: 'eq' | 'exists'; value: string }
  | { type: 'metaCompare'; path: string; op: Comparison; value: number }
  | { type: 'all' }
