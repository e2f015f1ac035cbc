import { randomBytes } from 'node:crypto'
import type { MetaDb } from './db.js'

type SecretName = 'viewer_token_key'

const readSecret = (db: MetaDb, name: SecretName): Buffer | undefined => {
  const row = db.prepare(`SELECT value FROM install_state WHERE name = ?`).get(name) as { value: Buffer } | undefined
  return row && Buffer.from(row.value)
}

/**
 * A secret of this install kept in install_state (meta.sqlite: 0600, in the data dir, carried
 * by every backup): 32 random bytes made on first use. Read first, so the requests that check
 * it never take SQLite's write lock; made with INSERT … ON CONFLICT DO NOTHING then read
 * again, so two processes (serve and a CLI) racing on the first use still agree on one value.
 */
export const ensureInstallSecret = (db: MetaDb, name: SecretName): Buffer => {
  const existing = readSecret(db, name)
  if (existing) return existing
  db.prepare(`INSERT INTO install_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`).run(name, randomBytes(32))
  return readSecret(db, name)!
}
