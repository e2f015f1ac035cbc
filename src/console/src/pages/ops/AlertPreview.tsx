import { useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError } from '../../api.js'
import { ErrorBanner, formatTime } from '../../components/ui.js'
import type { Preview } from './alert-types.js'

/** How long the form must be still before the preview asks again. */
const DEBOUNCE_MS = 400

/**
 * How often the rule being edited would have fired over the last 24 h (POST /logs/alerts/preview):
 * asked again 400 ms after the last edit, an older request aborted when a newer one starts,
 * the previous answer kept (dimmed) meanwhile so nothing jumps.
 */
export const AlertPreview = ({ body, ready }: { body: Record<string, unknown>; ready: boolean }) => {
  const key = JSON.stringify(body)
  const [state, setState] = useState<{ data?: Preview; error?: unknown; loading: boolean }>({ loading: false })
  const ctl = useRef<AbortController | undefined>(undefined)
  useEffect(() => {
    if (!ready) {
      ctl.current?.abort()
      setState({ loading: false })
      return
    }
    setState((s) => ({ ...s, loading: true }))
    const timer = setTimeout(() => {
      ctl.current?.abort()
      const mine = new AbortController()
      ctl.current = mine
      api<Preview>('POST', '/logs/alerts/preview', { body: JSON.parse(key), signal: mine.signal }).then(
        (data) => !mine.signal.aborted && setState({ data, loading: false }),
        (error) => !mine.signal.aborted && setState((s) => ({ data: error instanceof ApiError && error.status === 400 ? undefined : s.data, error, loading: false })),
      )
    }, DEBOUNCE_MS)
    return () => clearTimeout(timer)
  }, [key, ready])
  useEffect(() => () => ctl.current?.abort(), [])

  const { data, error, loading } = state
  return (
    <section
      class={`preview ${loading ? 'stale' : ''}`}
      aria-live="polite"
      aria-busy={loading}
      data-testid="alert-preview"
      data-firings={!loading && data && !error ? data.firings : undefined}
      data-state={loading ? 'loading' : error ? 'error' : data ? 'ready' : 'idle'}
    >
      <h3 class="hint">Preview: the last 24 hours</h3>
      {!ready && <p class="hint">Pick a project and write a query to see how often this rule would have fired.</p>}
      {ready && error !== undefined && <ErrorBanner error={error} testId="alert-preview-error" />}
      {ready && data && !error && (
        <div class="preview-body">
          <p class="preview-summary">
            Would have fired <strong data-testid="alert-preview-count">{data.firings}</strong> {data.firings === 1 ? 'time' : 'times'} in the last 24 h
            <span class="hint"> (checked every {data.step_minutes} min, cooldown applied)</span>
          </p>
          <Sparkline preview={data} threshold={typeof body.condition === 'object' && body.condition && (body.condition as { type?: string }).type === 'count' ? Number((body.condition as { threshold?: unknown }).threshold) : undefined} />
        </div>
      )}
      {ready && !data && !error && loading && <p class="hint">Computing…</p>}
    </section>
  )
}

const W = 600
const H = 48

/** Matching entries per step as a line; steps where the condition held marked below it; firings as dashed lines. */
const Sparkline = ({ preview, threshold }: { preview: Preview; threshold?: number }) => {
  const pts = preview.points
  if (pts.length === 0) return null
  const max = Math.max(1, ...pts.map((p) => p.matching), threshold && Number.isFinite(threshold) ? threshold : 0)
  const from = Date.parse(preview.from)
  const span = Math.max(1, Date.parse(preview.to) - from)
  const x = (i: number) => (pts.length === 1 ? W / 2 : (i / (pts.length - 1)) * W)
  const y = (v: number) => H - 6 - (v / max) * (H - 10)
  const line = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.matching).toFixed(1)}`).join('')
  const area = `${line}L${x(pts.length - 1).toFixed(1)},${H - 6}L${x(0).toFixed(1)},${H - 6}Z`
  const step = W / Math.max(1, pts.length)
  const met = pts.filter((p) => p.met).length
  return (
    <>
      <svg class="spark" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`Matching entries per ${preview.step_minutes} min; the condition held at ${met} of ${pts.length} checks`} data-testid="alert-preview-spark">
        <path class="spark-area" d={area} />
        <path class="spark-line" d={line} />
        {threshold !== undefined && Number.isFinite(threshold) && <line class="spark-threshold" x1={0} x2={W} y1={y(threshold)} y2={y(threshold)} />}
        {preview.fired_at.map((t) => {
          const fx = ((Date.parse(t) - from) / span) * W
          return <line key={t} class="spark-fired" x1={fx} x2={fx} y1={0} y2={H - 6} data-testid="alert-preview-fired" />
        })}
        {pts.map((p, i) =>
          p.met ? <rect key={p.time} class="spark-met" x={Math.max(0, x(i) - step / 2)} y={H - 4} width={Math.max(1.5, step)} height={4} data-testid="alert-preview-met" /> : null,
        )}
      </svg>
      <div class="spark-legend">
        <span>
          {formatTime(preview.from).slice(5, 16)} → {formatTime(preview.to).slice(5, 16)}
        </span>
        <span>peak {Math.max(...pts.map((p) => p.matching))} matching</span>
        <span class="met">▬ condition held ({met})</span>
        {threshold !== undefined && <span>- - threshold {threshold}</span>}
      </div>
    </>
  )
}
