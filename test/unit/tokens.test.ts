import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openMeta, schemaVersion } from '../../src/meta/db.js'
import { MIGRATIONS } from '../../src/meta/migrations.js'
import { createApiKey, findActiveApiKey } from '../../src/meta/keys.js'
import { createTeam } from '../../src/meta/teams.js'
import { displayPrefix, generateToken, hashToken, hashesEqual, tokenKind } from '../../src/security/tokens.js'

describe('tokens', () => {
  it('are 32 random [a-z0-9] characters after the kind prefix', () => {
    const team = new Set(Array.from({ length: 200 }, () => generateToken('team')))
    expect(team.size).toBe(200)
    for (const t of team) expect(t).toMatch(/^kr_live_[a-z0-9]{32}$/)
    expect(generateToken('ingest')).toMatch(/^krl_live_[a-z0-9]{32}$/)
    // Every character of the alphabet shows up: the draw is not biased to a subset.
    const chars = new Set([...team].join('').replaceAll('kr_live_', ''))
    expect(chars.size).toBe(36)
  })

  it('are told apart by kind and hashed with SHA-256', () => {
    const t = generateToken('ingest')
    expect(tokenKind(t)).toBe('ingest')
    expect(tokenKind(generateToken('team'))).toBe('team')
    expect(tokenKind('kr_live_short')).toBeNull()
    expect(tokenKind('krl_live_' + 'A'.repeat(32))).toBeNull()
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/)
    expect(displayPrefix(t)).toBe(t.slice(0, 12))
    expect(hashesEqual(hashToken(t), hashToken(t))).toBe(true)
    expect(hashesEqual(hashToken(t), hashToken(t + 'x'))).toBe(false)
    expect(hashesEqual(hashToken(t), 'abc')).toBe(false)
  })
})

describe('metadata database', () => {
  it('migrates to the newest version once and keeps keys as hashes only', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'krafter-meta-')), 'meta.sqlite')
    const db = openMeta(file)
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    db.close()
    const again = openMeta(file)
    expect(schemaVersion(again)).toBe(MIGRATIONS.length)
    expect(again.pragma('journal_mode', { simple: true })).toBe('wal')
    const now = new Date()
    const team = createTeam(again, 't', now)
    const { key, token } = createApiKey(again, { teamId: team.id, name: 'k', scopes: ['logs:read'] }, now)
    expect(findActiveApiKey(again, token, now)?.id).toBe(key.id)
    expect(JSON.stringify(again.prepare('SELECT * FROM api_keys').all())).not.toContain(token)
    const later = new Date(now.getTime() + 1000)
    again.prepare('UPDATE api_keys SET expires_at = ?').run(now.toISOString())
    expect(findActiveApiKey(again, token, later)).toBeUndefined()
    again.close()
  })
})
