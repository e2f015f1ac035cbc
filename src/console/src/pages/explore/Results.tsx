import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { ApiError, request, type Page } from '../../api.js'
import { ErrorBanner, formatTime } from '../../components/ui.js'
import type { Filters, LogEntry } from './state.js'

/** One row's height in px (styles: --row-h); the virtual list places rows by it. */
export const ROW_HEIGHT = 28
const PAGE_SIZE = 200
/** Rows drawn beyond the visible ones, above and below, so fast scrolling shows no gaps. */
const OVERSCAN = 12
/** Load the next page when the last loaded row is this close to the viewport. */
const PREFETCH_ROWS = 60

export interface ResultsProps {
  filters: Filters
  /** The entry whose details are open (highlighted). */
  openId?: string
  onOpen: (entry: LogEntry) => void
  /** The first page's outcome, for the query bar (a malformed q is shown there). */
  onError: (error: unknown) => void
}

/** A result row: time, level, service, message on one line. Shared by the list and the tail. */
export const EntryRow = ({ entry, selected, onOpen, testId = 'row', index }: { entry: LogEntry; selected?: boolean; onOpen: (e: LogEntry) => void; testId?: string; index?: number }) => (
  <div
    class={`row${selected ? ' selected' : ''}`}
    role="row"
    aria-selected={selected}
    data-testid={testId}
    data-id={entry.id}
    data-index={index === undefined ? undefined : String(index)}
    onClick={() => onOpen(entry)}
  >
    <span class="col-time mono" role="cell">
      {formatTime(entry.timestamp)}
    </span>
    <span class={`col-level level level-${entry.level}`} role="cell">
      {entry.level}
    </span>
    <span class="col-service" role="cell" title={entry.service ?? ''}>
      {entry.service}
    </span>
    <span class="col-message mono" role="cell" title={entry.message}>
      {entry.message}
    </span>
  </div>
)

/** A malformed q: the query bar shows it, with its position. */
export const isQueryError = (error: unknown): boolean => error instanceof ApiError && error.status === 400 && error.details.some((d) => d.field === 'q')

interface SearchPage extends Page<LogEntry> {
  stats?: { elapsed_ms: number; rows_read?: number }
}

/**
 * The results of the search, newest first, in a virtual list: only the rows in view (and a few
 * around) are in the DOM, so thousands of rows scroll smoothly; the next page is fetched by
 * cursor as the end comes near. While a new search loads, the previous rows stay in place,
 * dimmed: nothing shifts.
 */
