/** The search filters as the CLI passes them (flag text, API names), validated by each operation's schema. */
export interface FilterText {
  q?: string
  from?: string
  to?: string
  level?: string
  service?: string
  stream?: string
  trace_id?: string
  span_id?: string
}
