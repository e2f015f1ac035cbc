import { chmodSync } from 'node:fs'
import Database from 'better-sqlite3'
import { MIGRATIONS } from './migrations.js'

export type MetaDb = Database.Database

/**
 * Opens the metadata database. WAL mode lets CLI commands read and write while `serve`
 * holds it open; busy_timeout makes a writer wait for the other process instead of failing.
 */
export const openMeta = (file: string, options: { migrate?: boolean } = {}): MetaDb => {
  const db = new Database(file)
  // Holds key and token hashes: readable by the owner only.
  chmodSync(file, 0o600)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  db.pragma('synchronous = NORMAL')
  if (options.migrate !== false) migrate(db)
  cachePreparedStatements(db)
  return db
}

export const schemaVersion = (db: MetaDb): number => db.pragma('user_version', { simple: true }) as number

/** Applies every migration above the stored user_version, each in its own transaction. */
export const migrate = (db: MetaDb): number => {
  const current = schemaVersion(db)
  for (const [index, sql] of MIGRATIONS.entries()) {
    const version = index + 1
    if (version <= current) continue
    db.transaction(() => {
      db.exec(sql)
      db.pragma(`user_version = ${version}`)
    })()
  }
  return schemaVersion(db)
}

/**
 * Every repository call prepares its SQL by text; compiling it each time cost more than
 * running it on the ingest path. The SQL texts are a small fixed set (dynamic parts are chosen
 * from column lists, never from input), so a per-connection cache stays bounded.
 */
const cachePreparedStatements = (db: MetaDb): void => {
  const prepare = db.prepare.bind(db)
  const cache = new Map<string, Database.Statement>()
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql)
    if (!statement) {
      statement = prepare(sql)
      cache.set(sql, statement)
    }
    return statement
  }) as typeof db.prepare
}
