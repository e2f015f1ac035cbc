import type { Readable } from 'node:stream'
import { z } from 'zod'
import type { AuditEntry } from '../../meta/audit.js'
import { AUDIT_ACTIONS } from '../../meta/audit.js'
import type { Stream } from '../../meta/streams.js'
import { SCOPES } from '../../meta/keys.js'
import { LEVELS } from '../../logs/fields.js'
import type { ProjectUsage, ProjectView, ProjectWithToken } from '../../logs/projects.js'
import type { KeyView } from '../../access/keys.js'
import type { IngestTokenView } from '../../access/ingest-tokens.js'
import type { AlertEventView, AlertRuleView } from '../../alerts/rules.js'
import type { AlertPreview as AlertPreviewView } from '../../alerts/preview.js'
import type { DeliveryResult } from '../../alerts/notify.js'
import type { IngestResult } from '../../ingest/pipeline.js'
import type { LogEntry, StatsResult } from '../../logs/search.js'
import type { RetentionResult } from '../../logs/retention.js'
import type { BackupInfo, BackupResult, Manifest } from '../../backup/backup.js'
import type { EngineFacts } from '../../ops/status.js'
import type { BatcherStats, SpoolStats } from '../../ingest/batcher.js'
import type { JobState } from '../../jobs/scheduler.js'
import type { ContextResult } from '../../explore/context.js'
import type { FacetsResult } from '../../explore/facets.js'
import type { Pattern as PatternView } from '../../explore/patterns.js'
import type { IssuedViewerToken } from '../../viewer/tokens.js'
import type { StreamInfo as AnonymousStreamInfoView } from '../../streams/registry.js'
import type { ClaimResult } from '../../streams/claim.js'
import { envelope, FieldError } from './envelope.js'

/** The resources the API answers with (API.md, docs/api.md); `id` names them in the OpenAPI components. */
const Time = z.string().meta({ description: 'RFC 3339 time (UTC)' })
const JsonObject = z.record(z.string(), z.unknown())

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    retention_days: z.number().int(),
    daily_limit_mb: z.number().int(),
    ingest_token_prefix: z.string(),
    created_at: Time,
    updated_at: Time,
  })
  .meta({ id: 'Project' })

export const ProjectWithIngestToken = Project.extend({
  ingest_token: z.string().meta({ description: 'The full ingest token, shown only in this answer' }),
}).meta({ id: 'ProjectWithIngestToken' })

export const IngestToken = z
  .object({
    id: z.string(),
    project_id: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: 'The first 12 characters of the token: a label, not unique' }),
    primary: z.boolean().meta({ description: 'The project\'s primary token: made by project create or the last rotate_token' }),
    allowed_origins: z.array(z.string()).meta({ description: 'Browser origins the token serves (CORS); empty: no browser' }),
    created_at: Time,
    last_used_at: Time.nullable(),
    expires_at: Time.nullable(),
    revoked_at: Time.nullable(),
    status: z.enum(['active', 'revoked', 'expired']),
  })
  .meta({ id: 'IngestToken' })

export const IngestTokenWithSecret = IngestToken.extend({
  token: z.string().meta({ description: 'The full ingest token, shown only in this answer' }),
}).meta({ id: 'IngestTokenWithSecret' })

export const StreamInfo = z.object({ id: z.string(), name: z.string(), inserted_at: Time }).meta({ id: 'Stream' })

const UsageDay = z.object({ date: z.string(), bytes_in: z.number().int(), entries: z.number().int(), rejected: z.number().int() })
export const Usage = z
  .object({
    project_id: z.string(),
    daily_limit_mb: z.number().int(),
    daily_limit_bytes: z.number().int(),
    today: UsageDay.extend({ percent_of_limit: z.number() }),
    days: z.array(UsageDay),
  })
  .meta({ id: 'Usage' })

export const Key = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    project_ids: z.array(z.string()).nullable(),
    expires_at: Time.nullable(),
    revoked_at: Time.nullable(),
    last_used_at: Time.nullable(),
    created_at: Time,
    status: z.enum(['active', 'revoked', 'expired']),
  })
  .meta({ id: 'Key' })

