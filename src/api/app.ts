import Fastify, { type FastifyInstance } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { Engine } from '../engine/engine.js'
import type { MetaDb } from '../meta/db.js'
import { AccessLog } from './plugins/access-log.js'
import { consoleRoutes, setSecurityHeaders } from './routes/console.js'
import { registerAuth } from './plugins/auth.js'
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.js'
import { genReqId } from './plugins/request-id.js'
import { healthRoutes } from './routes/health.js'
import { projectRoutes } from './routes/projects.js'
import { ingestTokenRoutes } from './routes/ingest-tokens.js'
import { ingestRoutes } from './routes/ingest.js'
import { searchRoutes } from './routes/search.js'
import { exploreRoutes } from './routes/explore.js'
import { alertRoutes } from './routes/alerts.js'
import { adminRoutes } from './routes/admin.js'
import { keyRoutes } from './routes/keys.js'
import { metricsRoutes } from './routes/metrics.js'
import { openApiRoutes } from './routes/openapi.js'
import { otlpRoutes } from './routes/otlp.js'
import { lokiRoutes } from './routes/loki.js'
import { elasticsearchRoutes } from './routes/elasticsearch.js'
import { redactionRoutes } from './routes/redaction.js'
import { loginRoutes, sessionRoutes } from './routes/sessions.js'
import { viewerRoutes } from './routes/viewer.js'
import { streamRoutes } from './routes/streams.js'
import { StreamRegistry } from '../streams/registry.js'
import { StreamClaims, type ClaimPause } from '../streams/claim.js'
import { ApiContract } from './schemas/openapi.js'
import type { DataPaths } from '../config/paths.js'
import { Notifier } from '../alerts/notify.js'
import { InsertBatcher, type RowWriter } from '../ingest/batcher.js'
import { IngestSpool } from '../ingest/spool.js'
import { createIdGenerator } from '../logs/ids.js'
import { RejectionLog, type IngestDeps } from '../ingest/pipeline.js'
import { Metrics } from '../metrics/metrics.js'
import { UsageMeter } from '../meta/usage-meter.js'
import { TokenUseMeter } from '../meta/ingest-tokens.js'
import type { Scheduler } from '../jobs/scheduler.js'
import { SyslogListeners } from '../ingest/syslog/listeners.js'
import { RedactionRegistry } from '../redaction/rules.js'
import { ReceiptTracker } from '../ingest/receipts.js'
import { TailHub } from '../explore/tail.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The routes' schemas: the OpenAPI document and the contract tests read them. */
    contract: ApiContract
    /** serve's syslog listeners (none unless configured); tests read their bound addresses. */
    syslog: SyslogListeners
    /** The open live tails; tests read how many. */
    tails: TailHub
    /** Anonymous streams: serve's cleanup job runs with them (src/jobs/serve-jobs.ts). */
    anonymousStreams: { registry: StreamRegistry; claims: StreamClaims }
  }
}
import { TokenBucketLimiter } from '../security/rate-limit.js'

export interface AppDeps {
  config: Config
  paths: DataPaths
  meta: MetaDb
  engine: Engine
  clock: () => Date
  teamId: string
  logger?: Logger
  localAdminTokenHash?: string
  /** Alert notifications (test sends, and the evaluator in serve); built here when not given. */
  notifier?: Notifier
  /** The process's figures (GET /metrics, healthz, status); built here when not given. */
  metrics?: Metrics
  /** serve's background jobs, shown by GET /admin/jobs; none when not given. */
  jobs?: Pick<Scheduler, 'list'>
  /** TEST-ONLY: makes claims pause mid-copy (src/streams/claim.ts ClaimPause). */
  claimPause?: ClaimPause
}

/**
 * Builds the whole HTTP API from explicit dependencies; it does not listen (serve does), so
 * tests build the same app over a temp data dir and call it with inject.
 */
export type AppContext = AppDeps & {
  ingest: IngestDeps & { redaction: RedactionRegistry }
  /** The compiled redaction rules of every project (the ingest stage and POST /redaction/test). */
  redaction: RedactionRegistry
  /** The open live tails (GET /logs/tail). */
  tails: TailHub
  /** Each ingest token's `log_ingest` bucket, one for every protocol's routes. */
  ingestLimiter: TokenBucketLimiter
  /** Each ingest token's last use, written behind (listings flush it first). */
  tokenUse: TokenUseMeter
  notifier: Notifier
  metrics: Metrics
  /** Anonymous streams: senders' events and info (src/streams/registry.ts). */
  streams: StreamRegistry
  /** Claims of anonymous streams into projects (src/streams/claim.ts). */
  claims: StreamClaims
}

