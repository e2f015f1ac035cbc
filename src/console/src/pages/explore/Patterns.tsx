import { useState } from 'preact/hooks'
import { api } from '../../api.js'
import { ErrorBanner, formatCount, formatTime, useLoad } from '../../components/ui.js'
import type { Filters, LogEntry } from './state.js'
import './facets.css'

export interface PatternsProps {
  filters: Filters
  /** Opens a pattern's sample entry in the details panel. */
  onOpen: (entry: LogEntry) => void
}

interface Bucket {
  time: string
  count: number
}
interface Pattern {
  pattern: string
  count: number
  first_seen: string
  last_seen: string
  sample: LogEntry
  buckets: Bucket[]
}

const LIMITS = [20, 50, 100, 200] as const
const PLACEHOLDER_ROWS = 6

/** The placeholders GET /logs/patterns writes (docs/api.md "Patterns"). */
const PLACEHOLDER = /(<(?:str|uuid|ip|duration|num|hex)>)/

/** The template with its placeholders marked. */
const PatternText = ({ pattern }: { pattern: string }) => (
  <code class="pattern-text">
    {pattern.split(PLACEHOLDER).map((part, i) =>
      i % 2 === 1 ? (
        <mark key={i} class="pattern-ph">
          {part}
        </mark>
      ) : (
        part
      ),
    )}
  </code>
)

const SPARK_W = 120
const SPARK_H = 24

/** Counts per bucket as bars, an SVG built by Preact (DOM calls, no markup strings). */
const Sparkline = ({ buckets }: { buckets: Bucket[] }) => {
  const max = buckets.reduce((m, b) => Math.max(m, b.count), 0)
  const w = buckets.length > 0 ? SPARK_W / buckets.length : SPARK_W
  return (
    <svg class="sparkline" width={SPARK_W} height={SPARK_H} viewBox={`0 0 ${SPARK_W} ${SPARK_H}`} role="img" aria-label={`${buckets.length} buckets, at most ${max} per bucket`}>
      <line class="sparkline-base" x1={0} y1={SPARK_H - 0.5} x2={SPARK_W} y2={SPARK_H - 0.5} />
      {max > 0 &&
        buckets.map((b, i) => {
          if (b.count === 0) return null
          const h = Math.max(1.5, (b.count / max) * (SPARK_H - 2))
          return (
            <rect key={b.time} x={i * w} y={SPARK_H - h} width={Math.max(1, w - (w > 2 ? 1 : 0))} height={h}>
              <title>
                {formatTime(b.time)}: {b.count}
              </title>
            </rect>
          )
        })}
    </svg>
  )
}

/** The patterns view: message templates under the filters, most frequent first, with a sample each. */
export const PatternsView = (props: PatternsProps) => {
  const { filters, onOpen } = props
  const filtersKey = JSON.stringify(filters)
  const [limit, setLimit] = useState<number>(50)
  // filtersKey stands for filters (a new object each render must not reload).
  const { data, error, loading } = useLoad((signal) => api<Pattern[]>('GET', '/logs/patterns', { query: { ...filters, limit }, signal }), [filtersKey, limit])

  const total = data?.reduce((s, p) => s + p.count, 0) ?? 0
  const stale = loading && data !== undefined
  return (
    <section class={`patterns${stale ? ' stale' : ''}`} data-testid="patterns" aria-busy={loading}>
      <div class="toolbar patterns-toolbar">
        <span class="patterns-summary" data-testid="patterns-summary">
          {data ? (
            <>
              {data.length} {data.length === 1 ? 'pattern' : 'patterns'} covering {formatCount(total)} {total === 1 ? 'entry' : 'entries'}
            </>
          ) : (
            <span class="facet-skeleton" />
          )}
        </span>
        <span class="spacer" />
        <label class="inline">
          Top&nbsp;
          <select value={String(limit)} onChange={(e) => setLimit(Number(e.currentTarget.value))} data-testid="patterns-limit">
            {LIMITS.map((l) => (
              <option key={l} value={String(l)}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBanner error={error} />
      <table class="grid patterns-table">
        <thead>
          <tr>
            <th class="col-pattern">Pattern</th>
            <th class="col-count">Count</th>
            <th class="col-spark">Over time</th>
            <th class="col-seen">First seen</th>
            <th class="col-seen">Last seen</th>
            <th class="col-sample">Sample</th>
          </tr>
        </thead>
        <tbody>
          {data === undefined &&
            Array.from({ length: PLACEHOLDER_ROWS }, (_, i) => (
              <tr key={i} class="placeholder">
                <td colSpan={6}>
                  <span class="facet-skeleton" />
                </td>
              </tr>
            ))}
          {data?.length === 0 && (
            <tr>
              <td colSpan={6} class="hint">
                No entries match in this range.
              </td>
            </tr>
          )}
          {data?.map((p) => (
            <tr key={p.pattern} data-testid="pattern" data-pattern={p.pattern} data-count={String(p.count)}>
              <td class="col-pattern">
                <PatternText pattern={p.pattern} />
              </td>
              <td class="col-count" title={String(p.count)}>
                {formatCount(p.count)}
              </td>
              <td class="col-spark">
                <Sparkline buckets={p.buckets} />
              </td>
              <td class="col-seen mono">{formatTime(p.first_seen)}</td>
              <td class="col-seen mono">{formatTime(p.last_seen)}</td>
              <td class="col-sample">
                <button type="button" class="pattern-sample mono" data-testid="pattern-sample" data-id={p.sample.id} title="Open this entry" onClick={() => onOpen(p.sample)}>
                  <span class={`level level-${p.sample.level}`}>{p.sample.level}</span> {p.sample.message}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
