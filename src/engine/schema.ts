import type { Engine } from './engine.js'
import { templateExpression } from './message-template.js'

/** What the DDL depends on: the database, and for a cluster the name it runs ON CLUSTER. */
export type SchemaTarget = Pick<Engine, 'database' | 'cluster'>

export const LOG_TABLE = 'log_entries'
/** On a cluster: each shard's replicated table behind the Distributed log_entries. */
export const LOG_LOCAL_TABLE = 'log_entries_local'

/** Macros every server of a cluster must define for the replicated tables' paths and names. */
export const REPLICATION_MACROS = ['shard', 'replica'] as const

/** A statement that only exists on a cluster (the Distributed table over the local one). */
export interface ClusterOnlyStatement {
  clusterOnly: string
}
export type MigrationStatement = string | ClusterOnlyStatement

/**
 * Engine schema migrations. Each entry is a list of statements with placeholders that
 * renderSql fills: `{db}` the validated database identifier, `{on_cluster}` the ON CLUSTER
 * clause (empty on one machine), `{log_storage}` the table that stores the entries (log_entries,
 * or log_entries_local on a cluster), `{merge_tree}` its engine, `{cluster}` the cluster name.
 * Applied versions are recorded in {db}.schema_migrations. Never edit a released entry; add a
 * new one. On one machine the rendered SQL must stay byte-for-byte what was released, since
 * existing data dirs have it applied (test/unit/schema.test.ts holds the released text).
 *
 * log_entries: one multi-tenant table, sorted by (project_id, timestamp, id) so a project's
 * time range is one contiguous range of granules; daily partitions make retention drops cheap;
 * the 90-day TTL is the safety net of seed 004 under per-project retention.
 *
 * On a cluster every read and insert still goes to log_entries, which is then a Distributed
 * table; the rows live in log_entries_local on each shard. Sharding by project keeps a
 * project's entries together on one shard (each shard's part of a search is one key range) at
 * the cost of balancing by project rather than by row.
 */