export const Results = ({ filters, openId, onOpen, onError }: ResultsProps) => {
  const scroller = useRef<HTMLDivElement>(null)
  const [rows, setRows] = useState<LogEntry[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [hasMore, setHasMore] = useState(false)
  const [loadingState, setLoading] = useState(true)
  /** The filters the rows are for: rows of other filters are old, whatever the state says. */
  const [rowsKey, setRowsKey] = useState<string>()
  const [loadingMore, setLoadingMore] = useState(false)
  const [error, setError] = useState<unknown>()
  const [elapsed, setElapsed] = useState<number>()
  const [scrollTop, setScrollTop] = useState(0)
  const [viewport, setViewport] = useState(600)
  const [selected, setSelected] = useState(-1)
  const selectedRef = useRef(selected)
  selectedRef.current = selected
  const painted = useRef(false)
  const generation = useRef(0)
  const filtersKey = JSON.stringify(filters)
  const loading = loadingState || rowsKey !== filtersKey

  useEffect(() => {
    if (!filters.project_id) return
    const ctl = new AbortController()
    const gen = ++generation.current
    setLoading(true)
    request<SearchPage>('GET', '/logs/search', { query: { ...filters, limit: PAGE_SIZE }, signal: ctl.signal, priority: 'high' }).then(
      (page) => {
        if (ctl.signal.aborted) return
        painted.current = false
        setRows(page.data)
        setCursor(page.cursor)
        setHasMore(page.has_more)
        setElapsed(page.stats?.elapsed_ms)
        setError(undefined)
        setLoading(false)
        setRowsKey(filtersKey)
        setSelected(-1)
        if (scroller.current) scroller.current.scrollTop = 0
        setScrollTop(0)
        onError(undefined)
      },
      (err) => {
        if (ctl.signal.aborted || gen !== generation.current) return
        setError(err)
        setLoading(false)
        setRowsKey(filtersKey)
        onError(err)
      },
    )
    return () => ctl.abort()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filtersKey])

  // The mark the speed measurements read: the first page of a search is on screen.
  useLayoutEffect(() => {
    if (loading || painted.current) return
    painted.current = true
    requestAnimationFrame(() => performance.mark('krafter:rows-painted'))
  }, [loading, rows])

  useEffect(() => {
    const el = scroller.current
    if (!el) return
    const ro = new ResizeObserver(() => setViewport(el.clientHeight))
    ro.observe(el)
    setViewport(el.clientHeight)
    return () => ro.disconnect()
  }, [])

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN)
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN)

  // Infinite scroll: the next page by cursor when the end of what is loaded comes into reach.
  useEffect(() => {
    if (!hasMore || loadingMore || loading || !cursor) return
    if (last < rows.length - PREFETCH_ROWS) return
    const gen = generation.current
    setLoadingMore(true)
    request<SearchPage>('GET', '/logs/search', { query: { ...filters, limit: PAGE_SIZE, cursor } }).then(
      (page) => {
        if (gen !== generation.current) return
        setRows((r) => [...r, ...page.data])
        setCursor(page.cursor)
        setHasMore(page.has_more)
        setLoadingMore(false)
      },
      (err) => {
        if (gen !== generation.current) return
        setError(err)
        setLoadingMore(false)
      },
    )
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [last, hasMore, loadingMore, loading, cursor])

  // j / k move the selection, Enter or o opens it (when not typing in a field).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null
      if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)))) return
      if (e.key !== 'j' && e.key !== 'k' && e.key !== 'Enter' && e.key !== 'o') return
      if (!rows.length) return
      if (e.key === 'Enter' || e.key === 'o') {
        const at = selectedRef.current
        if (at >= 0 && rows[at]) {
          e.preventDefault()
          onOpen(rows[at]!)
        }
        return
      }
      e.preventDefault()
      const next = Math.max(0, Math.min(rows.length - 1, selectedRef.current + (e.key === 'j' ? 1 : -1)))
      selectedRef.current = next
      setSelected(next)
      const el = scroller.current
      if (el) {
        const top = next * ROW_HEIGHT
        if (top < el.scrollTop) el.scrollTop = top
        else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight
      }
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [rows, onOpen])

  const firstLoad = loading && rows.length === 0 && !error
  return (
    <section class="results" aria-label="Results">
      <div class="results-summary hint" data-testid="results-summary" data-count={loading ? undefined : String(rows.length)} data-has-more={loading ? undefined : String(hasMore)}>
        {firstLoad ? '\u00a0' : `${rows.length.toLocaleString('en-US')}${hasMore ? '+' : ''} ${rows.length === 1 ? 'entry' : 'entries'} loaded, newest first${elapsed !== undefined ? ` · ${elapsed} ms in the engine` : ''}`}
        {loadingMore && ' · loading more…'}
      </div>
      {error && !isQueryError(error) ? <ErrorBanner error={error} /> : null}
      <div
        class={`rows${loading && !firstLoad ? ' stale' : ''}`}
        role="table"
        aria-busy={loading}
        aria-rowcount={rows.length}
        data-testid="rows"
        ref={scroller}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div class="rows-spacer" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
          {rows.slice(first, last).map((entry, i) => (
            <div key={entry.id} class="row-slot" style={{ transform: `translateY(${(first + i) * ROW_HEIGHT}px)` }}>
              <EntryRow entry={entry} index={first + i} selected={entry.id === openId || first + i === selected} onOpen={onOpen} />
            </div>
          ))}
        </div>
        {!loading && !error && rows.length === 0 && (
          <p class="empty hint" data-testid="no-results">
            No entries match in this range. Widen the range or change the query.
          </p>
        )}
        {firstLoad && <div class="rows-skeleton" aria-hidden="true" />}
      </div>
    </section>
  )
}
