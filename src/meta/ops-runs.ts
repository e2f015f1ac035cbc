import { randomUUID } from 'node:crypto'
import type { MetaDb } from './db.js'

export type RunKind = 'retention' | 'backup' | 'restore'

export interface OpsRun<S = unknown> {
  id: string
  kind: RunKind
  /** `schedule` (serve's timer), `api`, or `cli`. */
  trigger: string
  started_at: string
  finished_at: string | null
  ok: boolean | null
  summary: S | null
  error: string | null
}

type Row = Omit<OpsRun, 'ok' | 'summary'> & { ok: number | null; summary: string | null }

const toRun = <S>(row: Row | undefined): OpsRun<S> | undefined =>
  row && { ...row, ok: row.ok === null ? null : row.ok === 1, summary: row.summary === null ? null : (JSON.parse(row.summary) as S) }

/** Records a finished operation with what it did (or why it failed). */
export const recordRun = <S>(
  db: MetaDb,
  run: { kind: RunKind; trigger: string; startedAt: Date; finishedAt: Date; summary?: S; error?: string },
): OpsRun<S> => {
  const id = randomUUID()
  db.prepare(
    `INSERT INTO ops_runs (id, kind, trigger, started_at, finished_at, ok, summary, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    run.kind,
    run.trigger,
    run.startedAt.toISOString(),
    run.finishedAt.toISOString(),
    run.error === undefined ? 1 : 0,
    run.summary === undefined ? null : JSON.stringify(run.summary),
    run.error ?? null,
  )
  return toRun<S>(db.prepare('SELECT * FROM ops_runs WHERE id = ?').get(id) as Row)!
}

export const lastRun = <S>(db: MetaDb, kind: RunKind, options: { okOnly?: boolean } = {}): OpsRun<S> | undefined =>
  toRun<S>(
    db
      .prepare(`SELECT * FROM ops_runs WHERE kind = ? ${options.okOnly ? 'AND ok = 1' : ''} ORDER BY started_at DESC, rowid DESC LIMIT 1`)
      .get(kind) as Row | undefined,
  )

export const listRuns = <S>(db: MetaDb, kind: RunKind, limit = 1000): OpsRun<S>[] =>
  (db.prepare('SELECT * FROM ops_runs WHERE kind = ? ORDER BY started_at DESC, rowid DESC LIMIT ?').all(kind, limit) as Row[]).map(
    (r) => toRun<S>(r)!,
  )