export const ENGINE_MIGRATIONS: MigrationStatement[][] = [
  [
    `CREATE TABLE IF NOT EXISTS {db}.{log_storage} {on_cluster} (
      project_id UUID,
      timestamp DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
      id String CODEC(ZSTD(1)),
      level LowCardinality(String),
      service LowCardinality(String),
      stream LowCardinality(String),
      message String CODEC(ZSTD(3)),
      trace_id String CODEC(ZSTD(1)),
      span_id String CODEC(ZSTD(1)),
      metadata JSON,
      received_at DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
      INDEX idx_message lower(message) TYPE text(tokenizer = splitByNonAlpha) GRANULARITY 1,
      INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
      INDEX idx_span_id span_id TYPE bloom_filter(0.001) GRANULARITY 1
    )
    ENGINE = {merge_tree}
    PARTITION BY toDate(timestamp)
    ORDER BY (project_id, timestamp, id)
    TTL toDateTime(timestamp) + INTERVAL 90 DAY
    SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
    // Indexes, TTL and settings stay with the local table; AS copies the columns only.
    {
      clusterOnly: `CREATE TABLE IF NOT EXISTS {db}.log_entries {on_cluster} AS {db}.{log_storage}
    ENGINE = Distributed({cluster}, {db}, {log_storage}, cityHash64(project_id))`,
    },
  ],
  [
    // Volume stats per minute without reading the entries (see logs/search.ts volumeStats).
    // Lightweight DELETE (project deletion) rebuilds the projection of the parts it touches.
    // Built when parts merge, not on insert: the small parts of group-committed inserts would
    // pay for it on every INSERT, and a query reads parts without it from the entries.
    `ALTER TABLE {db}.{log_storage} {on_cluster} MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild',
      materialize_projections_on_insert = 0, materialize_projections_on_merge = 1`,
    `ALTER TABLE {db}.{log_storage} {on_cluster} ADD PROJECTION IF NOT EXISTS p_volume
      (SELECT project_id, toStartOfMinute(timestamp), level, service, stream, count()
       GROUP BY project_id, toStartOfMinute(timestamp), level, service, stream)`,
    `ALTER TABLE {db}.{log_storage} {on_cluster} MATERIALIZE PROJECTION p_volume`,
  ],
  [
    // Live tail (explore/tail.ts) reads the entries received after its cursor. received_at is
    // not in the sort key, but parts are written in receipt order: a minmax index lets a tail's
    // read skip every granule received before its cursor instead of scanning the project.
    `ALTER TABLE {db}.{log_storage} {on_cluster} ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1`,
    `ALTER TABLE {db}.{log_storage} {on_cluster} MATERIALIZE INDEX idx_received_at`,
  ],
  [
    // Context finds its entry by (project_id, id): without an index that reads every id of the
    // project (10M at the bench's scale); a bloom filter reads the granules that may hold it.
    `ALTER TABLE {db}.{log_storage} {on_cluster} ADD INDEX IF NOT EXISTS idx_id id TYPE bloom_filter(0.001) GRANULARITY 1`,
    `ALTER TABLE {db}.{log_storage} {on_cluster} MATERIALIZE INDEX idx_id`,
    // Patterns group this column (message-template.ts): computed once when a row is written.
    // Older parts compute it on read from the same expression, so no MATERIALIZE is needed.
    `ALTER TABLE {db}.{log_storage} {on_cluster} ADD COLUMN IF NOT EXISTS message_template String MATERIALIZED ${templateExpression()} CODEC(ZSTD(1))`,
    // The Distributed table declares it too (not sent on insert; each shard computes its own).
    { clusterOnly: `ALTER TABLE {db}.log_entries {on_cluster} ADD COLUMN IF NOT EXISTS message_template String MATERIALIZED ${templateExpression()}` },
  ],
  [
    // Measured by npm run bench:schema (docs/architecture.md "Table design at 100M entries"):
    // columns without a codec of their own (metadata, level, service, stream, the projections'
    // columns) were LZ4, the server's default; ZSTD(1) halves metadata (13.25 → 6.65 MiB per
    // million bench entries) and level/service/stream (1.62 → 0.83 MiB). Parts written from now
    // on and parts merged later take it; nothing is rewritten by this statement.
    `ALTER TABLE {db}.{log_storage} {on_cluster} MODIFY SETTING default_compression_codec = 'ZSTD(1)'`,
    // A message's template has few distinct values: LowCardinality stores each once per part
    // (4.08 → 1.50 MiB per million) and patterns read half the bytes. The ALTER returns once a
    // mutation has rewritten the column of every existing part: the first serve of this release
    // starts listening after it (26 s for 12M entries in 180 parts here, docs/operations.md).
    `ALTER TABLE {db}.{log_storage} {on_cluster} MODIFY COLUMN message_template LowCardinality(String) MATERIALIZED ${templateExpression()} CODEC(ZSTD(1))`,
    { clusterOnly: `ALTER TABLE {db}.log_entries {on_cluster} MODIFY COLUMN message_template LowCardinality(String) MATERIALIZED ${templateExpression()}` },
  ],
  [
    // The ingest spool inserts each segment under its UUID as insert_deduplication_token: a
    // segment inserted again after a crash (stored, not yet removed) must be skipped, which a
    // MergeTree does only within this window of recent inserts (the replicated tables of a
    // cluster deduplicate on their own). Inserts without a token say insert_deduplicate = 0.
    `ALTER TABLE {db}.{log_storage} {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000`,
  ],
]

/**
 * Before any migration: the database and the table recording applied versions. On a cluster
 * schema_migrations is replicated across every server of every shard (one ZooKeeper path, the
 * replica named by shard and replica), so whichever server krafter-logs connects to next time
 * sees the versions already applied instead of running the migrations again.
 */
const BOOTSTRAP: string[] = [
  'CREATE DATABASE IF NOT EXISTS {db} {on_cluster}',
  `CREATE TABLE IF NOT EXISTS {db}.schema_migrations {on_cluster} (version UInt32, applied_at DateTime64(3, 'UTC'))
       ENGINE = {migrations_engine} ORDER BY version`,
]

const quoteIdentifier = (name: string): string => `\`${name}\``

/**
 * Fills the placeholders of one statement; undefined for a cluster-only statement on one
 * machine. Identifiers come from config.ts's whitelist, so quoting them is enough. The macros
 * in the replicated tables' paths ({shard}, {replica}, {database}) are left for the server.
 */
export const renderSql = (statement: MigrationStatement, target: SchemaTarget): string | undefined => {
  const cluster = target.cluster
  if (typeof statement !== 'string' && cluster === undefined) return undefined
  const sql = typeof statement === 'string' ? statement : statement.clusterOnly
  const storage = cluster === undefined ? LOG_TABLE : LOG_LOCAL_TABLE
  return sql
    .replaceAll('{db}', quoteIdentifier(target.database))
    .replaceAll('{on_cluster}', cluster === undefined ? '' : `ON CLUSTER ${quoteIdentifier(cluster)}`)
    .replaceAll('{cluster}', cluster === undefined ? '' : quoteIdentifier(cluster))
    .replaceAll('{log_storage}', storage)
    .replaceAll('{migrations_engine}', cluster === undefined ? 'MergeTree' : `ReplicatedMergeTree('/clickhouse/tables/cluster_wide/{database}/schema_migrations', '{shard}-{replica}')`)
    .replaceAll('{merge_tree}', cluster === undefined ? 'MergeTree' : `ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/${LOG_LOCAL_TABLE}', '{replica}')`)
}

/** The statements that create the database and schema_migrations, in order. */
export const renderBootstrap = (target: SchemaTarget): string[] =>
  BOOTSTRAP.map((sql) => renderSql(sql, target)).filter((sql): sql is string => sql !== undefined)

/** Every migration's statements for a target, in order; index + 1 is the schema version. */
export const renderMigrations = (target: SchemaTarget): string[][] =>
  ENGINE_MIGRATIONS.map((statements) =>
    statements.map((s) => renderSql(s, target)).filter((sql): sql is string => sql !== undefined),
  )

/** Brings the engine schema to the newest version; returns the version now in place. */
export const migrateEngine = async (engine: Engine): Promise<number> => {
  const { client } = engine
  for (const sql of renderBootstrap(engine)) await client.command({ query: sql })
  let current = await engineSchemaVersion(engine)
  for (const [index, statements] of renderMigrations(engine).entries()) {
    const version = index + 1
    if (version <= current) continue
    for (const sql of statements) await client.command({ query: sql })
    await client.insert({
      table: `${engine.database}.schema_migrations`,
      values: [{ version, applied_at: Date.now() }],
      format: 'JSONEachRow',
    })
    current = version
  }
  return current
}

export const engineSchemaVersion = async (engine: Engine): Promise<number> => {
  const rs = await engine.client.query({
    query: `SELECT max(version) AS v FROM ${quoteIdentifier(engine.database)}.schema_migrations`,
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{ v: number | string }>()
  return Number(rows[0]?.v ?? 0)
}

/**
 * The log table's qualified name for reads and inserts; the database is a validated
 * identifier (config.ts). On a cluster this is the Distributed table.
 */
export const logTable = (engine: SchemaTarget): string => `${quoteIdentifier(engine.database)}.${LOG_TABLE}`

/**
 * Where statements that change stored rows go (lightweight DELETE, ALTER … DELETE / DROP
 * PARTITION): a Distributed table accepts none of them, so on a cluster they go to each
 * shard's local table ON CLUSTER. `onCluster` is empty on one machine.
 */
export const logDeleteTarget = (engine: SchemaTarget): { table: string; onCluster: string } =>
  engine.cluster === undefined
    ? { table: logTable(engine), onCluster: '' }
    : { table: `${quoteIdentifier(engine.database)}.${LOG_LOCAL_TABLE}`, onCluster: `ON CLUSTER ${quoteIdentifier(engine.cluster)}` }

/**
 * A lightweight DELETE of the log rows matching `whereSql` (bound parameters allowed: the
 * server substitutes them before it queues an ON CLUSTER statement for the other hosts).
 */
export const logDeleteSql = (engine: SchemaTarget, whereSql: string): string => {
  const { table, onCluster } = logDeleteTarget(engine)
  return `DELETE FROM ${table}${onCluster ? ` ${onCluster}` : ''} WHERE ${whereSql}`
}

/**
 * Settings every statement on the log tables relies on, whatever the engine mode. The embedded
 * engine gets them once per session (chDB runs per-query settings as extra SET statements);
 * a server gets them with every request from the client's defaults.
 */
export const ENGINE_SESSION_SETTINGS = {
  // `{"a": {"b": 1}, "a.b": 2}` names one path twice; keep the first instead of failing the insert.
  type_json_skip_duplicated_paths: 1,
  // Metadata numbers come back as JSON numbers, not strings.
  output_format_json_quote_64bit_integers: 0,
} as const

/**
 * Added for a server: the text index is GA from 26.2 (MIN_ENGINE_VERSION), but a server pinned
 * to an older `compatibility` still needs it switched on; the old name is an alias there.
 */
export const SERVER_SESSION_SETTINGS = {
  allow_experimental_full_text_index: 1,
} as const

/**
 * Added on a cluster: an insert into the Distributed table returns only once every shard has
 * its rows, so a 202 still means stored (by default they would wait in a local queue first).
 * optimize_skip_unused_shards is left off on purpose: after a shard is added, a project's older
 * rows stay on the shard the old layout chose, and a search asking only the new one would miss
 * them. Every shard finds a project's rows through the primary key, so asking all is cheap.
 */
export const CLUSTER_SESSION_SETTINGS = {
  distributed_foreground_insert: 1,
} as const
