import type { MetaDb } from './db.js'

/** A counter's absolute values; skipped for a project deleted meanwhile. */
const WRITE_COUNTER = `INSERT INTO usage_daily (project_id, day, bytes_in, entries, rejected)
   SELECT @projectId, @day, @bytes, @entries, @rejected WHERE EXISTS (SELECT 1 FROM projects WHERE id = @projectId)
   ON CONFLICT (project_id, day) DO UPDATE SET bytes_in = excluded.bytes_in, entries = excluded.entries, rejected = excluded.rejected`

interface Counter {
  projectId: string
  day: string
  bytes: number
  entries: number
  rejected: number
  dirty: boolean
}

/**
 * Daily usage counters of the serving process, kept in memory so the ingest path does not
 * write SQLite once per request. `serve` is the only writer of usage_daily.
 *
 * The daily limit must hold across a crash, so reservations are made durable before the
 * engine gets their rows: the batcher calls `flush` right before each insert (one transaction
 * per insert, whatever the number of requests in it). A crash between the two over-counts a
 * little, never under-counts. Releases (an insert that failed) and rejections are written
 * behind within `flushMs`.
 */
export class UsageMeter {
  private readonly counters = new Map<string, Counter>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly db: MetaDb,
    private readonly flushMs = 200,
  ) {}

  private counter(projectId: string, day: string): Counter {
    const key = `${projectId}/${day}`
    let c = this.counters.get(key)
    if (!c) {
      const row = this.db
        .prepare('SELECT bytes_in, entries, rejected FROM usage_daily WHERE project_id = ? AND day = ?')
        .get(projectId, day) as { bytes_in: number; entries: number; rejected: number } | undefined
      c = { projectId, day, bytes: row?.bytes_in ?? 0, entries: row?.entries ?? 0, rejected: row?.rejected ?? 0, dirty: false }
      this.counters.set(key, c)
    }
    return c
  }

  /** Counts a request against the day's limit; false (nothing counted) if it would cross it. */
  reserve(projectId: string, day: string, bytes: number, entries: number, limitBytes: number): boolean {
    const c = this.counter(projectId, day)
    if (c.bytes + bytes > limitBytes) return false
    c.bytes += bytes
    c.entries += entries
    this.markDirty(c)
    return true
  }

  /** Whether `bytes` more would stay within the day's limit (nothing is counted). */
  fits(projectId: string, day: string, bytes: number, limitBytes: number): boolean {
    return this.counter(projectId, day).bytes + bytes <= limitBytes
  }

  /**
   * Adds to a day's counts exactly once across a crash: the counter is written at once, in one
   * SQLite transaction with `alongside`, which returns false when the addition no longer applies
   * (it was made before); then nothing is added. For counts not tied to an insert of this
   * process (a claimed anonymous stream's events). Returns whether it was added.
   */
  addOnce(projectId: string, day: string, bytes: number, entries: number, alongside: () => boolean): boolean {
    const c = this.counter(projectId, day)
    const write = this.db.prepare(WRITE_COUNTER)
    const added = this.db.transaction(() => {
      if (!alongside()) return false
      write.run({ projectId, day, bytes: c.bytes + bytes, entries: c.entries + entries, rejected: c.rejected })
      return true
    })()
    if (added) {
      c.bytes += bytes
      c.entries += entries
    }
    return added
  }

  /** Gives back a reservation whose entries the engine did not take. */
  release(projectId: string, day: string, bytes: number, entries: number): void {
    const c = this.counter(projectId, day)
    c.bytes = Math.max(0, c.bytes - bytes)
    c.entries = Math.max(0, c.entries - entries)
    this.markDirty(c)
  }

  /** Counts records the pipeline refused (they are reported to the sender, never stored). */
  reject(projectId: string, day: string, records: number): void {
    if (records <= 0) return
    const c = this.counter(projectId, day)
    c.rejected += records
    this.markDirty(c)
  }

  /** Forgets a deleted project's counters (its rows went with it). */
  forget(projectId: string): void {
    for (const [key, c] of this.counters) if (c.projectId === projectId) this.counters.delete(key)
  }

  private markDirty(c: Counter): void {
    c.dirty = true
    this.timer ??= setTimeout(() => this.flush(), this.flushMs)
  }

  /** Writes every changed counter now; skips projects deleted meanwhile. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    const dirty = [...this.counters.values()].filter((c) => c.dirty)
    if (dirty.length === 0) return
    const write = this.db.prepare(WRITE_COUNTER)
    const today = new Date().toISOString().slice(0, 10)
    this.db.transaction(() => {
      for (const c of dirty) {
        write.run({ projectId: c.projectId, day: c.day, bytes: c.bytes, entries: c.entries, rejected: c.rejected })
        c.dirty = false
        // Past days are final: drop them from memory once written.
        if (c.day < today) this.counters.delete(`${c.projectId}/${c.day}`)
      }
    })()
  }
}
