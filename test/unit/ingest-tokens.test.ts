import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { migrate, openMeta, schemaVersion, type MetaDb } from '../../src/meta/db.js'
import {
  findLiveIngestToken,
  insertIngestToken,
  listIngestTokens,
  originAllowedByLiveToken,
  revokeIngestToken,
  TokenUseMeter,
} from '../../src/meta/ingest-tokens.js'
import { MIGRATIONS } from '../../src/meta/migrations.js'
import { insertProject, rotateIngestToken } from '../../src/meta/projects.js'
import { createTeam } from '../../src/meta/teams.js'
import { normalizeOrigin } from '../../src/access/ingest-tokens.js'
import { hashToken } from '../../src/security/tokens.js'

const dirs: string[] = []
const tempDb = (options: { migrate?: boolean } = {}): MetaDb => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krafter-tokens-'))
  dirs.push(dir)
  return openMeta(path.join(dir, 'meta.sqlite'), options)
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const setup = () => {
  const db = tempDb()
  const now = new Date('2026-11-27T10:00:00.000Z')
  const team = createTeam(db, 't', now)
  const { project, ingestToken } = insertProject(db, team.id, { name: 'p', retention_days: 7, daily_limit_mb: 500 }, now)
  return { db, now, team, project, ingestToken }
}

