/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (version 0.0.4). The product has a handful of metrics and one
 * process, so this is all that is needed; label values are escaped, names are ours.
 */
type Labels = Record<string, string>

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

const labelText = (labels: Labels): string => {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`
}

// Called on every count (several per ingest request): a plain join, not JSON. Label values are
// ours or HTTP statuses, and \u0000 never occurs in them.
const keyOf = (labels: Labels): string => {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  if (keys.length > 1) keys.sort()
  let key = ''
  for (const k of keys) key += `${k}\u0000${labels[k]}\u0000`
  return key
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN')

interface Metric {
  render(): string
}

abstract class Labelled<V> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; value: V }>()
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: string,
  ) {}

  protected slot(labels: Labels, init: () => V): { labels: Labels; value: V } {
    const key = keyOf(labels)
    let s = this.series.get(key)
    if (!s) {
      s = { labels: { ...labels }, value: init() }
      this.series.set(key, s)
    }
    return s
  }

  protected abstract lines(): string[]

  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.lines()].join('\n')
  }
}

export class Counter extends Labelled<number> {
  constructor(name: string, help: string) {
    super(name, help, 'counter')
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by <= 0) return
    this.slot(labels, () => 0).value += by
  }
  get(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0
  }
  /** Sum over every series whose labels include `match`. */
  sum(match: Labels = {}): number {
    let total = 0
    for (const s of this.series.values()) if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value
    return total
  }
  protected lines(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${labelText(s.labels)} ${num(s.value)}`)
  }
}

export class Gauge extends Labelled<number> {
  constructor(name: string, help: string) {
    super(name, help, 'gauge')
  }
  set(value: number, labels: Labels = {}): void {
    this.slot(labels, () => 0).value = value
  }
  add(by: number, labels: Labels = {}): void {
    this.slot(labels, () => 0).value += by
  }
  get(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0
  }
  protected lines(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${labelText(s.labels)} ${num(s.value)}`)
  }
}

interface HistogramValue {
  counts: number[]
  sum: number
  count: number
}

export class Histogram extends Labelled<HistogramValue> {
  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram')
  }
  observe(value: number, labels: Labels = {}): void {
    const s = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }))
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.value.counts[i]!++
    s.value.sum += value
    s.value.count++
  }
  count(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value.count ?? 0
  }
  protected lines(): string[] {
    const out: string[] = []
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: num(le) })} ${s.value.counts[i]}`))
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.value.count}`)
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.value.sum)}`)
      out.push(`${this.name}_count${labelText(s.labels)} ${s.value.count}`)
    }
    return out
  }
}

export class Registry {
  private readonly metrics: Metric[] = []
  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric)
    return metric
  }
  render(): string {
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`
  }
}

/** Seconds buckets for request and insert latencies: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const