export const buildApp = async (appDeps: AppDeps): Promise<FastifyInstance> => {
  const { config, engine, meta, clock } = appDeps
  const metrics = appDeps.metrics ?? new Metrics()
  const usage = new UsageMeter(meta)
  const beforeWrite = () => usage.flush()
  if (config.ingest.commit === 'engine' && IngestSpool.hasSegments(appDeps.paths.spool)) {
    // Switched back from the spool with segments the engine had not taken: insert them first.
    const leftover = IngestSpool.open(engine, { dir: appDeps.paths.spool, maxBytes: 0, maxSegmentRows: 1, beforeWrite }, appDeps.logger, metrics, clock)
    await leftover.drain()
    await leftover.close()
  }
  const batcher: RowWriter =
    config.ingest.commit === 'spool'
      ? IngestSpool.open(
          engine,
          { dir: appDeps.paths.spool, maxBytes: config.ingest.spool_max_mb * 1024 * 1024, maxSegmentRows: config.ingest.max_batch_rows, sealAfterMs: config.ingest.spool_seal_ms, beforeWrite },
          appDeps.logger,
          metrics,
          clock,
        )
      : new InsertBatcher(
          engine,
          {
            flushWindowMs: config.ingest.flush_window_ms,
            maxBatchRows: config.ingest.max_batch_rows,
            refillWaitMs: config.ingest.refill_wait_ms,
            beforeWrite,
          },
          appDeps.logger,
          metrics,
          clock,
        )
  const ownNotifier = appDeps.notifier === undefined
  const redaction = new RedactionRegistry(meta, () => clock().getTime())
  const receipts = new ReceiptTracker()
  const tails = new TailHub({ engine, clock, config, receipts, metrics, logger: appDeps.logger })
  const ingest: AppContext['ingest'] = {
    meta,
    clock,
    batcher,
    usage,
    nextId: createIdGenerator(),
    knownStreams: new Set(),
    metrics,
    rejections: new RejectionLog(appDeps.logger, () => clock().getTime()),
    redaction,
    receipts,
  }
  const streams = new StreamRegistry({ meta, clock, config, ingest, redact: redaction.defaultStage() })
  const deps: AppContext = {
    ...appDeps,
    metrics,
    redaction,
    tails,
    notifier: appDeps.notifier ?? new Notifier({ meta, config, clock, logger: appDeps.logger, metrics }),
    ingest,
    ingestLimiter: new TokenBucketLimiter(config.ingest.rate_per_second, config.ingest.burst, () => clock().getTime()),
    tokenUse: new TokenUseMeter(meta),
    streams,
    claims: new StreamClaims({ meta, engine, clock, usage, registry: streams, logger: appDeps.logger, pause: appDeps.claimPause }),
  }
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    genReqId,
    requestIdHeader: false,
    logController: new AccessLog(),
    bodyLimit: deps.config.server.body_limit_mb * 1024 * 1024,
    // Fastify's own answers (bad URL, parser errors, closing) get the envelope: errors.ts.
    frameworkErrors,
    clientErrorHandler,
    return503OnClosing: false,
    trustProxy: deps.config.server.trust_proxy,
    forceCloseConnections: 'idle',
    // A client trickling its request (or never finishing its headers) is answered 408 and cut off.
    requestTimeout: deps.config.server.request_timeout_ms,
    keepAliveTimeout: deps.config.server.keep_alive_timeout_ms,
    connectionTimeout: deps.config.server.connection_timeout_ms,
    http: {
      // Also here, so Node checks headersTimeout against it (Fastify sets its own after creating the server).
      requestTimeout: deps.config.server.request_timeout_ms,
      headersTimeout: deps.config.server.headers_timeout_ms,
      // Node checks both timeouts only this often (30 s by default, which let a 60 s timeout run to 90 s).
      connectionsCheckingInterval: Math.min(1000, deps.config.server.headers_timeout_ms),
    },
  }) as unknown as FastifyInstance
  // Node answers an Expect other than 100-continue with a bare 417 unless someone listens:
  // such a request is served like any other (RFC 9110 lets a server ignore the expectation).
  app.server.on('checkExpectation', (req, res) => app.routing(req, res))
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // JSON only (ingest adds NDJSON); anything else is 415, not a string for the schemas to reject.
  app.removeContentTypeParser('text/plain')

  // Set first thing, so every response (errors, 404, 204) carries it.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id)
    setSecurityHeaders(reply)
    done()
  })
  registerErrorHandling(app)
  registerAuth(app, deps)
  const contract = new ApiContract()
  contract.collect(app)
  app.decorate('contract', contract)

  // Syslog listeners bind with the app and hand what they received to the batcher before it drains.
  const syslog = new SyslogListeners({ config, ingest: deps.ingest, teamId: deps.teamId, metrics, logger: deps.logger, tokenUse: deps.tokenUse })
  app.decorate('syslog', syslog)
  app.decorate('tails', tails)
  app.decorate('anonymousStreams', { registry: streams, claims: deps.claims })
  app.addHook('onReady', () => syslog.start())
  // Live tails end before the server closes (they would hold its connections open).
  app.addHook('preClose', async () => {
    await tails.close()
  })
  // Requests in flight finish before close resolves; their rows are in the batcher: flush them.
  app.addHook('onClose', async () => {
    await syslog.close()
    await batcher.drain()
    await batcher.close()
    deps.ingest.usage.flush()
    deps.tokenUse.flush()
    if (ownNotifier) await deps.notifier.close()
  })
  await app.register(healthRoutes, deps)
  await app.register(metricsRoutes, deps)
  // The standard protocols sit at the root, where each one's clients look for them.
  await app.register(otlpRoutes, deps)
  await app.register(lokiRoutes, deps)
  await app.register(elasticsearchRoutes, deps)
  await app.register(loginRoutes, deps)
  await app.register(consoleRoutes, deps)
  await app.register(
    async (api) => {
      await api.register(healthRoutes, deps)
      await api.register(projectRoutes, deps)
      await api.register(ingestTokenRoutes, deps)
      await api.register(ingestRoutes, deps)
      await api.register(searchRoutes, deps)
      await api.register(exploreRoutes, deps)
      await api.register(alertRoutes, deps)
      await api.register(adminRoutes, deps)
      await api.register(keyRoutes, deps)
      await api.register(redactionRoutes, deps)
      await api.register(sessionRoutes, deps)
      await api.register(viewerRoutes, deps)
      await api.register(streamRoutes, deps)
      await api.register(openApiRoutes, contract)
    },
    { prefix: '/api/v1' },
  )
  return app
}