export const KeyWithToken = Key.extend({
  key: z.string().meta({ description: 'The full key, shown only in this answer' }),
}).meta({ id: 'KeyWithToken' })

export const ViewerToken = z
  .object({
    token: z.string().meta({ description: 'The viewer token (a JWT), shown only in this answer' }),
    expires_at: Time,
  })
  .meta({ id: 'ViewerToken' })

export const AuditLogEntry = z
  .object({
    id: z.string(),
    at: Time,
    actor: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    target_type: z.string(),
    target_id: z.string().nullable(),
    request_id: z.string().nullable(),
    details: JsonObject.nullable(),
  })
  .meta({ id: 'AuditEntry' })

const Condition = z.discriminatedUnion('type', [
  z.object({ type: z.literal('count'), threshold: z.number(), window_minutes: z.number() }),
  z.object({ type: z.literal('rate'), threshold_percent: z.number(), window_minutes: z.number(), min_entries: z.number() }),
])
const Channel = z.discriminatedUnion('type', [
  z.object({ type: z.literal('email'), to: z.array(z.string()) }),
  z.object({
    type: z.literal('webhook'),
    url: z.string(),
    secret: z.string().optional().meta({ description: 'Only in the answer that set it' }),
  }),
])

export const AlertRule = z
  .object({
    id: z.string(),
    project_id: z.string(),
    name: z.string(),
    query: z.string(),
    condition: Condition,
    channels: z.array(Channel),
    cooldown_minutes: z.number().int(),
    enabled: z.boolean(),
    last_evaluated_at: Time.nullable(),
    last_value: z.number().nullable(),
    last_error: z.string().nullable(),
    last_fired_at: Time.nullable(),
    created_at: Time,
    updated_at: Time,
  })
  .meta({ id: 'AlertRule' })

const DeliveryAttempt = z.object({
  id: z.string(),
  notification_id: z.string(),
  kind: z.enum(['firing', 'resolved', 'test']),
  channel: z.enum(['email', 'webhook']),
  target: z.string(),
  attempt: z.number().int(),
  ok: z.boolean(),
  status_code: z.number().int().nullable(),
  duration_ms: z.number(),
  error: z.string().nullable(),
  attempted_at: Time,
})

export const AlertEvent = z
  .object({
    id: z.string(),
    rule_id: z.string(),
    status: z.enum(['open', 'acknowledged', 'resolved']),
    value: z.number(),
    threshold: z.number(),
    matched: z.number(),
    total: z.number(),
    window_minutes: z.number(),
    opened_at: Time,
    acknowledged_at: Time.nullable(),
    resolved_at: Time.nullable(),
    resolved_by: z.enum(['condition', 'manual']).nullable(),
    deliveries: z.array(DeliveryAttempt),
  })
  .meta({ id: 'AlertEvent' })

