import type { Logger } from 'pino'
import { errorMessage } from '../errors.js'
import type { Metrics } from '../metrics/metrics.js'
import { nextRunAt, validateSchedule, type Schedule } from './schedule.js'

export interface JobDefinition {
  /** Unique per scheduler; the `job` label in /metrics. */
  name: string
  schedule: Schedule
  run: () => unknown
}

/** What `status` and GET /admin/jobs show of a job. */
export interface JobState {
  name: string
  schedule: { every_seconds: number } | { daily_at_utc: string }
  running: boolean
  next_run_at: string | null
  last_started_at: string | null
  last_finished_at: string | null
  last_duration_ms: number | null
  last_result: 'ok' | 'failed' | null
  /** The error of the last run; null when it succeeded. */
  last_error: string | null
  last_success_at: string | null
  runs: number
  failures: number
}

/** The timer the scheduler arms; tests pass a fake one driven with their clock. */
export interface Timers {
  set(fire: () => void, ms: number): unknown
  clear(handle: unknown): void
}

export const realTimers: Timers = {
  set: (fire, ms) => setTimeout(fire, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** setTimeout fires at once beyond 2^31-1 ms: longer waits are done in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1

interface Slot {
  def: JobDefinition
  timer?: unknown
  next?: Date
  /** The run in progress; it never rejects and is cleared by its own settlement. */
  current?: Promise<void>
  lastStartedAt?: Date
  lastFinishedAt?: Date
  lastDurationMs?: number
  lastError?: string | null
  lastSuccessAt?: Date
  runs: number
  failures: number
}

export interface SchedulerOptions {
  clock: () => Date
  timers?: Timers
  logger?: Logger
  metrics?: Metrics
}

/**
 * serve's background work. One timer per job, armed for its next run only once the previous
 * run has settled, so timer runs never overlap; a run asked for while one is in progress
 * (runNow) joins it. A failing job is recorded and logged, and runs again at its next time.
 */
export class Scheduler {
  private readonly slots = new Map<string, Slot>()
  private readonly timers: Timers
  private started = false
  private stopped = false

  constructor(private readonly options: SchedulerOptions) {
    this.timers = options.timers ?? realTimers
  }

  register(def: JobDefinition): void {
    if (this.slots.has(def.name)) throw new Error(`job ${def.name} is already registered`)
    if (this.stopped) throw new Error('the scheduler is stopped')
    validateSchedule(def.schedule)
    const slot: Slot = { def, runs: 0, failures: 0 }
    this.slots.set(def.name, slot)
    if (this.started) this.arm(slot)
  }

  /** Arms every job registered so far (and those registered later) for its first run. */
  start(): void {
    if (this.started || this.stopped) return
    this.started = true
    for (const slot of this.slots.values()) this.arm(slot)
  }

  /** Runs a job now, or joins its run in progress; resolves once it settled (never rejects). */
  runNow(name: string): Promise<void> {
    const slot = this.slots.get(name)
    if (!slot) throw new Error(`no job ${name}`)
    return this.launch(slot)
  }

  list(): JobState[] {
    return [...this.slots.values()].map((s) => ({
      name: s.def.name,
      schedule: 'daily_at' in s.def.schedule ? { daily_at_utc: s.def.schedule.daily_at } : { every_seconds: s.def.schedule.every_ms / 1000 },
      running: s.current !== undefined,
      next_run_at: s.next?.toISOString() ?? null,
      last_started_at: s.lastStartedAt?.toISOString() ?? null,
      last_finished_at: s.lastFinishedAt?.toISOString() ?? null,
      last_duration_ms: s.lastDurationMs ?? null,
      last_result: s.lastError === undefined ? null : s.lastError === null ? 'ok' : 'failed',
      last_error: s.lastError ?? null,
      last_success_at: s.lastSuccessAt?.toISOString() ?? null,
      runs: s.runs,
      failures: s.failures,
    }))
  }

  /** Resolves once the runs in progress have settled (tests wait on it instead of sleeping). */
  async idle(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => s.current))
  }

  /** No more runs start; resolves once the runs in progress have settled. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const slot of this.slots.values()) {
      this.timers.clear(slot.timer)
      slot.timer = undefined
      slot.next = undefined
    }
    await this.idle()
  }

  private arm(slot: Slot): void {
    if (this.stopped) return
    this.timers.clear(slot.timer)
    const next = nextRunAt(slot.def.schedule, this.options.clock(), slot.lastStartedAt)
    slot.next = next
    this.wait(slot, next)
  }

  /** A timer may fire early (steps of MAX_DELAY_MS, a clock set back): it then waits again. */
  private wait(slot: Slot, next: Date): void {
    const delay = Math.min(Math.max(0, next.getTime() - this.options.clock().getTime()), MAX_DELAY_MS)
    slot.timer = this.timers.set(() => {
      slot.timer = undefined
      if (this.stopped) return
      if (this.options.clock().getTime() < next.getTime()) this.wait(slot, next)
      else void this.launch(slot)
    }, delay)
  }

  private launch(slot: Slot): Promise<void> {
    if (slot.current) return slot.current
    if (this.stopped) return Promise.resolve()
    const started = this.options.clock()
    slot.lastStartedAt = started
    slot.runs++
    let outcome: Promise<unknown>
    try {
      outcome = Promise.resolve(slot.def.run())
    } catch (err) {
      outcome = Promise.reject(err)
    }
    const settle = (error: unknown, failed: boolean) => {
      try {
        this.record(slot, started, error, failed)
      } finally {
        // Cleared here, in the settlement of the stored promise, which always comes after the
        // assignment below: a run that settles at once cannot stay stored and wedge the job.
        slot.current = undefined
        if (this.started) this.arm(slot)
      }
    }
    const current = outcome.then(
      () => settle(undefined, false),
      (err: unknown) => settle(err, true),
    )
    slot.current = current
    return current
  }

  private record(slot: Slot, started: Date, error: unknown, failed: boolean): void {
    const { clock, logger, metrics } = this.options
    const job = slot.def.name
    const finished = clock()
    const ms = finished.getTime() - started.getTime()
    slot.lastFinishedAt = finished
    slot.lastDurationMs = ms
    slot.lastError = failed ? errorMessage(error) : null
    metrics?.jobRuns.inc({ job, result: failed ? 'failed' : 'ok' })
    metrics?.jobLastDurationSeconds.set(ms / 1000, { job })
    if (failed) {
      slot.failures++
      logger?.error({ err: error, job }, 'background job failed')
    } else {
      slot.lastSuccessAt = finished
      metrics?.jobLastSuccessSeconds.set(finished.getTime() / 1000, { job })
    }
  }
}
