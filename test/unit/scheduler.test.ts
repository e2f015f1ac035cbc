import { describe, expect, it } from 'vitest'
import { nextRunAt } from '../../src/jobs/schedule.js'
import { Scheduler, type Timers } from '../../src/jobs/scheduler.js'
import { Metrics } from '../../src/metrics/metrics.js'

/** A clock and timers that move only when the test says: no test here sleeps. */
class FakeTime implements Timers {
  now: number
  private seq = 0
  readonly pending = new Map<number, { at: number; fire: () => void }>()
  constructor(iso: string) {
    this.now = Date.parse(iso)
  }
  clock = () => new Date(this.now)
  set(fire: () => void, ms: number): unknown {
    const id = ++this.seq
    this.pending.set(id, { at: this.now + ms, fire })
    return id
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number)
  }
  /** Moves the clock to the earliest armed timer and fires it. */
  fireNext(): void {
    const [id, t] = [...this.pending.entries()].sort(([, a], [, b]) => a.at - b.at)[0] ?? []
    if (!id || !t) throw new Error('no timer armed')
    this.pending.delete(id)
    this.now = Math.max(this.now, t.at)
    t.fire()
  }
  /** Fires the only armed timer without moving the clock (a timer that fires early). */
  fireEarly(): void {
    const [id, t] = [...this.pending.entries()][0]!
    this.pending.delete(id)
    t.fire()
  }
}