const Delivery = z.object({
  channel: z.enum(['email', 'webhook']),
  target: z.string(),
  ok: z.boolean(),
  attempts: z.number().int(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number(),
})
export const AlertTestResult = z
  .object({ rule_id: z.string(), notification_id: z.string(), ok: z.boolean(), deliveries: z.array(Delivery) })
  .meta({ id: 'AlertTestResult' })

const PreviewPoint = z.object({
  time: Time.meta({ description: 'An evaluation instant; its window is the window_minutes before it' }),
  matching: z.number().int().meta({ description: 'Entries of the window the query matches' }),
  total: z.number().int().meta({ description: 'All entries of the project in the window' }),
  met: z.boolean().meta({ description: 'Whether the condition held' }),
})
export const AlertPreview = z
  .object({
    from: Time,
    to: Time,
    step_minutes: z.number().int(),
    firings: z.number().int().meta({ description: 'How many firings the evaluator would have opened' }),
    fired_at: z.array(Time).meta({ description: 'The instants they would have opened, oldest first' }),
    points: z.array(PreviewPoint).meta({ description: 'Every evaluation instant, oldest first; the last one is `to`' }),
  })
  .meta({ id: 'AlertPreview' })

export const IngestAnswer = z
  .object({
    accepted: z.number().int(),
    rejected: z.number().int(),
    errors: z.array(FieldError.extend({ line: z.number().int() })).optional().meta({ description: 'The first 100 refused lines (batch only)' }),
  })
  .meta({ id: 'IngestResult' })

/** GET /streams/:token/info: never the events. */
export const AnonymousStreamInfo = z
  .object({
    status: z.enum(['active', 'claimed', 'expired']),
    event_count: z.number().int(),
    bytes: z.number().int().meta({ description: 'bytes_in of the stored events, counted as for a daily limit' }),
    created_at: Time,
    expires_at: Time,
  })
  .meta({ id: 'AnonymousStreamInfo' })

/** POST /streams/claim: where the events went. */
export const AnonymousStreamClaim = z
  .object({
    project_id: z.string(),
    stream: z.string().meta({ description: 'The stream of the project that holds them: anonymous-<first 12 hex digits of the SHA-256 of the token>' }),
    events: z.number().int(),
    bytes: z.number().int(),
    claimed_at: Time,
  })
  .meta({ id: 'AnonymousStreamClaim' })

export const Entry = z
  .object({
    id: z.string(),
    timestamp: Time,
    level: z.string().meta({ description: `One of ${LEVELS.join(', ')}` }),
    service: z.string(),
    stream: z.string(),
    message: z.string(),
    trace_id: z.string(),
    span_id: z.string(),
    metadata: JsonObject,
    received_at: Time,
  })
  .meta({ id: 'LogEntry' })

const QueryStats = z.object({ elapsed_ms: z.number(), rows_read: z.number() })
export const SearchAnswer = z
  .object({ data: z.array(Entry), has_more: z.boolean(), cursor: z.string().nullable(), stats: QueryStats, request_id: z.string() })
  .meta({ id: 'SearchResult' })

const StatsData = z.object({
  interval_seconds: z.number().int(),
  from: Time,
  to: Time,
  buckets: z.array(z.object({ time: Time, total: z.number().int(), counts: z.record(z.enum(LEVELS), z.number().int()) })),
})
export const StatsAnswer = z
  .object({ data: StatsData, stats: z.object({ elapsed_ms: z.number() }), request_id: z.string() })
  .meta({ id: 'StatsResult' })

/** GET /logs/context: one entry and its neighbours in (timestamp, id) order, both lists oldest first. */
export const EntryContext = z
  .object({
    before: z.array(Entry).meta({ description: 'The entries just before, oldest first' }),
    entry: Entry,
    after: z.array(Entry).meta({ description: 'The entries just after, oldest first' }),
  })
  .meta({ id: 'EntryContext' })
export const ContextAnswer = envelope(EntryContext)

const FacetValue = z.object({ value: z.string(), count: z.number().int() })
/** GET /logs/facets: each field's top values under the filters, and how many entries match them. */
export const Facets = z
  .object({
    total: z.number().int().meta({ description: 'Entries matching the filters' }),
    fields: z.record(z.string(), z.array(FacetValue)).meta({ description: 'Per field asked for, its top values, most frequent first' }),
  })
  .meta({ id: 'Facets' })
export const FacetsAnswer = envelope(Facets)

/** GET /logs/patterns: one message template, how often and when it occurred. */
export const Pattern = z
  .object({
    pattern: z.string().meta({ description: 'The message with <num>, <hex>, <uuid>, <ip>, <duration>, <str> placeholders' }),
    count: z.number().int(),
    first_seen: Time,
    last_seen: Time,
    sample: Entry.meta({ description: 'The newest entry of the pattern' }),
    buckets: z.array(z.object({ time: Time, count: z.number().int() })),
  })
  .meta({ id: 'Pattern' })
export const PatternsAnswer = envelope(z.array(Pattern))

/** Export is a download streamed to the client (never serialized): the file itself, not an envelope. */
export const ExportFile = z.custom<Readable>().meta({ type: 'string', description: 'CSV (text/csv) or a JSON array of entries (application/json)', 'x-media-types': ['text/csv', 'application/json'] })

export const RetentionRun = z
  .object({
    run_id: z.string(),
    dry_run: z.boolean(),
    started_at: Time,
    finished_at: Time,
    projects: z.array(
      z.object({ project_id: z.string(), name: z.string(), retention_days: z.number().int(), cutoff: Time, entries: z.number().int() }),
    ),
    total_entries: z.number().int(),
  })
  .meta({ id: 'RetentionRun' })

export const BackupManifest = z
  .object({
    format: z.literal(1),
    product: z.literal('krafter-logs'),
    version: z.string(),
    created_at: Time,
    meta_schema_version: z.number().int(),
    engine: z.object({
      mode: z.string(),
      version: z.string(),
      database: z.string(),
      schema_version: z.number().int(),
      columns: z.array(z.string()),
      structure: z.string(),
    }),
    entries_received_until: Time,
    counts: z.object({
      teams: z.number().int(),
      api_keys: z.number().int(),
      projects: z.number().int(),
      ingest_tokens: z.number().int(),
      streams: z.number().int(),
      alert_rules: z.number().int(),
      alert_events: z.number().int(),
      usage_daily: z.number().int(),
      entries: z.number().int(),
    }),
    entries_by_project: z.record(z.string(), z.number().int()),
    files: z.array(z.object({ name: z.string(), bytes: z.number().int(), sha256: z.string() })),
  })
  .meta({ id: 'BackupManifest' })

export const BackupCreated = z.object({ path: z.string(), manifest: BackupManifest, removed: z.array(z.string()) }).meta({ id: 'BackupResult' })

export const BackupListing = z
  .object({
    path: z.string(),
    created_at: Time.nullable(),
    version: z.string().nullable(),
    entries: z.number().int().nullable(),
    projects: z.number().int().nullable(),
    bytes: z.number().int(),
    manifest: BackupManifest.nullable(),
  })
  .meta({ id: 'BackupInfo' })

const EngineBase = { mode: z.string(), version: z.string(), database: z.string(), ok: z.boolean() }
export const EngineStatus = z
  .object({ ...EngineBase, entries: z.number().int().nullable(), bytes_on_disk: z.number().int().nullable(), error: z.string().optional() })
  .meta({ id: 'EngineStatus' })

export const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    engine: z.object(EngineBase),
    version: z.string(),
    ingest: z.object({
      requests: z.number().int(),
      inserts: z.number().int(),
      rows: z.number().int(),
      failed_inserts: z.number().int(),
      insert_ms: z.number(),
      accepted_records: z.number().int(),
      rejected_records: z.number().int(),
      inserts_failing: z.object({ since: Time, error: z.string() }).nullable(),
      spool: z
        .object({
          rows: z.number().int(),
          bytes: z.number().int(),
          segments: z.number().int(),
          refused_rows: z.number().int().meta({ description: 'Rows accepted into the spool that the engine then refused as data (kept in spool/refused.ndjson)' }),
        })
        .nullable()
        .meta({ description: 'The ingest spool (ingest.commit: spool): rows acknowledged that the engine has not taken yet; null when ingest commits to the engine' }),
    }),
  })
  .meta({ id: 'Health' })

