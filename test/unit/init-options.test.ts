import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { UserError } from '../../src/errors.js'
import { planInit, type InitOptions } from '../../src/ops/init.js'

// planInit checks its options before any step runs; nothing here touches the disk or a server.
const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-init-options-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const dataDir = path.join(root, 'data')

const refusal = (options: Omit<InitOptions, 'dataDir'>): UserError => {
  try {
    planInit({ dataDir, ...options })
  } catch (err) {
    expect(err).toBeInstanceOf(UserError)
    return err as UserError
  }
  throw new Error('planInit accepted the options')
}

describe('init options for the external engine', () => {
  it('requires an http(s) --clickhouse-url, as invalid input (exit 2)', () => {
    expect(refusal({ engine: 'external' })).toMatchObject({ exitCode: 2, message: expect.stringContaining('needs --clickhouse-url') })
    expect(refusal({ engine: 'external', clickhouseUrl: 'clickhouse:9000' }).exitCode).toBe(2)
    expect(refusal({ engine: 'external', clickhouseUrl: 'ftp://clickhouse' }).message).toContain('not an http:// or https:// URL')
  })

  it('accepts only plain identifiers for --cluster and --database', () => {
    const url = 'http://127.0.0.1:8123'
    expect(refusal({ engine: 'external', clickhouseUrl: url, cluster: 'logs-eu' }).exitCode).toBe(2)
    expect(refusal({ engine: 'external', clickhouseUrl: url, database: 'a.b' }).exitCode).toBe(2)
    expect(refusal({ database: 'drop table' }).exitCode).toBe(2)
  })

  it('refuses external flags without --engine external', () => {
    for (const options of [{ clickhouseUrl: 'http://x:8123' }, { clickhouseUser: 'u' }, { cluster: 'logs' }]) {
      expect(refusal(options)).toMatchObject({ exitCode: 2, message: expect.stringContaining('only apply to --engine external') })
    }
    // A password may come from KRAFTER_ENGINE_PASSWORD in the environment; it is ignored here.
    expect(() => planInit({ dataDir, clickhousePassword: 'secret' })).not.toThrow()
  })

  it('plans a connection check before anything is created, and keeps the engine settings for krafter.yaml', () => {
    const { steps, state } = planInit({
      dataDir,
      engine: 'external',
      clickhouseUrl: 'http://krafter:pw@clickhouse.internal:8123',
      clickhouseUser: 'krafter',
      clickhousePassword: 'secret',
      cluster: 'logs',
      database: 'logs_db',
    })
    expect(steps[0]!.title).toBe('Connect to ClickHouse at http://clickhouse.internal:8123')
    expect(steps[1]!.title).toContain('Create data directory')
    expect(steps.map((s) => s.title)).toContain('Create the log engine schema (external on cluster logs)')
    expect(state.config.engine).toMatchObject({
      mode: 'external',
      url: 'http://krafter:pw@clickhouse.internal:8123',
      user: 'krafter',
      password: 'secret',
      cluster: 'logs',
      database: 'logs_db',
    })
  })

  it('leaves the embedded plan as it was', () => {
    const { steps, state } = planInit({ dataDir })
    expect(steps.map((s) => s.title)).toEqual([
      `Create data directory ${dataDir}`,
      'Create metadata database and the first team API key',
      'Create the log engine schema (embedded)',
      'Write krafter.yaml',
    ])
    expect(state.config.engine).toMatchObject({ mode: 'embedded', database: 'krafter' })
    expect(state.config.engine.url).toBeUndefined()
  })
})
