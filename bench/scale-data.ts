import type { Engine } from '../src/engine/engine.js'

/**
 * One chunk of generated entries for a project (the search, console and scale benches): `count` entries with global numbers
 * `start`…`start+count-1`, spread evenly over [fromMs, fromMs + spanMs), generated inside the
 * engine (INSERT … SELECT), with the same fields as search-data.ts: 5 services, the level mix,
 * 4 message shapes incl. "connection reset", the rare word "kraken" in one entry of 1,000,003,
 * 60 % with trace ids, nested metadata. Numbers are global, so ids and trace ids are unique
 * across chunks.
 */
export const generateChunk = async (
  engine: Engine,
  chunk: { projectId: string; start: number; count: number; seed: number; fromMs: number; spanMs: number },
) => {
  await engine.client.command({
    query: `INSERT INTO krafter.log_entries (project_id, timestamp, id, level, service, stream, message, trace_id, span_id, metadata, received_at)
SELECT
  toUUID({project:String}) AS project_id,
  fromUnixTimestamp64Micro(toInt64({from:Int64} + intDiv((number - {start:UInt64}) * {span:UInt64}, {count:UInt64})), 'UTC') AS timestamp,
  leftPad(toString(number), 12, '0') AS id,
  arrayElement(['debug','info','info','info','info','info','warn','warn','error','fatal'], 1 + h % 10) AS level,
  arrayElement(['api-gateway','checkout','payments','search','notifications'], 1 + intDiv(h, 10) % 5) AS service,
  if(intDiv(h, 50) % 10 < 7, 'app', 'access') AS stream,
  multiIf(
    number % 1000003 = 17, concat('kraken sighting in shard ', toString(h % 97)),
    h % 4 = 0, concat('GET ', arrayElement(['/v1/orders','/v1/cart','/v1/users/me','/v1/search','/healthz'], 1 + intDiv(h, 7) % 5), ' completed in ', toString(h % 900), 'ms with status ', toString(if(h % 10 = 0, 500, 200))),
    h % 4 = 1, concat('upstream ', arrayElement(['inventory','pricing','auth','ledger'], 1 + intDiv(h, 11) % 4), ' returned ', if(h % 3 = 0, 'connection reset', 'timeout'), ' after ', toString(h % 30), 's, retry ', toString(h % 5)),
    h % 4 = 2, concat('database query took ', toString(h % 2000), 'ms rows=', toString(h % 500), ' table=', arrayElement(['orders','users','carts','payments'], 1 + intDiv(h, 13) % 4)),
    concat('cache ', if(h % 2 = 0, 'miss', 'hit'), ' for user ', toString(h % 100000), ' key session:', lower(hex(h % 65536)))
  ) AS message,
  if(h % 10 < 6, lower(concat(hex(cityHash64(number, {seed:UInt64}, 1)), hex(cityHash64(number, {seed:UInt64}, 2)))), '') AS trace_id,
  if(h % 10 < 6, lower(hex(cityHash64(number, {seed:UInt64}, 3))), '') AS span_id,
  CAST(concat('{"user":{"id":', toString(h % 100000), ',"plan":"', if(h % 5 = 0, 'pro', 'free'), '"},"http":{"method":"', if(h % 10 < 7, 'GET', 'POST'),
    '","status":', toString(multiIf(h % 20 = 0, 503, h % 20 = 1, 500, 200)), ',"duration_ms":', toString(h % 1500), '},"region":"', if(h % 2 = 0, 'eu-west-1', 'us-east-1'), '"}') AS JSON) AS metadata,
  timestamp AS received_at
FROM (SELECT number, cityHash64(number, {seed:UInt64}) AS h FROM numbers({start:UInt64}, {count:UInt64}))`,
    query_params: { project: chunk.projectId, from: chunk.fromMs * 1000, start: chunk.start, count: chunk.count, span: chunk.spanMs * 1000, seed: chunk.seed },
    clickhouse_settings: { max_insert_threads: '2', max_threads: 2 },
  })
}