const IsoOrNull = Time.nullable()
/** One background job of serve's scheduler (GET /admin/jobs). */
export const Job = z
  .object({
    name: z.string(),
    schedule: z.union([z.object({ every_seconds: z.number() }), z.object({ daily_at_utc: z.string() })]),
    running: z.boolean(),
    next_run_at: IsoOrNull,
    last_started_at: IsoOrNull,
    last_finished_at: IsoOrNull,
    last_duration_ms: z.number().nullable(),
    last_result: z.enum(['ok', 'failed']).nullable(),
    last_error: z.string().nullable(),
    last_success_at: IsoOrNull,
    runs: z.number().int(),
    failures: z.number().int(),
  })
  .meta({ id: 'Job' })
export const JobList = z.array(Job)

/** GET /api/v1/openapi.json: an OpenAPI 3.1 document (its shape is OpenAPI's, not ours). */
export const OpenApiDocument = z.record(z.string(), z.unknown()).meta({ description: 'OpenAPI 3.1 document' })

export const MetricsText = z.string().meta({ description: 'Prometheus text format 0.0.4', 'x-media-types': ['text/plain'] })

// Compile-time: each schema has exactly the fields of the value it serializes, so the
// serializer can neither drop a field (a schema too narrow) nor promise one (too wide).
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
export type Assert<T extends true> = T
export type SchemaChecks = [
  Assert<Same<z.output<typeof Project>, ProjectView>>,
  Assert<Same<z.output<typeof ProjectWithIngestToken>, ProjectWithToken>>,
  Assert<Same<z.output<typeof StreamInfo>, Stream>>,
  Assert<Same<z.output<typeof Usage>, ProjectUsage>>,
  Assert<Same<z.output<typeof Key>, KeyView>>,
  Assert<Same<z.output<typeof IngestToken>, IngestTokenView>>,
  Assert<Same<z.output<typeof IngestTokenWithSecret>, IngestTokenView & { token: string }>>,
  Assert<Same<z.output<typeof KeyWithToken>, KeyView & { key: string }>>,
  Assert<Same<z.output<typeof AuditLogEntry>, AuditEntry>>,
  Assert<Same<z.output<typeof ViewerToken>, IssuedViewerToken>>,
  Assert<Same<z.output<typeof AlertRule>, AlertRuleView>>,
  Assert<Same<z.output<typeof AlertEvent>, AlertEventView>>,
  Assert<Same<z.output<typeof AlertTestResult>['deliveries'][number], DeliveryResult>>,
  Assert<Same<z.output<typeof AlertPreview>, AlertPreviewView>>,
  Assert<Same<z.output<typeof IngestAnswer>, IngestResult>>,
  Assert<Same<z.output<typeof AnonymousStreamInfo>, AnonymousStreamInfoView>>,
  Assert<Same<z.output<typeof AnonymousStreamClaim>, ClaimResult>>,
  Assert<Same<z.output<typeof Entry>, LogEntry>>,
  Assert<Same<z.output<typeof StatsAnswer>['data'] & { stats: { elapsed_ms: number } }, StatsResult>>,
  Assert<Same<z.output<typeof EntryContext>, ContextResult>>,
  Assert<Same<z.output<typeof Facets>, FacetsResult>>,
  Assert<Same<z.output<typeof Pattern>, PatternView>>,
  Assert<Same<z.output<typeof RetentionRun>, RetentionResult>>,
  Assert<Same<z.output<typeof BackupManifest>, Manifest>>,
  Assert<Same<z.output<typeof BackupCreated>, BackupResult>>,
  Assert<Same<z.output<typeof BackupListing>, BackupInfo>>,
  Assert<Same<z.output<typeof EngineStatus>, EngineFacts>>,
  Assert<Same<z.output<typeof Job>, JobState>>,
  Assert<Same<NonNullable<z.output<typeof Health>['ingest']['spool']>, SpoolStats>>,
  Assert<Same<Omit<z.output<typeof Health>['ingest'], 'accepted_records' | 'rejected_records' | 'inserts_failing' | 'spool'>, BatcherStats>>,
]

