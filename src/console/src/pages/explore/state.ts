// The explorer's whole state lives in the URL (/?project=…&q=…&range=1h&view=list&entry=…),
// so a copied link reproduces the view. This module is the one place that reads and writes it,
// turns it into the API's search filters, and edits `q` for click-to-filter and facets.

export type View = 'list' | 'patterns' | 'tail'

export const RANGE_PRESETS = [
  { id: '5m', label: 'Last 5 minutes', ms: 5 * 60_000 },
  { id: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const
export const DEFAULT_RANGE = '1h'

export interface ExploreState {
  /** Project id; '' until one is picked (the page picks the first it may read). */
  project: string
  q: string
  /** A preset id (relative to now) or 'custom' (then from/to hold ISO instants). */
  range: string
  from?: string
  to?: string
  view: View
  /** The entry whose details panel is open. */
  entry?: string
  /** Metadata paths the facets sidebar shows besides level, service, stream (e.g. metadata.http.status). */
  facets: string[]
}

export const readState = (query: URLSearchParams): ExploreState => {
  const view = query.get('view')
  const range = query.get('range') ?? (query.get('from') ? 'custom' : DEFAULT_RANGE)
  return {
    project: query.get('project') ?? '',
    q: query.get('q') ?? '',
    range: range === 'custom' || RANGE_PRESETS.some((p) => p.id === range) ? range : DEFAULT_RANGE,
    from: query.get('from') ?? undefined,
    to: query.get('to') ?? undefined,
    view: view === 'patterns' || view === 'tail' ? view : 'list',
    entry: query.get('entry') ?? undefined,
    facets: (query.get('facets') ?? '').split(',').filter((f) => /^metadata\.[A-Za-z0-9_.-]+$/.test(f)),
  }
}

/** The URL query of a state (defaults left out, so links stay short). */
export const stateQuery = (s: ExploreState): Record<string, string | undefined> => ({
  project: s.project || undefined,
  q: s.q || undefined,
  range: s.range === DEFAULT_RANGE ? undefined : s.range,
  from: s.range === 'custom' ? s.from : undefined,
  to: s.range === 'custom' ? s.to : undefined,
  view: s.view === 'list' ? undefined : s.view,
  entry: s.entry,
  facets: s.facets.length ? s.facets.join(',') : undefined,
})

/** The absolute time range a state means now. */
export const timeRange = (s: ExploreState, now = Date.now()): { from: string; to: string } => {
  if (s.range === 'custom' && s.from && s.to) return { from: s.from, to: s.to }
  const preset = RANGE_PRESETS.find((p) => p.id === s.range) ?? RANGE_PRESETS.find((p) => p.id === DEFAULT_RANGE)!
  return { from: new Date(now - preset.ms).toISOString(), to: new Date(now).toISOString() }
}

/** The search filters every explore endpoint takes (API.md "Explore"). */
export interface Filters {
  project_id: string
  q?: string
  from: string
  to: string
}

export const filtersOf = (s: ExploreState, now = Date.now()): Filters => ({ project_id: s.project, ...(s.q.trim() ? { q: s.q.trim() } : {}), ...timeRange(s, now) })

/** A `q` value: bare when it is a plain token, else a quoted phrase with " and \ escaped. */
export const quoteValue = (value: string): string => (/^[A-Za-z0-9_.@/-]+$/.test(value) && !/^(AND|OR|NOT)$/.test(value) ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`)

/** The clause for "this field has this value" (or, excluded, "has not"). */
export const clauseOf = (field: string, value: string, exclude = false): string => `${exclude ? '-' : ''}${field}:${quoteValue(value)}`

/**
 * `q` with a field filter toggled: adding `service:api` (or `-service:api`); clicking the same
 * one again removes it; the opposite one is replaced. Other parts of `q` are kept as typed.
 */
export const toggleClause = (q: string, field: string, value: string, exclude = false): string => {
  const want = clauseOf(field, value, exclude)
  const opposite = clauseOf(field, value, !exclude)
  const parts = splitTopLevel(q)
  if (parts.includes(want)) return parts.filter((p) => p !== want).join(' ')
  return [...parts.filter((p) => p !== opposite), want].join(' ')
}

/** Whether `q` holds the clause at its top level (for showing a facet value as included/excluded). */
export const hasClause = (q: string, field: string, value: string, exclude = false): boolean => splitTopLevel(q).includes(clauseOf(field, value, exclude))

/** Whitespace-separated parts of q outside quotes and parentheses. */
export const splitTopLevel = (q: string): string[] => {
  const parts: string[] = []
  let depth = 0
  let quoted = false
  let cur = ''
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!
    if (quoted && c === '\\' && i + 1 < q.length) {
      cur += c + q[i + 1]
      i++
      continue
    }
    if (c === '"') quoted = !quoted
    else if (!quoted && c === '(') depth++
    else if (!quoted && c === ')') depth = Math.max(0, depth - 1)
    if (!quoted && depth === 0 && /\s/.test(c)) {
      if (cur) parts.push(cur)
      cur = ''
    } else cur += c
  }
  if (cur) parts.push(cur)
  return parts
}

/** The fields of an entry a click can filter on, as `q` field names. */
export const FILTERABLE_FIELDS = ['level', 'service', 'stream', 'trace_id', 'span_id'] as const

/** A log entry as the API returns it (API.md "Log entry"). */
export interface LogEntry {
  id: string
  project_id?: string
  timestamp: string
  level: string
  message: string
  service?: string | null
  stream?: string | null
  trace_id?: string | null
  span_id?: string | null
  metadata?: Record<string, unknown> | null
  [k: string]: unknown
}
