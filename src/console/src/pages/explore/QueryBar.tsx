import { useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError } from '../../api.js'
import { type Filters, quoteValue } from './state.js'

export interface QueryBarProps {
  /** The `q` of the URL; the bar edits a draft of it until Enter. */
  value: string
  onSubmit: (q: string) => void
  /** The last search's error: a malformed q is shown with the position where it broke. */
  error?: unknown
  /** Project and range, for value suggestions (top values from GET /logs/facets). */
  filters: Filters
}

/** Fields of the q language (API.md "The q language"); metadata paths are typed after `metadata.`. */
const FIELDS = ['level', 'service', 'stream', 'message', 'trace_id', 'span_id', 'metadata.'] as const
const VALUE_FIELDS = ['level', 'service', 'stream'] as const
const MAX_SUGGESTIONS = 8

interface Suggestion {
  /** What replaces the word at the caret. */
  insert: string
  label: string
  hint?: string
}

/** The word being typed: from the last space or parenthesis before the caret to the caret. */
const wordAt = (text: string, caret: number): { start: number; word: string } => {
  let start = caret
  while (start > 0 && !/[\s()]/.test(text[start - 1]!)) start--
  return { start, word: text.slice(start, caret) }
}

const suggestionsFor = (word: string, values: Record<string, { value: string; count: number }[]> | undefined): Suggestion[] => {
  const neg = word.startsWith('-') ? '-' : ''
  const w = word.slice(neg.length)
  const colon = w.indexOf(':')
  if (colon < 0) {
    if (!w) return []
    return FIELDS.filter((f) => f.startsWith(w.toLowerCase()) && f !== w).map((f) => ({ insert: `${neg}${f}${f.endsWith('.') ? '' : ':'}`, label: f, hint: 'field' }))
  }
  const field = w.slice(0, colon).toLowerCase()
  const typed = w.slice(colon + 1).replace(/^"/, '').toLowerCase()
  const known = values?.[field]
  if (!known) return []
  return known
    .filter((v) => v.value !== '' && v.value.toLowerCase().startsWith(typed) && v.value.toLowerCase() !== typed)
    .slice(0, MAX_SUGGESTIONS)
    .map((v) => ({ insert: `${neg}${field}:${quoteValue(v.value)} `, label: v.value, hint: String(v.count) }))
}

/**
 * The query bar: the `q` language with syntax help, suggestions of field names and of the top
 * values of level, service and stream, and a malformed query's error pointing at where it broke.
 * Enter runs the query (also when it did not change: it re-reads a relative range).
 */
export const QueryBar = ({ value, onSubmit, error, filters }: QueryBarProps) => {
  const input = useRef<HTMLInputElement>(null)
  const [draft, setDraft] = useState(value)
  const [caret, setCaret] = useState(0)
  const [open, setOpen] = useState(false)
  const [active, setActive] = useState(0)
  const [help, setHelp] = useState(false)
  const [values, setValues] = useState<Record<string, { value: string; count: number }[]>>()
  useEffect(() => setDraft(value), [value])

  // Top values for suggestions, once per project and range, when the bar is first used.
  const valuesKey = `${filters.project_id}|${filters.from}|${filters.to}`
  const [wantValues, setWantValues] = useState(false)
  // A failed fetch is tried again (a few times, a moment later): suggestions are a help, not a must.
  const [valuesTry, setValuesTry] = useState(0)
  useEffect(() => {
    if (!wantValues || !filters.project_id) return
    const ctl = new AbortController()
    let retry: ReturnType<typeof setTimeout> | undefined
    api<{ fields: Record<string, { value: string; count: number }[]> }>('GET', '/logs/facets', {
      query: { project_id: filters.project_id, from: filters.from, to: filters.to, fields: VALUE_FIELDS.join(','), limit: 20 },
      signal: ctl.signal,
      priority: 'low',
    }).then(
      (a) => !ctl.signal.aborted && setValues(a.fields),
      () => {
        if (!ctl.signal.aborted && valuesTry < 5) retry = setTimeout(() => setValuesTry((n) => n + 1), 500)
      },
    )
    return () => {
      clearTimeout(retry)
      ctl.abort()
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [valuesKey, wantValues, valuesTry])

  const { start, word } = wordAt(draft, caret)
  const suggestions = open ? suggestionsFor(word, values) : []

  const accept = (s: Suggestion) => {
    const next = draft.slice(0, start) + s.insert + draft.slice(caret)
    const pos = start + s.insert.length
    setDraft(next)
    setActive(0)
    requestAnimationFrame(() => {
      input.current?.setSelectionRange(pos, pos)
      setCaret(pos)
    })
  }

  const submit = () => {
    performance.mark('krafter:search-submit')
    setOpen(false)
    onSubmit(draft.trim())
  }

  const onKeyDown = (e: KeyboardEvent) => {
    if (suggestions.length && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault()
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length)
    } else if (suggestions.length && e.key === 'Tab') {
      e.preventDefault()
      accept(suggestions[Math.min(active, suggestions.length - 1)]!)
    } else if (e.key === 'Enter') {
      e.preventDefault()
      submit()
    } else if (e.key === 'Escape' && (suggestions.length || help)) {
      e.stopPropagation()
      setOpen(false)
      setHelp(false)
    }
  }

  const apiError = error instanceof ApiError ? error : undefined
  const qError = apiError && apiError.status === 400 && apiError.details.some((d) => d.field === 'q') ? apiError : undefined
  const position = qError?.queryPosition
  return (
    <div class="querybar">
      <div class="query-wrap">
        <input
          id="query-input"
          ref={input}
          class={`query mono${qError ? ' invalid' : ''}`}
          data-testid="query-input"
          aria-label="Query (q language)"
          aria-invalid={qError ? true : undefined}
          aria-autocomplete="list"
          data-values={values ? 'loaded' : undefined}
          aria-controls="query-suggestions"
          autocomplete="off"
          spellcheck={false}
          placeholder='level:error service:api "timeout"   — press / to focus, Enter to run'
          value={draft}
          onInput={(e) => {
            setDraft(e.currentTarget.value)
            setCaret(e.currentTarget.selectionStart ?? e.currentTarget.value.length)
            setOpen(true)
            setActive(0)
          }}
          onFocus={() => setWantValues(true)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onKeyDown={onKeyDown}
          onKeyUp={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        />
        {suggestions.length > 0 && (
          <ul class="suggestions" id="query-suggestions" role="listbox" data-testid="suggestions">
            {suggestions.map((s, i) => (
              <li
                key={s.insert}
                role="option"
                aria-selected={i === active}
                class={i === active ? 'active' : ''}
                data-testid="suggestion"
                data-value={s.insert}
                onMouseDown={(e) => {
                  e.preventDefault()
                  accept(s)
                }}
              >
                <span class="mono">{s.label}</span>
                {s.hint && <span class="hint">{s.hint}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
      <button type="button" class="btn" data-testid="query-run" onClick={submit} title="Run (Enter)">
        Run
      </button>
      <button type="button" class={`btn ghost${help ? ' active' : ''}`} data-testid="query-help-button" aria-expanded={help} aria-label="Query syntax help" onClick={() => setHelp((h) => !h)}>
        ?
      </button>
      {help && <QueryHelp onClose={() => setHelp(false)} />}
      {qError && (
        <div class="query-error" role="alert" data-testid="query-error" data-position={position === undefined ? undefined : String(position)}>
          <span>{qError.details.find((d) => d.field === 'q')?.message ?? qError.message}</span>
          {position !== undefined && (
            <pre class="query-caret" aria-hidden="true">
              {value}
              {'\n'}
              {' '.repeat(Math.min(position, value.length))}^
            </pre>
          )}
        </div>
      )}
    </div>
  )
}

const HELP: [string, string][] = [
  ['timeout db', 'both words, as whole tokens'],
  ['"connection reset"', 'a phrase'],
  ['timeo*', 'a word prefix'],
  ['a OR b · NOT a · -a · ( )', 'either, not, grouping (AND is implied)'],
  ['level:error service:api', 'a field: level, service, stream, message, trace_id, span_id'],
  ['metadata.user.id:42', 'a metadata path'],
  ['metadata.http.status:>=500', 'numbers: > >= < <='],
  ['trace_id:*', 'the field exists'],
]

const QueryHelp = ({ onClose }: { onClose: () => void }) => (
  <div class="query-help" data-testid="query-help" role="dialog" aria-label="Query syntax">
    <table class="grid">
      <tbody>
        {HELP.map(([example, meaning]) => (
          <tr key={example}>
            <td>
              <code>{example}</code>
            </td>
            <td>{meaning}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <p class="hint">
      Words are case-insensitive. Tab accepts a suggestion, Enter runs, Esc closes this.{' '}
      <button type="button" class="btn small" onClick={onClose}>
        Close
      </button>
    </p>
  </div>
)
