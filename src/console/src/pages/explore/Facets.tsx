import { useState } from 'preact/hooks'
import { api } from '../../api.js'
import { ErrorBanner, formatCount, useLoad } from '../../components/ui.js'
import { clauseOf, type ExploreState, type Filters, hasClause, splitTopLevel } from './state.js'
import './facets.css'

export interface FacetsProps {
  state: ExploreState
  filters: Filters
  /** Include (or exclude) a field value: the page toggles the clause in q (state.toggleClause). */
  onToggle: (field: string, value: string, exclude: boolean) => void
  /** The metadata paths to show besides level, service and stream (kept in the URL). */
  onFields: (fields: string[]) => void
}

interface FacetValue {
  value: string
  count: number
}
interface FacetsAnswer {
  total: number
  fields: Record<string, FacetValue[]>
}

const BASE_FIELDS = ['level', 'service', 'stream'] as const
/** The API's limit on fields per call (docs/api.md "Facets"). */
const MAX_FIELDS = 10
/** Values per field; also the rows reserved per field on the first load. */
const LIMIT = 10
const PLACEHOLDER_ROWS = 3

/** A metadata path as GET /logs/facets takes it: dotted segments of A-Z a-z 0-9 _ -, ≤ 200 chars after `metadata.`. */
export const isMetadataPath = (path: string): boolean => /^metadata\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(path) && path.length - 'metadata.'.length <= 200

/**
 * The values `q` includes or excludes for a field at its top level (e.g. `-service:worker`), so
 * a value filtered out of the counts still shows, and can be toggled back.
 */
const clausesFor = (q: string, field: string): { value: string; exclude: boolean }[] => {
  const out: { value: string; exclude: boolean }[] = []
  for (const part of splitTopLevel(q)) {
    const exclude = part.startsWith('-')
    const rest = exclude ? part.slice(1) : part
    if (!rest.startsWith(`${field}:`)) continue
    let value = rest.slice(field.length + 1)
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1')
    // Only clauses exactly as the sidebar would write them (not wildcards, ranges or groups).
    if (clauseOf(field, value, exclude) === part) out.push({ value, exclude })
  }
  return out
}

const levelClass = (field: string, value: string): string => (field === 'level' ? ` level-bar-${value.toLowerCase()}` : '')