describe('the migration to many tokens per project', () => {
  it("marks each project's newest token primary and the older ones rotated, keeping every token valid as it was", () => {
    const db = tempDb({ migrate: false })
    const mine = MIGRATIONS.findIndex((sql) => sql.includes("ADD COLUMN kind TEXT NOT NULL DEFAULT 'rotated'"))
    expect(mine).toBeGreaterThan(0)
    // The schema as it was before: apply every migration before this one by hand.
    for (const sql of MIGRATIONS.slice(0, mine)) db.exec(sql)
    db.pragma(`user_version = ${mine}`)
    db.prepare(`INSERT INTO teams (id, name, created_at) VALUES ('t1', 't', '2026-01-01T00:00:00.000Z')`).run()
    const project = (id: string) =>
      db.prepare(`INSERT INTO projects (id, team_id, name, retention_days, daily_limit_mb, ingest_token_prefix, created_at, updated_at) VALUES (?, 't1', ?, 7, 500, 'krl_live_xxx', 'x', 'x')`).run(id, id)
    const token = (id: string, projectId: string, at: string, extra: { expires_at?: string; revoked_at?: string } = {}) =>
      db
        .prepare('INSERT INTO ingest_tokens (id, project_id, prefix, token_hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, projectId, 'krl_live_xxx', hashToken(id), at, extra.expires_at ?? null, extra.revoked_at ?? null)
    project('a')
    project('b')
    token('a-first', 'a', '2026-01-01T00:00:00.000Z', { revoked_at: '2026-01-02T00:00:00.000Z' })
    token('a-grace', 'a', '2026-01-02T00:00:00.000Z', { expires_at: '2099-01-01T00:00:00.000Z' })
    token('a-now', 'a', '2026-01-03T00:00:00.000Z')
    token('b-only', 'b', '2026-01-01T00:00:00.000Z')
    expect(migrate(db)).toBe(MIGRATIONS.length)
    const rows = db.prepare('SELECT id, kind, name, allowed_origins, last_used_at, expires_at, revoked_at FROM ingest_tokens ORDER BY id').all()
    expect(rows).toEqual([
      { id: 'a-first', kind: 'rotated', name: 'primary', allowed_origins: '[]', last_used_at: null, expires_at: null, revoked_at: '2026-01-02T00:00:00.000Z' },
      { id: 'a-grace', kind: 'rotated', name: 'primary', allowed_origins: '[]', last_used_at: null, expires_at: '2099-01-01T00:00:00.000Z', revoked_at: null },
      { id: 'a-now', kind: 'primary', name: 'primary', allowed_origins: '[]', last_used_at: null, expires_at: null, revoked_at: null },
      { id: 'b-only', kind: 'primary', name: 'primary', allowed_origins: '[]', last_used_at: null, expires_at: null, revoked_at: null },
    ])
    const now = new Date('2026-06-01T00:00:00.000Z')
    expect(findLiveIngestToken(db, 'a-grace', now)?.project.id).toBe('a')
    expect(findLiveIngestToken(db, 'a-now', now)?.project.id).toBe('a')
    expect(findLiveIngestToken(db, 'a-first', now)).toBeUndefined()
    expect(schemaVersion(db)).toBe(MIGRATIONS.length)
    db.close()
  })
})

describe('TokenUseMeter', () => {
  it('keeps uses in memory, writing nothing per request, and writes the latest once on flush', () => {
    const { db, now, project } = setup()
    const { token } = insertIngestToken(db, project.id, { kind: 'named', name: 'n' }, now)
    const meter = new TokenUseMeter(db, 3_600_000)
    const changes = () => db.prepare('SELECT total_changes() AS n').pluck().get() as number
    const before = changes()
    for (let i = 1; i <= 500; i++) meter.touch(token.id, new Date(now.getTime() + i))
    expect(changes()).toBe(before)
    expect(listIngestTokens(db, project.id, { limit: 10 }).find((k) => k.id === token.id)!.last_used_at).toBeNull()
    meter.flush()
    expect(changes()).toBe(before + 1)
    expect(listIngestTokens(db, project.id, { limit: 10 }).find((k) => k.id === token.id)!.last_used_at).toBe(new Date(now.getTime() + 500).toISOString())
    // An older use flushed later never moves it back; nothing pending writes nothing.
    meter.touch(token.id, now)
    meter.flush()
    meter.flush()
    expect(listIngestTokens(db, project.id, { limit: 10 }).find((k) => k.id === token.id)!.last_used_at).toBe(new Date(now.getTime() + 500).toISOString())
    db.close()
  })
})

describe('the origins live tokens allow', () => {
  it('follow creation, revocation, expiry and rotation at once', () => {
    const { db, now, team, project } = setup()
    const allowed = (origin: string, at = now) => originAllowedByLiveToken(db, team.id, origin, at)
    expect(allowed('https://a.example')).toBe(false)
    const a = insertIngestToken(db, project.id, { kind: 'named', name: 'a', allowedOrigins: ['https://a.example'] }, now)
    insertIngestToken(db, project.id, { kind: 'named', name: 'b', allowedOrigins: ['https://b.example'], expiresAt: new Date(now.getTime() + 1000).toISOString() }, now)
    expect(allowed('https://a.example')).toBe(true)
    expect(allowed('https://b.example')).toBe(true)
    expect(allowed('https://b.example', new Date(now.getTime() + 1000))).toBe(false)
    expect(allowed('https://c.example')).toBe(false)
    // Another team's tokens do not open this team's endpoints (and the other way round).
    expect(originAllowedByLiveToken(db, 'another-team', 'https://a.example', now)).toBe(false)
    rotateIngestToken(db, team.id, project.id, 0, now)
    expect(allowed('https://a.example')).toBe(true)
    revokeIngestToken(db, project.id, a.token.id, now)
    expect(allowed('https://a.example')).toBe(false)
    db.close()
  })
})

describe('normalizeOrigin', () => {
  it('takes exactly an http(s) origin, as browsers write it', () => {
    expect(normalizeOrigin('HTTPS://App.Example.COM')).toBe('https://app.example.com')
    expect(normalizeOrigin('https://app.example.com:443')).toBe('https://app.example.com')
    expect(normalizeOrigin('http://localhost:80')).toBe('http://localhost')
    expect(normalizeOrigin('http://localhost:8443')).toBe('http://localhost:8443')
    expect(normalizeOrigin('http://127.0.0.1:5173')).toBe('http://127.0.0.1:5173')
    expect(normalizeOrigin('http://[::1]:3000')).toBe('http://[::1]:3000')
    expect(normalizeOrigin('https://xn--bcher-kva.example')).toBe('https://xn--bcher-kva.example')
    for (const bad of ['https://a.example/', 'https://a.example/x', 'https://a.example?', 'https://a.example#', 'ws://a.example', 'file:///x', 'https://*.a.example', '*', 'null', 'https://u:p@a.example', 'http://0x7f.1', 'https://bücher.example', 'https://a.example:0x50', 'https://a .example', 'https://a.example.:443x']) {
      expect(normalizeOrigin(bad), bad).toBeUndefined()
    }
  })
})
