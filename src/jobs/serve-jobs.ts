import type { Logger } from 'pino'
import type { AlertEvaluator } from '../alerts/evaluate.js'
import type { Config } from '../config/config.js'
import { runRetention, type RetentionDeps } from '../logs/retention.js'
import { SERVE_ACTOR } from '../meta/audit.js'
import { cleanupStreams, type StreamCleanupDeps } from '../streams/cleanup.js'
import type { JobDefinition } from './scheduler.js'

/** Every enabled alert rule, every `alerts.evaluate_every_seconds`. */
export const alertEvaluationJob = (evaluator: AlertEvaluator, config: Config): JobDefinition => ({
  name: 'alert_evaluation',
  schedule: { every_ms: config.alerts.evaluate_every_seconds * 1000 },
  run: () => evaluator.evaluateAll(),
})

/** The nightly cleanup at `retention.run_at` (UTC), audited by runRetention like a run from the API (actor serve). */
export const retentionJob = (deps: RetentionDeps, teamId: string, config: Config, logger?: Logger): JobDefinition => ({
  name: 'retention',
  schedule: { daily_at: config.retention.run_at },
  run: async () => {
    const result = await runRetention(deps, teamId, { dry_run: false }, 'schedule', SERVE_ACTOR)
    logger?.info({ run_id: result.run_id, entries_removed: result.total_entries }, 'retention cleanup done')
  },
})

/**
 * Anonymous streams, every `anonymous_streams.cleanup_every_minutes` and once at start: finish
 * claims a crash interrupted, remove expired streams' events, forget old finished streams.
 * It runs when anonymous streams are turned off too, so nothing is left behind.
 */
export const anonymousStreamsJob = (deps: StreamCleanupDeps, logger?: Logger): JobDefinition => ({
  name: 'anonymous_streams',
  schedule: { every_ms: deps.config.anonymous_streams.cleanup_every_minutes * 60_000 },
  run: async () => {
    const result = await cleanupStreams(deps)
    if (result.claims_resumed + result.expired + result.forgotten > 0) logger?.info(result, 'anonymous streams cleanup done')
  },
})
