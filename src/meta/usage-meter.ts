import type { MetaDb } from './db.js'

interface Counter {
  projectId: string
  day: string
  bytes: number
  entries: number
  dirty: boolean
}

/**
 * Daily usage counters of the serving process, kept in memory so the ingest path does not
 * write SQLite on every request, and written behind (absolute values, one transaction) within
 * `flushMs`. `serve` is the only writer of usage_daily; readers (`project usage`, the API) see
 * it at most `flushMs` late. A crash can lose that much of the count, never entries.
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
        .prepare('SELECT bytes_in, entries FROM usage_daily WHERE project_id = ? AND day = ?')
        .get(projectId, day) as { bytes_in: number; entries: number } | undefined
      c = { projectId, day, bytes: row?.bytes_in ?? 0, entries: row?.entries ?? 0, dirty: false }
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

  /** Gives back a reservation whose entries the engine did not take. */
  release(projectId: string, day: string, bytes: number, entries: number): void {
    const c = this.counter(projectId, day)
    c.bytes = Math.max(0, c.bytes - bytes)
    c.entries = Math.max(0, c.entries - entries)
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
    const write = this.db.prepare(
      `INSERT INTO usage_daily (project_id, day, bytes_in, entries)
       SELECT @projectId, @day, @bytes, @entries WHERE EXISTS (SELECT 1 FROM projects WHERE id = @projectId)
       ON CONFLICT (project_id, day) DO UPDATE SET bytes_in = excluded.bytes_in, entries = excluded.entries`,
    )
    const today = new Date().toISOString().slice(0, 10)
    this.db.transaction(() => {
      for (const c of dirty) {
        write.run({ projectId: c.projectId, day: c.day, bytes: c.bytes, entries: c.entries })
        c.dirty = false
        // Past days are final: drop them from memory once written.
        if (c.day < today) this.counters.delete(`${c.projectId}/${c.day}`)
      }
    })()
  }
}
