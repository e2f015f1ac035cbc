import { useEffect, useState } from 'preact/hooks'
import { type ExploreState, RANGE_PRESETS, timeRange } from './state.js'

export interface RangePickerProps {
  state: ExploreState
  onChange: (patch: Pick<ExploreState, 'range' | 'from' | 'to'>) => void
}

/** An ISO instant as the value of a datetime-local input (local time, seconds kept). */
const toLocalInput = (iso: string): string => {
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** Time range: presets relative to now, or a custom from–to (also what a histogram drag sets). */
export const RangePicker = ({ state, onChange }: RangePickerProps) => {
  const [custom, setCustom] = useState(false)
  const range = timeRange(state)
  const [from, setFrom] = useState(toLocalInput(range.from))
  const [to, setTo] = useState(toLocalInput(range.to))
  const [error, setError] = useState('')
  useEffect(() => {
    const r = timeRange(state)
    setFrom(toLocalInput(r.from))
    setTo(toLocalInput(r.to))
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state.range, state.from, state.to])

  const apply = (e: Event) => {
    e.preventDefault()
    const f = new Date(from)
    const t = new Date(to)
    if (Number.isNaN(f.getTime()) || Number.isNaN(t.getTime())) return setError('Both ends must be dates')
    if (f >= t) return setError('From must be before to')
    setError('')
    setCustom(false)
    onChange({ range: 'custom', from: f.toISOString(), to: t.toISOString() })
  }

  return (
    <div class="range">
      <select
        data-testid="range-select"
        aria-label="Time range"
        value={custom || state.range === 'custom' ? 'custom' : state.range}
        onChange={(e) => {
          const v = e.currentTarget.value
          if (v === 'custom') setCustom(true)
          else {
            setCustom(false)
            onChange({ range: v, from: undefined, to: undefined })
          }
        }}
      >
        {RANGE_PRESETS.map((p) => (
          <option key={p.id} value={p.id}>
            {p.label}
          </option>
        ))}
        <option value="custom">Custom range…</option>
      </select>
      {(custom || state.range === 'custom') && (
        <form class="range-custom" onSubmit={apply} data-testid="range-custom">
          <input type="datetime-local" step={1} aria-label="From" data-testid="range-from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
          <span class="hint">to</span>
          <input type="datetime-local" step={1} aria-label="To" data-testid="range-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
          <button type="submit" class="btn small" data-testid="range-apply">
            Apply
          </button>
          {error && (
            <span class="field-error" role="alert">
              {error}
            </span>
          )}
        </form>
      )}
    </div>
  )
}
