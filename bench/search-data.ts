import type { Engine } from '../src/engine/engine.js'

/** count entries for a project spread evenly over the 24 h after fromMs, generated inside the engine. */
export const generateEntries = async (engine: Engine, projectId: string, count: number, seed: number, fromMs: number) => {
  // Deterministic pseudo-random fields from cityHash64(number, seed); timestamps spread evenly over 24 h.
  await engine.client.command({
    query: `INSERT INTO krafter.log_entries
SELECT
  toUUID({project:String}) AS project_id,
  fromUnixTimestamp64Micro(toInt64({from:Int64} + intDiv(number * 86400000000, {count:UInt64})), 'UTC') AS timestamp,
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
  if(h % 10 < 6, lower(concat(hex(cityHash64(number, 1)), hex(cityHash64(number, 2)))), '') AS trace_id,
  if(h % 10 < 6, lower(hex(cityHash64(number, 3))), '') AS span_id,
  CAST(concat('{"user":{"id":', toString(h % 100000), ',"plan":"', if(h % 5 = 0, 'pro', 'free'), '"},"http":{"method":"', if(h % 10 < 7, 'GET', 'POST'),
    '","status":', toString(multiIf(h % 20 = 0, 503, h % 20 = 1, 500, 200)), ',"duration_ms":', toString(h % 1500), '},"region":"', if(h % 2 = 0, 'eu-west-1', 'us-east-1'), '"}') AS JSON) AS metadata,
  timestamp AS received_at
FROM (SELECT number, cityHash64(number, {seed:UInt64}) AS h FROM numbers({count:UInt64}))`,
    query_params: { project: projectId, from: fromMs * 1000, count, seed },
    clickhouse_settings: { max_insert_threads: '2', max_threads: 2 },
  })
}