export const RedactionRule = z
  .object({
    id: z.string().meta({ description: 'builtin:<name> for a built-in rule, a UUID for a custom one' }),
    name: z.string(),
    builtin: z.boolean(),
    pattern: z.string().nullable().meta({ description: 'The value pattern (RE2 syntax); for a built-in, what it scans for' }),
    field_names: z.array(z.string()).nullable(),
    behavior: z.enum(['mask', 'hash', 'remove']),
    applies_to: z.enum(['message', 'metadata', 'all']),
    enabled: z.boolean(),
    project_id: z.string().nullable().meta({ description: 'null: the whole team (every built-in)' }),
  })
  .meta({ id: 'RedactionRule' })

export const RedactionTestResult = z
  .object({
    entries: z.array(z.object({ entry: Entry.omit({ id: true, received_at: true }), matched: z.array(z.string()) })),
    hashes: z.record(z.string(), z.string()).meta({ description: 'Each of hash_values → the text hash writes for it, [hash:<12 hex>]' }),
  })
  .meta({ id: 'RedactionTestResult' })

export const EventStream = z.custom<never>().meta({
  type: 'string',
  description: 'Server-Sent Events: `entry` (id: the cursor, data: a log entry), `heartbeat`, `overflow`',
  'x-media-types': ['text/event-stream'],
})