/** The facets sidebar: top values of level, service, stream and chosen metadata paths, with include/exclude. */
export const FacetsSidebar = (props: FacetsProps) => {
  const { state, filters, onToggle, onFields } = props
  const fields = [...BASE_FIELDS, ...state.facets.filter((f) => !(BASE_FIELDS as readonly string[]).includes(f))].slice(0, MAX_FIELDS)
  const fieldsKey = fields.join(',')
  const filtersKey = JSON.stringify(filters)
  // filtersKey stands for filters (a new object each render must not reload).
  const { data, error, loading } = useLoad(
    (signal) => api<FacetsAnswer>('GET', '/logs/facets', { query: { ...filters, fields: fieldsKey, limit: LIMIT }, signal, priority: 'low' }),
    [filtersKey, fieldsKey],
  )
  const [adding, setAdding] = useState('')
  const [addError, setAddError] = useState('')

  const addField = (e: Event) => {
    e.preventDefault()
    const path = adding.trim()
    if (!isMetadataPath(path)) {
      setAddError('A metadata path such as metadata.http.status (dotted segments of A-Z a-z 0-9 _ -)')
      return
    }
    if (fields.includes(path)) {
      setAddError(`${path} is already shown`)
      return
    }
    if (fields.length >= MAX_FIELDS) {
      setAddError(`At most ${MAX_FIELDS} fields`)
      return
    }
    setAddError('')
    setAdding('')
    onFields([...state.facets, path])
  }

  const stale = loading && data !== undefined
  return (
    <aside class={`facets${stale ? ' stale' : ''}`} data-testid="facets" aria-busy={loading} aria-label="Facets">
      <div class="facets-total" data-testid="facets-total" data-count={data ? String(data.total) : undefined}>
        {data ? (
          <>
            <strong title={String(data.total)}>{formatCount(data.total)}</strong> {data.total === 1 ? 'entry' : 'entries'}
          </>
        ) : (
          <span class="facet-skeleton" />
        )}
      </div>
      <ErrorBanner error={error} />
      {fields.map((field) => {
        const values = data?.fields[field]
        const max = values?.reduce((m, v) => Math.max(m, v.count), 0) ?? 0
        // Filtered values missing from the counts (an excluded value counts 0) still show.
        const extra = clausesFor(state.q, field).filter((c) => !values?.some((v) => v.value === c.value))
        const removable = !(BASE_FIELDS as readonly string[]).includes(field)
        return (
          <section class="facet" key={field} data-testid="facet" data-field={field}>
            <header class="facet-head">
              <h3 class="mono">{field}</h3>
              {removable && (
                <button type="button" class="btn ghost small" data-testid="facet-remove" aria-label={`Remove ${field}`} title={`Remove ${field}`} onClick={() => onFields(state.facets.filter((f) => f !== field))}>
                  ✕
                </button>
              )}
            </header>
            {values === undefined ? (
              <ul class="facet-values">
                {Array.from({ length: PLACEHOLDER_ROWS }, (_, i) => (
                  <li key={i} class="facet-row placeholder">
                    <span class="facet-skeleton" />
                  </li>
                ))}
              </ul>
            ) : (
              <ul class="facet-values">
                {values.length === 0 && extra.length === 0 && <li class="facet-row empty hint">no values</li>}
                {[...values.map((v) => ({ ...v, extra: false })), ...extra.map((c) => ({ value: c.value, count: 0, extra: true }))].map((v) => {
                  const included = hasClause(state.q, field, v.value, false)
                  const excluded = hasClause(state.q, field, v.value, true)
                  const label = v.value === '' ? '(empty)' : v.value
                  return (
                    <li
                      key={v.value}
                      class={`facet-row${included ? ' included' : ''}${excluded ? ' excluded' : ''}`}
                      data-testid="facet-value"
                      data-field={field}
                      data-value={v.value}
                      data-count={String(v.count)}
                      data-state={included ? 'included' : excluded ? 'excluded' : undefined}
                    >
                      <button
                        type="button"
                        class="facet-include"
                        data-testid="facet-include"
                        aria-pressed={included}
                        title={included ? `Remove ${clauseOf(field, v.value)}` : `Only ${clauseOf(field, v.value)}`}
                        onClick={() => onToggle(field, v.value, false)}
                      >
                        <span class={`facet-bar${levelClass(field, v.value)}`} style={{ width: `${max > 0 ? (v.count / max) * 100 : 0}%` }} />
                        <span class={`facet-label${v.value === '' ? ' hint' : ''}`}>{label}</span>
                        <span class="facet-count" title={String(v.count)}>
                          {v.extra && excluded ? 'excluded' : formatCount(v.count)}
                        </span>
                      </button>
                      <button
                        type="button"
                        class="facet-exclude"
                        data-testid="facet-exclude"
                        aria-pressed={excluded}
                        aria-label={`Exclude ${label}`}
                        title={excluded ? `Remove ${clauseOf(field, v.value, true)}` : `Exclude: ${clauseOf(field, v.value, true)}`}
                        onClick={() => onToggle(field, v.value, true)}
                      >
                        −
                      </button>
                    </li>
                  )
                })}
              </ul>
            )}
          </section>
        )
      })}
      <form class="facet-add" onSubmit={addField} data-testid="facet-add">
        <input
          class="mono"
          name="facet_field"
          data-testid="facet-add-input"
          placeholder="metadata.http.status"
          aria-label="Add a metadata field"
          aria-invalid={addError ? true : undefined}
          value={adding}
          onInput={(e) => {
            setAdding(e.currentTarget.value)
            setAddError('')
          }}
        />
        <button type="submit" class="btn small" data-testid="facet-add-button" disabled={fields.length >= MAX_FIELDS}>
          Add
        </button>
      </form>
      {addError && (
        <p class="facet-add-error" role="alert" data-testid="facet-add-error">
          {addError}
        </p>
      )}
    </aside>
  )
}
