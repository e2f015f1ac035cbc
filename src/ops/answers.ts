import { z } from 'zod'
import type { TestResult } from './alerts.js'
import type { BackupInfo, BackupResult, Manifest } from '../backup/backup.js'
import type { ProjectWithToken } from '../logs/projects.js'
import type { RetentionResult } from '../logs/retention.js'
import type { StatsResult } from '../logs/search.js'
import type { EngineFacts } from './status.js'

/*
 * The answers of the running serve the CLI reads, as zod schemas: a serve of another version
 * that answers in another shape is found out here (server-client.ts says so with both
 * versions) instead of surfacing as `undefined` deep in a command. Each is typed against the
 * domain's own type, so a change to that type that the schema misses does not compile.
 */

const iso = z.string()
const count = z.number().int().min(0)

export const EngineFactsAnswer: z.ZodType<EngineFacts> = z.object({
  mode: z.string(),
  version: z.string(),
  database: z.string(),
  ok: z.boolean(),
  entries: count.nullable(),
  bytes_on_disk: count.nullable(),
  error: z.string().optional(),
})

export const RetentionAnswer: z.ZodType<RetentionResult> = z.object({
  run_id: z.string(),
  dry_run: z.boolean(),
  started_at: iso,
  finished_at: iso,
  projects: z.array(
    z.object({ project_id: z.string(), name: z.string(), retention_days: z.number().int(), cutoff: iso, entries: count }),
  ),
  total_entries: count,
})

const ManifestAnswer: z.ZodType<Manifest> = z.object({
  format: z.literal(1),
  product: z.literal('krafter-logs'),
  version: z.string(),
  created_at: iso,
  meta_schema_version: z.number().int(),
  engine: z.object({
    mode: z.string(),
    version: z.string(),
    database: z.string(),
    schema_version: z.number().int(),
    columns: z.array(z.string()),
    structure: z.string(),
  }),
  entries_received_until: iso,
  counts: z.object({
    teams: count,
    api_keys: count,
    projects: count,
    ingest_tokens: count,
    streams: count,
    alert_rules: count,
    alert_events: count,
    usage_daily: count,
    entries: count,
  }),
  entries_by_project: z.record(z.string(), count),
  files: z.array(z.object({ name: z.string(), bytes: count, sha256: z.string() })),
})

export const BackupAnswer: z.ZodType<BackupResult> = z.object({ path: z.string(), manifest: ManifestAnswer, removed: z.array(z.string()) })

export const BackupListAnswer: z.ZodType<BackupInfo[]> = z.array(
  z.object({
    path: z.string(),
    created_at: iso.nullable(),
    version: z.string().nullable(),
    entries: count.nullable(),
    projects: count.nullable(),
    bytes: count,
    manifest: ManifestAnswer.nullable(),
  }),
)

export const AlertTestAnswer: z.ZodType<TestResult> = z.object({
  rule_id: z.string(),
  notification_id: z.string(),
  ok: z.boolean(),
  deliveries: z.array(
    z.object({
      channel: z.enum(['email', 'webhook']),
      target: z.string(),
      ok: z.boolean(),
      attempts: count,
      status_code: z.number().int().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number().min(0),
    }),
  ),
})

export const RotatedProjectAnswer: z.ZodType<ProjectWithToken> = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  retention_days: z.number().int(),
  daily_limit_mb: z.number().int(),
  ingest_token_prefix: z.string(),
  created_at: iso,
  updated_at: iso,
  ingest_token: z.string(),
})

/** Only what the export's matched count needs of GET /logs/stats. */
export const StatsBucketsAnswer: z.ZodType<Pick<StatsResult, 'buckets'>> = z.object({
  buckets: z.array(
    z.object({
      time: iso,
      total: count,
      counts: z.object({ debug: count, info: count, warn: count, error: count, fatal: count }),
    }),
  ),
})

/** serve's background jobs: the API's own schema (src/api/schemas). */
export { JobList as JobsAnswer } from '../api/schemas/index.js'
