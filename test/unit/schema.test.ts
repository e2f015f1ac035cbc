import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Session } from 'chdb'
import { afterAll, describe, expect, it } from 'vitest'
import {
  CLUSTER_SESSION_SETTINGS,
  SERVER_SESSION_SETTINGS,
  ENGINE_MIGRATIONS,
  logDeleteSql,
  logDeleteTarget,
  logTable,
  renderBootstrap,
  renderMigrations,
} from '../../src/engine/schema.js'

const released = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures/engine-schema-single-node.json'), 'utf8')) as {
  bootstrap: string[]
  migrations: string[][]
  delete_project_entries: string
}

const single = { database: 'krafter' }
const cluster = { database: 'krafter', cluster: 'logs' }
const all = (target: { database: string; cluster?: string }) => [...renderBootstrap(target), ...renderMigrations(target).flat()]

describe('engine schema on one machine', () => {
  it('renders byte for byte the statements existing data dirs have applied', () => {
    expect(renderBootstrap(single)).toEqual(released.bootstrap)
    expect(renderMigrations(single)).toEqual(released.migrations)
    expect(logDeleteSql(single, 'project_id = {project_id:UUID}')).toBe(released.delete_project_entries)
  })

  it('reads, writes and deletes through log_entries with no ON CLUSTER anywhere', () => {
    expect(all(single).join('\n')).not.toMatch(/ON CLUSTER|Replicated|Distributed|log_entries_local/)
    expect(logTable(single)).toBe('`krafter`.log_entries')
    expect(logDeleteTarget(single)).toEqual({ table: '`krafter`.log_entries', onCluster: '' })
  })
})