const deferred = () => {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

const iso = (ms: number) => new Date(ms).toISOString()
const setup = (start = '2026-11-27T01:00:00.000Z') => {
  const time = new FakeTime(start)
  const metrics = new Metrics()
  const scheduler = new Scheduler({ clock: time.clock, timers: time, metrics })
  return { time, metrics, scheduler, t0: time.now }
}
const state = (s: Scheduler, name: string) => s.list().find((j) => j.name === name)!

describe('next-run computation', () => {
  const at = (s: string) => new Date(s)
  it('daily-at is the next HH:MM UTC, tomorrow once today has passed', () => {
    expect(nextRunAt({ daily_at: '03:30' }, at('2026-11-27T01:00:00Z')).toISOString()).toBe('2026-11-27T03:30:00.000Z')
    expect(nextRunAt({ daily_at: '03:30' }, at('2026-11-27T03:30:00Z')).toISOString()).toBe('2026-11-28T03:30:00.000Z')
    expect(nextRunAt({ daily_at: '00:00' }, at('2026-12-31T23:59:59Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z')
  })
  it('every-N counts from the last start, and a full interval after an overrun', () => {
    const now = at('2026-11-27T01:00:30Z')
    expect(nextRunAt({ every_ms: 60_000 }, now).toISOString()).toBe('2026-11-27T01:01:30.000Z')
    expect(nextRunAt({ every_ms: 60_000 }, now, at('2026-11-27T01:00:00Z')).toISOString()).toBe('2026-11-27T01:01:00.000Z')
    expect(nextRunAt({ every_ms: 60_000 }, now, at('2026-11-27T00:59:00Z')).toISOString()).toBe('2026-11-27T01:01:30.000Z')
  })
})

describe('Scheduler', () => {
  it('runs an every-N job on its rhythm and records each run', async () => {
    const { time, metrics, scheduler, t0 } = setup()
    let calls = 0
    scheduler.register({ name: 'tick', schedule: { every_ms: 60_000 }, run: async () => void calls++ })
    expect(state(scheduler, 'tick')).toMatchObject({ next_run_at: null, runs: 0, last_result: null })
    scheduler.start()
    expect(state(scheduler, 'tick')).toMatchObject({ schedule: { every_seconds: 60 }, next_run_at: iso(t0 + 60_000), last_started_at: null })
    for (const n of [1, 2, 3]) {
      time.fireNext()
      await scheduler.idle()
      expect(calls).toBe(n)
      expect(state(scheduler, 'tick')).toMatchObject({
        running: false,
        runs: n,
        failures: 0,
        last_result: 'ok',
        last_error: null,
        last_started_at: iso(t0 + n * 60_000),
        last_success_at: iso(t0 + n * 60_000),
        next_run_at: iso(t0 + (n + 1) * 60_000),
      })
    }
    expect(metrics.jobRuns.get({ job: 'tick', result: 'ok' })).toBe(3)
    expect(metrics.jobLastSuccessSeconds.get({ job: 'tick' })).toBe((t0 + 180_000) / 1000)
    expect(metrics.registry.render()).toContain('krafter_job_runs_total{job="tick",result="ok"} 3')
  })

  it('runs a daily-at job at HH:MM UTC, then the next day', async () => {
    const { time, scheduler } = setup('2026-11-27T01:00:00.000Z')
    const ranAt: string[] = []
    scheduler.register({ name: 'nightly', schedule: { daily_at: '03:30' }, run: () => void ranAt.push(time.clock().toISOString()) })
    scheduler.start()
    expect(state(scheduler, 'nightly')).toMatchObject({ schedule: { daily_at_utc: '03:30' }, next_run_at: '2026-11-27T03:30:00.000Z' })
    time.fireNext()
    await scheduler.idle()
    expect(ranAt).toEqual(['2026-11-27T03:30:00.000Z'])
    expect(state(scheduler, 'nightly').next_run_at).toBe('2026-11-28T03:30:00.000Z')
  })

  it('a job that settles synchronously never wedges (the bug of issue 11 point 1)', async () => {
    const { time, scheduler } = setup()
    let calls = 0
    // Returns nothing: no promise at all, the shape of a pass with no enabled alert rules.
    scheduler.register({ name: 'sync', schedule: { every_ms: 5_000 }, run: () => void calls++ })
    scheduler.register({ name: 'resolved', schedule: { every_ms: 5_000 }, run: () => Promise.resolve(calls++) })
    scheduler.start()
    for (let i = 0; i < 6; i++) {
      time.fireNext()
      await scheduler.idle()
    }
    expect(calls).toBe(6)
    await scheduler.runNow('sync')
    await scheduler.runNow('sync')
    expect(calls).toBe(8)
    expect(state(scheduler, 'sync')).toMatchObject({ running: false, runs: 5, last_result: 'ok' })
    expect(state(scheduler, 'resolved')).toMatchObject({ running: false, runs: 3, last_result: 'ok' })
  })

  it('a job that throws or rejects is recorded, logged and runs again at its next time', async () => {
    const { time, metrics } = setup()
    const logged: unknown[] = []
    const logger = { error: (obj: unknown, msg: string) => logged.push([obj, msg]) } as never
    const scheduler = new Scheduler({ clock: time.clock, timers: time, metrics, logger })
    let n = 0
    scheduler.register({
      name: 'flaky',
      schedule: { every_ms: 10_000 },
      run: () => {
        n++
        if (n === 1) throw new Error('thrown before any promise')
        if (n === 2) return Promise.reject(new Error('engine down'))
        return Promise.resolve()
      },
    })
    scheduler.start()
    time.fireNext()
    await scheduler.idle()
    expect(state(scheduler, 'flaky')).toMatchObject({ runs: 1, failures: 1, last_result: 'failed', last_error: 'thrown before any promise', last_success_at: null })
    expect(time.pending.size).toBe(1)
    time.fireNext()
    await scheduler.idle()
    expect(state(scheduler, 'flaky')).toMatchObject({ runs: 2, failures: 2, last_error: 'engine down' })
    time.fireNext()
    await scheduler.idle()
    expect(state(scheduler, 'flaky')).toMatchObject({ runs: 3, failures: 2, last_result: 'ok', last_error: null, last_success_at: iso(time.now) })
    expect(metrics.jobRuns.get({ job: 'flaky', result: 'failed' })).toBe(2)
    expect(metrics.jobRuns.get({ job: 'flaky', result: 'ok' })).toBe(1)
    expect(logged).toHaveLength(2)
    expect(logged[1]).toEqual([{ err: new Error('engine down'), job: 'flaky' }, 'background job failed'])
  })

  it('never overlaps: a run asked for meanwhile joins the one in progress; the timer waits for it', async () => {
    const { time, metrics, scheduler, t0 } = setup()
    const gates: ReturnType<typeof deferred>[] = []
    scheduler.register({
      name: 'slow',
      schedule: { every_ms: 60_000 },
      run: () => {
        gates.push(deferred())
        return gates.at(-1)!.promise
      },
    })
    scheduler.start()
    time.fireNext()
    const joined = scheduler.runNow('slow')
    expect(scheduler.runNow('slow')).toBe(joined)
    expect(gates).toHaveLength(1)
    expect(time.pending.size).toBe(0)
    expect(state(scheduler, 'slow')).toMatchObject({ running: true, runs: 1 })
    // It overruns its interval by 30 s: the next run is a full interval after it ended.
    time.now = t0 + 150_000
    gates[0]!.resolve()
    await joined
    expect(state(scheduler, 'slow')).toMatchObject({ running: false, runs: 1, last_duration_ms: 90_000, next_run_at: iso(t0 + 210_000) })
    expect(metrics.jobLastDurationSeconds.get({ job: 'slow' })).toBe(90)
    const again = scheduler.runNow('slow')
    expect(gates).toHaveLength(2)
    gates[1]!.reject(new Error('second'))
    await again
    expect(state(scheduler, 'slow')).toMatchObject({ runs: 2, failures: 1, running: false })
  })

  it('a timer that fires before the due time (clock set back) waits again', async () => {
    const { time, scheduler, t0 } = setup()
    let calls = 0
    scheduler.register({ name: 'tick', schedule: { every_ms: 60_000 }, run: () => void calls++ })
    scheduler.start()
    time.now = t0 + 20_000
    time.fireEarly()
    await scheduler.idle()
    expect(calls).toBe(0)
    expect([...time.pending.values()].map((t) => t.at)).toEqual([t0 + 60_000])
    time.fireNext()
    await scheduler.idle()
    expect(calls).toBe(1)
  })

  it('stop waits for the run in progress and starts nothing after', async () => {
    const { time, scheduler } = setup()
    const gate = deferred()
    let calls = 0
    scheduler.register({ name: 'slow', schedule: { every_ms: 1_000 }, run: () => (calls++, gate.promise) })
    scheduler.register({ name: 'idle', schedule: { daily_at: '04:00' }, run: () => void calls++ })
    scheduler.start()
    time.fireNext()
    const events: string[] = []
    const stopped = scheduler.stop().then(() => events.push('stopped'))
    // Every pending callback runs before setImmediate's: stop has not resolved while the run lasts.
    await new Promise((r) => setImmediate(r))
    expect(events).toEqual([])
    gate.resolve()
    await stopped
    expect(events).toEqual(['stopped'])
    expect(time.pending.size).toBe(0)
    await scheduler.runNow('idle')
    expect(calls).toBe(1)
    expect(scheduler.list().map((j) => j.next_run_at)).toEqual([null, null])
  })

  it('refuses a second job of the same name and a bad schedule; a job registered later is armed at once', () => {
    const { time, scheduler, t0 } = setup()
    scheduler.start()
    scheduler.register({ name: 'late', schedule: { every_ms: 30_000 }, run: () => undefined })
    expect(state(scheduler, 'late').next_run_at).toBe(iso(t0 + 30_000))
    expect(time.pending.size).toBe(1)
    expect(() => scheduler.register({ name: 'late', schedule: { every_ms: 1 }, run: () => undefined })).toThrow('already registered')
    expect(() => scheduler.register({ name: 'bad', schedule: { daily_at: '25:00' }, run: () => undefined })).toThrow('HH:MM')
    expect(() => scheduler.register({ name: 'bad', schedule: { every_ms: 0 }, run: () => undefined })).toThrow('positive')
    expect(() => scheduler.runNow('nope')).toThrow('no job nope')
  })
})
