import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { logTable as table } from '../engine/schema.js'
import {
  autoInterval,
  bucketStarts,
  compileFilters,
  FilterShape,
  SELECT_ENTRY,
  selectRows,
  toEntry,
  type EntryRow,
  type LogEntry,
  isoMicros,
} from '../logs/search.js'
import { intParam } from './shared.js'

export const PatternsInput = z
  .object({
    ...FilterShape,
    limit: intParam(1, 200, 50),
  })
  .strict()
export type PatternsInput = z.infer<typeof PatternsInput>

export interface PatternBucket {
  time: string
  count: number
}

export interface Pattern {
  pattern: string
  count: number
  first_seen: string
  last_seen: string
  sample: LogEntry
  buckets: PatternBucket[]
}

/** About 30-60 buckets per pattern over the range, on the intervals stats uses. */
const TARGET_BUCKETS = 60

type PatternRow = { pattern: string; total: number | string; first_us: number | string; last_us: number | string; sample: string; buckets: [number | string, number | string][] }

/**
 * Message templates under the filters, most frequent first. Each entry's template is stored
 * with it (engine/message-template.ts); the engine groups them (one pass over the entries: per
 * pattern and bucket, then per pattern), then a second statement fetches each pattern's
 * sample, its newest entry, by id within the same filters. No sampling: every matching entry
 * is counted.
 */
export const messagePatterns = async (engine: Engine, input: PatternsInput, now: Date): Promise<Pattern[]> => {
  const compiled = compileFilters(input, now)
  const { params, fromUs, toUs } = compiled
  const interval = autoInterval((toUs - fromUs) / 1e6, TARGET_BUCKETS)
  const sql = `SELECT pattern, sum(n) AS total, min(first) AS first_us, max(last) AS last_us, argMax(sample_id, last) AS sample, groupArray((b, n)) AS buckets
FROM (
  SELECT message_template AS pattern,
    intDiv(toUnixTimestamp64Micro(timestamp), ${params.bind('Int64', interval * 1_000_000)}) * ${params.bind('UInt32', interval)} AS b,
    count() AS n, min(toUnixTimestamp64Micro(timestamp)) AS first, max(toUnixTimestamp64Micro(timestamp)) AS last,
    argMax(id, (timestamp, id)) AS sample_id
  FROM ${table(engine)}
  WHERE ${compiled.where}
  GROUP BY pattern, b
)
GROUP BY pattern
ORDER BY total DESC, pattern
LIMIT ${params.bind('UInt32', input.limit)}`
  const { rows } = await selectRows<PatternRow>(engine, sql, params, { measure: false })
  if (rows.length === 0) return []

  const samples = compileFilters(input, now)
  const ids = rows.map((r) => r.sample)
  const found = await selectRows<EntryRow>(
    engine,
    `SELECT ${SELECT_ENTRY}\nFROM ${table(engine)}\nWHERE ${samples.where}\n  AND id IN ${samples.params.bind('Array(String)', ids)}`,
    samples.params,
    { measure: false },
  )
  const byId = new Map(found.rows.map((r) => [r.id, toEntry(r)]))
  const starts = bucketStarts(fromUs, toUs, interval)
  const patterns: Pattern[] = []
  for (const row of rows) {
    const sample = byId.get(row.sample)
    // Only an entry deleted between the two statements (retention, project deletion) is missing.
    if (!sample) continue
    const counts = new Map<number, number>()
    for (const [b, n] of row.buckets) counts.set(Number(b), (counts.get(Number(b)) ?? 0) + Number(n))
    patterns.push({
      pattern: row.pattern,
      count: Number(row.total),
      first_seen: isoMicros(Number(row.first_us)),
      last_seen: isoMicros(Number(row.last_us)),
      sample,
      buckets: starts.map((t) => ({ time: new Date(t * 1000).toISOString(), count: counts.get(t) ?? 0 })),
    })
  }
  return patterns
}