describe('engine schema on a cluster', () => {
  const bootstrap = renderBootstrap(cluster)
  const migrations = renderMigrations(cluster)

  it('runs every DDL statement ON CLUSTER with quoted identifiers', () => {
    for (const sql of all(cluster)) {
      expect(sql).toContain('ON CLUSTER `logs`')
      expect(sql).not.toMatch(/\{(db|on_cluster|log_storage|merge_tree|migrations_engine|cluster)\}/)
    }
    expect(bootstrap[0]).toBe('CREATE DATABASE IF NOT EXISTS `krafter` ON CLUSTER `logs`')
  })

  it('keeps the same number of versions, so a schema version means the same on both', () => {
    expect(migrations).toHaveLength(ENGINE_MIGRATIONS.length)
    expect(migrations.map((m) => m.length)).toEqual([2, 3, 2, 4, 3, 1])
    // The Distributed table declares the stored template too, so reads through it can name it.
    expect(migrations[3]![3]).toMatch(/^ALTER TABLE `krafter`\.log_entries ON CLUSTER `logs` ADD COLUMN IF NOT EXISTS message_template String MATERIALIZED replaceRegexpAll\(/)
  })

  it('stores entries in a ReplicatedMergeTree log_entries_local with the released columns, indexes and layout', () => {
    const local = migrations[0]![0]!
    expect(local).toMatch(/^CREATE TABLE IF NOT EXISTS `krafter`\.log_entries_local ON CLUSTER `logs` \(/)
    expect(local).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/log_entries_local', '{replica}')")
    // Everything but the table name, the ON CLUSTER clause and the engine is the released text.
    const normalise = (sql: string) =>
      sql
        .replace(/log_entries(_local)?\s+(ON CLUSTER `logs` )?\(/, 'T (')
        .replace(/ENGINE = \S*MergeTree(\('[^']*', '[^']*'\))?/, 'ENGINE = E')
    expect(normalise(local)).toBe(normalise(released.migrations[0]![0]!))
    for (const part of ['INDEX idx_message', 'INDEX idx_trace_id', 'PARTITION BY toDate(timestamp)', 'ORDER BY (project_id, timestamp, id)', 'TTL toDateTime(timestamp) + INTERVAL 90 DAY', 'ttl_only_drop_parts = 1']) {
      expect(local).toContain(part)
    }
  })

  it('puts a Distributed log_entries over the local table, sharded by project', () => {
    const distributed = migrations[0]![1]!
    expect(distributed).toBe(
      'CREATE TABLE IF NOT EXISTS `krafter`.log_entries ON CLUSTER `logs` AS `krafter`.log_entries_local\n' +
        '    ENGINE = Distributed(`logs`, `krafter`, log_entries_local, cityHash64(project_id))',
    )
    // Reads and inserts keep using log_entries unchanged.
    expect(logTable(cluster)).toBe('`krafter`.log_entries')
  })

  it('alters the local table ON CLUSTER for the projection migration', () => {
    for (const sql of migrations[1]!) expect(sql).toMatch(/^ALTER TABLE `krafter`\.log_entries_local ON CLUSTER `logs` /)
  })

  it('replicates schema_migrations across the whole cluster', () => {
    expect(bootstrap[1]).toContain('`krafter`.schema_migrations ON CLUSTER `logs`')
    expect(bootstrap[1]).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/cluster_wide/{database}/schema_migrations', '{shard}-{replica}')")
  })

  it('sends deletes to the local table ON CLUSTER (a Distributed table takes no DELETE)', () => {
    expect(logDeleteTarget(cluster)).toEqual({ table: '`krafter`.log_entries_local', onCluster: 'ON CLUSTER `logs`' })
    expect(logDeleteSql(cluster, 'project_id = {project_id:UUID}')).toBe(
      'DELETE FROM `krafter`.log_entries_local ON CLUSTER `logs` WHERE project_id = {project_id:UUID}',
    )
  })

  it('asks for synchronous distributed inserts, and reads every shard', () => {
    expect(CLUSTER_SESSION_SETTINGS).toEqual({ distributed_foreground_insert: 1 })
  })
})

// No ZooKeeper or second server here, so the cluster DDL cannot run; a current ClickHouse
// (chDB, with the cluster and macros configured) still parses every statement, and creates
// the Distributed table over a local table built from the released single-machine DDL.
describe('cluster DDL against ClickHouse (chDB)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krafter-schema-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const configFile = path.join(dir, 'config.xml')
  writeFileSync(
    configFile,
    `<clickhouse>
  <remote_servers><logs><shard><replica><host>127.0.0.1</host><port>1</port></replica></shard></logs></remote_servers>
  <macros><shard>01</shard><replica>r1</replica></macros>
</clickhouse>`,
  )
  const session = new Session(path.join(dir, 'engine'), { connectionArgs: [`--config-file=${configFile}`] })
  afterAll(() => session.cleanup())
  const run = (sql: string) => session.query(sql, 'JSONEachRow')

  it('parses every cluster statement and the cluster delete', () => {
    for (const sql of [...all(cluster), logDeleteSql(cluster, 'project_id = {project_id:UUID}')]) {
      const out = session.queryBind('SELECT formatQuery({q:String}) AS f', { q: sql }, 'JSONEachRow')
      expect((JSON.parse(out) as { f: string }).f).toMatch(/ON CLUSTER logs/)
    }
  })

  it('creates the Distributed table with columns only, and its settings exist', () => {
    run('CREATE DATABASE krafter')
    run(released.migrations[0]![0]!.replace('`krafter`.log_entries ', '`krafter`.log_entries_local '))
    run(renderMigrations(cluster)[0]![1]!.replace(' ON CLUSTER `logs`', ''))
    const show = (JSON.parse(run('SHOW CREATE TABLE krafter.log_entries')) as { statement: string }).statement
    expect(show).toContain("ENGINE = Distributed('logs', 'krafter', 'log_entries_local', cityHash64(project_id))")
    expect(show).toContain('`metadata` JSON')
    expect(show).not.toMatch(/INDEX|TTL/)
    // A server refuses a request with a setting it does not know: these must all exist.
    const sent = Object.keys({ ...CLUSTER_SESSION_SETTINGS, ...SERVER_SESSION_SETTINGS })
    const names = run(`SELECT name FROM system.settings WHERE name IN (${sent.map((n) => `'${n}'`).join(', ')})`)
    expect(names.trim().split('\n')).toHaveLength(sent.length)
  })
})
