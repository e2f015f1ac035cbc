import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { keysetQuery, type KeysetOrder } from '../../src/meta/keyset.js'

interface Row {
  at: string
  id: string
  tag: string
}

/** A real SQLite table with ties on the sort key, so the tie-breaker has to work. */
const table = () => {
  const db = new Database(path.join(mkdtempSync(path.join(os.tmpdir(), 'keyset-')), 'k.db'))
  db.exec('CREATE TABLE t (at TEXT, id TEXT, tag TEXT)')
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?)')
  const rows: Row[] = []
  for (let i = 0; i < 23; i++) {
    const row = { at: `2026-01-0${1 + (i % 4)}`, id: `id-${String((i * 7) % 23).padStart(2, '0')}`, tag: i % 3 === 0 ? "x' OR 1=1 --" : 'y' }
    insert.run(row.at, row.id, row.tag)
    rows.push(row)
  }
  return { db, rows }
}

const walk = (db: Database.Database, order: KeysetOrder, limit: number, tag?: string): Row[] => {
  const seen: Row[] = []
  let after: [string, string] | undefined
  for (let guard = 0; guard < 100; guard++) {
    const q = keysetQuery({ select: 'SELECT at, id, tag FROM t', filters: [tag && ['tag = @tag', { tag }]], order, after, limit })
    const page = db.prepare(q.sql).all(q.params) as Row[]
    seen.push(...page)
    if (page.length < limit) return seen
    const last = page[page.length - 1]!
    after = [last.at, last.id]
  }
  throw new Error('keyset walk did not end')
}

const sorted = (rows: Row[], dir: 1 | -1) =>
  [...rows].sort((a, b) => dir * (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1))

describe('keysetQuery', () => {
  it('pages ascending through ties: every row once, in (sort, tie-breaker) order', () => {
    const { db, rows } = table()
    expect(walk(db, { columns: ['at', 'id'], direction: 'ASC' }, 4)).toEqual(sorted(rows, 1))
  })

  it('pages descending (newest first) the same way', () => {
    const { db, rows } = table()
    expect(walk(db, { columns: ['at', 'id'], direction: 'DESC' }, 5)).toEqual(sorted(rows, -1))
  })

  it('binds filter values: a quote in a value filters on it instead of changing the SQL', () => {
    const { db, rows } = table()
    const hostile = "x' OR 1=1 --"
    const q = keysetQuery({ select: 'SELECT at, id, tag FROM t', filters: [['tag = @tag', { tag: hostile }]], order: { columns: ['at', 'id'], direction: 'ASC' }, limit: 3 })
    expect(q.sql).not.toContain(hostile)
    expect(walk(db, { columns: ['at', 'id'], direction: 'ASC' }, 3, hostile)).toEqual(sorted(rows.filter((r) => r.tag === hostile), 1))
  })
})
