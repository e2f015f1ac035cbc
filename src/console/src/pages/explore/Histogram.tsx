import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { api } from '../../api.js'
import { formatCount, formatTime, useLoad } from '../../components/ui.js'
import type { Filters } from './state.js'

export interface HistogramProps {
  filters: Filters
  /** A drag across the chart: the range it covers (ISO instants). */
  onZoom: (from: string, to: string) => void
}

interface Bucket {
  time: string
  total: number
  counts: Record<string, number>
}
interface StatsAnswer {
  interval_seconds: number
  from: string
  to: string
  buckets: Bucket[]
}

/** Bottom to top of each stacked bar: the levels an on-call engineer looks for first sit on the axis. */
const STACK = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
const HEIGHT = 132

const levelColour = (level: string): string => getComputedStyle(document.documentElement).getPropertyValue(`--level-${level}`).trim() || '#888'

/** Levels with entries in the answer, bottom first, and each one's cumulative series (the stack). */
const stackOf = (answer: StatsAnswer): { levels: string[]; data: uPlot.AlignedData } => {
  const levels = STACK.filter((l) => answer.buckets.some((b) => (b.counts[l] ?? 0) > 0))
  const xs = answer.buckets.map((b) => Date.parse(b.time) / 1000)
  const sums = answer.buckets.map(() => 0)
  const series = levels.map((l) => answer.buckets.map((b, i) => (sums[i]! += b.counts[l] ?? 0)))
  // Drawn tallest first, so each lower level paints over the part of the bar that is its own.
  return { levels, data: [xs, ...series.reverse()] as uPlot.AlignedData }
}

/**
 * The volume chart: counts per time bucket (GET /logs/stats) stacked by level, drawn with
 * uPlot on a canvas of fixed height (nothing moves while it loads). Dragging across it zooms
 * the range; hovering shows the bucket under the cursor in the legend.
 */
export const Histogram = ({ filters, onZoom }: HistogramProps) => {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const zoom = useRef(onZoom)
  zoom.current = onZoom
  const [hover, setHover] = useState<number | null>(null)
  const [scheme, setScheme] = useState(0)
  const filtersKey = JSON.stringify(filters)
  const { data: answer, error, loading } = useLoad((signal) => api<StatsAnswer>('GET', '/logs/stats', { query: { ...filters }, signal, priority: 'low' }), [filtersKey])

  // The level colours come from CSS, so a change of system theme redraws the chart.
  useEffect(() => {
    const mq = matchMedia('(prefers-color-scheme: dark)')
    const fn = () => setScheme((n) => n + 1)
    mq.addEventListener('change', fn)
    return () => mq.removeEventListener('change', fn)
  }, [])

  // The chart is made once per set of levels (and theme); new answers only replace its data.
  const range = useRef<[number, number]>([0, 1])
  const drawnFor = useRef<string>('')
  const marked = useRef(true)
  useEffect(() => {
    const el = box.current
    if (!el || !answer) return
    const { levels, data } = stackOf(answer)
    range.current = [Date.parse(answer.from) / 1000, Date.parse(answer.to) / 1000]
    marked.current = false
    const key = `${levels.join(',')}|${scheme}`
    if (plot.current && drawnFor.current === key) {
      plot.current.setData(data)
      return
    }
    drawnFor.current = key
    const drawnLevels = [...levels].reverse()
    const axis = { stroke: levelColour('debug'), grid: { stroke: 'rgba(128,128,128,0.15)' }, ticks: { stroke: 'rgba(128,128,128,0.25)' } }
    const bars = uPlot.paths.bars!({ size: [0.9, 64], gap: 1 })
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: true, range: () => range.current }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{ ...axis }, { ...axis, size: 44, values: (_u, ticks) => ticks.map((t) => formatCount(t)) }],
      series: [{}, ...drawnLevels.map((l) => ({ label: l, stroke: levelColour(l), fill: levelColour(l), width: 0, paths: bars, points: { show: false } }))],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return
            const from = u.posToVal(u.select.left, 'x') * 1000
            const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
            zoom.current(new Date(from).toISOString(), new Date(to).toISOString())
          },
        ],
        setCursor: [(u) => setHover(u.cursor.idx ?? null)],
        draw: [
          () => {
            if (marked.current) return
            marked.current = true
            performance.mark('krafter:histogram-drawn')
          },
        ],
      },
    }
    plot.current?.destroy()
    plot.current = new uPlot(opts, data, el)
  }, [answer, scheme])

  useEffect(() => {
    const el = box.current
    if (!el) return
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: HEIGHT }))
    ro.observe(el)
    return () => {
      ro.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
  }, [])

  const total = answer?.buckets.reduce((s, b) => s + b.total, 0)
  const shown = hover !== null && answer?.buckets[hover] ? answer.buckets[hover] : undefined
  const levelTotals = STACK.map((l) => ({ level: l, count: shown ? (shown.counts[l] ?? 0) : (answer?.buckets.reduce((s, b) => s + (b.counts[l] ?? 0), 0) ?? 0) })).filter((x) => x.count > 0)
  return (
    <section
      class={`histogram${loading && answer ? ' stale' : ''}`}
      data-testid="histogram"
      aria-busy={loading}
      aria-label="Volume by level"
      data-total={total === undefined ? undefined : String(total)}
      data-buckets={answer ? String(answer.buckets.length) : undefined}
      data-from={answer?.from}
      data-to={answer?.to}
    >
      <div class="histogram-legend" data-testid="histogram-legend">
        <span class={error ? 'histogram-error' : 'hint'} role={error ? 'alert' : undefined}>
          {error ? `Volume unavailable: ${error instanceof Error ? error.message : String(error)}` : shown ? formatTime(shown.time) : answer ? `${formatCount(total ?? 0)} entries · ${intervalLabel(answer.interval_seconds)} buckets` : '\u00a0'}
        </span>
        {levelTotals.map((x) => (
          <span key={x.level} class={`legend-item level-${x.level}`}>
            <span class={`legend-swatch swatch-${x.level}`} />
            {x.level} {formatCount(x.count)}
          </span>
        ))}
        <span class="spacer" />
        <span class="hint">drag to zoom</span>
      </div>
      <div class="histogram-plot" ref={box} />
    </section>
  )
}

const intervalLabel = (s: number): string => (s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`)
