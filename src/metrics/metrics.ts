import { Counter, Gauge, Histogram, LATENCY_BUCKETS, Registry } from './registry.js'

/** Why the pipeline refused a record (API.md: refused records are counted, never silent). */
export type RejectReason = 'invalid' | 'daily_limit' | 'unstorable'

/**
 * Every figure `GET /metrics`, `healthz` and `status` show, held by the serving process. One
 * instance per app; modules get it as a dependency (never a global), so tests read real counts.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly ingestRequests = this.registry.register(
    new Counter('krafter_ingest_requests_total', 'Ingest requests by protocol and HTTP status.'),
  )
  readonly recordsAccepted = this.registry.register(
    new Counter('krafter_ingest_records_accepted_total', 'Log records stored, by protocol.'),
  )
  readonly recordsRejected = this.registry.register(
    new Counter('krafter_ingest_records_rejected_total', 'Log records refused and reported to the sender, by protocol and reason.'),
  )
  readonly redactedEntries = this.registry.register(
    new Counter('krafter_redacted_entries_total', 'Stored entries a redaction rule changed, by rule name.'),
  )
  readonly engineInserts = this.registry.register(
    new Counter('krafter_engine_inserts_total', 'Engine INSERT statements by result (ok, failed, refused_data).'),
  )
  readonly spoolRefused = this.registry.register(
    new Counter('krafter_ingest_spool_refused_total', 'Rows accepted into the ingest spool that the log engine then refused as data (kept in spool/refused.ndjson).'),
  )
  readonly spoolBacklogRows = this.registry.register(new Gauge('krafter_ingest_spool_rows', 'Rows in the ingest spool the log engine has not taken yet.'))
  readonly engineInsertSeconds = this.registry.register(
    new Histogram('krafter_engine_insert_duration_seconds', 'Engine INSERT latency.', LATENCY_BUCKETS),
  )
  readonly searchSeconds = this.registry.register(
    new Histogram('krafter_search_duration_seconds', 'Read latency by endpoint (search, stats, export, context, facets, patterns).', LATENCY_BUCKETS),
  )
  readonly alertEvaluations = this.registry.register(
    new Counter('krafter_alert_evaluations_total', 'Alert rule evaluations by outcome.'),
  )
  readonly alertDeliveries = this.registry.register(
    new Counter('krafter_alert_deliveries_total', 'Alert notification delivery attempts by channel and result.'),
  )
  readonly syslogMessages = this.registry.register(
    new Counter(
      'krafter_syslog_messages_total',
      'Syslog messages by listener and result (accepted, refused, malformed, unauthorized, no_project, dropped, failed).',
    ),
  )
  readonly syslogRetries = this.registry.register(
    new Counter('krafter_syslog_retries_total', 'Syslog TCP messages handed to the pipeline again because the log engine could not take them, by listener.'),
  )
  readonly syslogConnections = this.registry.register(new Gauge('krafter_syslog_connections', 'Open syslog TCP connections by listener.'))
  readonly syslogConnectionsRefused = this.registry.register(
    new Counter('krafter_syslog_connections_refused_total', 'Syslog TCP connections closed at once because the listener had syslog.max_connections open.'),
  )
  readonly tailSubscribers = this.registry.register(new Gauge('krafter_tail_subscribers', 'Open live-tail streams.'))
  readonly engineUp = this.registry.register(new Gauge('krafter_engine_up', '1 while the log engine answers, else 0.'))
  readonly jobRuns = this.registry.register(new Counter('krafter_job_runs_total', 'Background job runs by job and result (ok, failed).'))
  readonly jobLastDurationSeconds = this.registry.register(
    new Gauge('krafter_job_last_duration_seconds', 'How long the last run of a background job took.'),
  )
  readonly jobLastSuccessSeconds = this.registry.register(
    new Gauge('krafter_job_last_success_timestamp_seconds', 'When a background job last succeeded (Unix seconds).'),
  )

  /** Records refused, over every protocol and reason. */
  rejectedTotal(): number {
    return this.recordsRejected.sum()
  }
}
