import type { Engine } from './engine.js'

/**
 * Engine schema migrations. Each entry is a list of statements; `{db}` and `{on_cluster}` are
 * replaced by the validated database identifier and the ON CLUSTER clause. Applied versions
 * are recorded in {db}.schema_migrations. Never edit a released entry; add a new one.
 *
 * log_entries: one multi-tenant table, sorted by (project_id, timestamp, id) so a project's
 * time range is one contiguous range of granules; daily partitions make retention drops cheap;
 * the 90-day TTL is the safety net of seed 004 under per-project retention.
 */
export const ENGINE_MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS {db}.log_entries {on_cluster} (
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
    ENGINE = MergeTree
    PARTITION BY toDate(timestamp)
    ORDER BY (project_id, timestamp, id)
    TTL toDateTime(timestamp) + INTERVAL 90 DAY
    SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
  ],
  [
    // Volume stats per minute without reading the entries (see logs/search.ts volumeStats).
    // Lightweight DELETE (project deletion) rebuilds the projection of the parts it touches.
    // Built when parts merge, not on insert: the small parts of group-committed inserts would
    // pay for it on every INSERT, and a query reads parts without it from the entries.
    `ALTER TABLE {db}.log_entries {on_cluster} MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild',
      materialize_projections_on_insert = 0, materialize_projections_on_merge = 1`,
    `ALTER TABLE {db}.log_entries {on_cluster} ADD PROJECTION IF NOT EXISTS p_volume
      (SELECT project_id, toStartOfMinute(timestamp), level, service, stream, count()
       GROUP BY project_id, toStartOfMinute(timestamp), level, service, stream)`,
    `ALTER TABLE {db}.log_entries {on_cluster} MATERIALIZE PROJECTION p_volume`,
  ],
]

const render = (sql: string, engine: Pick<Engine, 'database' | 'cluster'>): string =>
  sql
    .replaceAll('{db}', `\`${engine.database}\``)
    .replaceAll('{on_cluster}', engine.cluster ? `ON CLUSTER \`${engine.cluster}\`` : '')

/** Brings the engine schema to the newest version; returns the version now in place. */
export const migrateEngine = async (engine: Engine): Promise<number> => {
  const { client } = engine
  await client.command({ query: render('CREATE DATABASE IF NOT EXISTS {db} {on_cluster}', engine) })
  await client.command({
    query: render(
      `CREATE TABLE IF NOT EXISTS {db}.schema_migrations {on_cluster} (version UInt32, applied_at DateTime64(3, 'UTC'))
       ENGINE = MergeTree ORDER BY version`,
      engine,
    ),
  })
  let current = await engineSchemaVersion(engine)
  for (const [index, statements] of ENGINE_MIGRATIONS.entries()) {
    const version = index + 1
    if (version <= current) continue
    for (const sql of statements) await client.command({ query: render(sql, engine) })
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
    query: render('SELECT max(version) AS v FROM {db}.schema_migrations', engine),
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{ v: number | string }>()
  return Number(rows[0]?.v ?? 0)
}

export const LOG_TABLE = 'log_entries'

/** The log table's qualified name; the database is a validated identifier (config.ts). */
export const logTable = (engine: Pick<Engine, 'database'>): string => `\`${engine.database}\`.${LOG_TABLE}`

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
