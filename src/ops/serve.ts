import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { loadConfig, parseConfig, type Config } from '../config/config.js'
import { dataPaths, resolveDataDir, type DataPaths } from '../config/paths.js'
import { AlertEvaluator } from '../alerts/evaluate.js'
import { Notifier } from '../alerts/notify.js'
import { Scheduler } from '../jobs/scheduler.js'
import { alertEvaluationJob, anonymousStreamsJob, retentionJob } from '../jobs/serve-jobs.js'
import { claimPauseFromEnv } from '../streams/claim.js'
import { buildApp } from '../api/app.js'
import { createLogger } from '../api/logger.js'
import { openEngine, type Engine } from '../engine/engine.js'
import { migrateEngine } from '../engine/schema.js'
import { UserError } from '../errors.js'
import { openMeta, type MetaDb } from '../meta/db.js'
import { getDefaultTeam } from '../meta/teams.js'
import { hashToken } from '../security/tokens.js'
import { Metrics } from '../metrics/metrics.js'
import { thisProcess } from '../pid.js'
import { VERSION } from '../version.js'
import { serverUrl } from './init.js'
import { newLocalAdminToken, readRuntime, removeRuntime, writeRuntime } from './runtime.js'

export interface ServeOptions {
  dataDir?: string
  host?: string
  port?: number
  logger?: Logger
}

export interface RunningServer {
  url: string
  config: Config
  paths: DataPaths
  app: FastifyInstance
  logger: Logger
  /** Stops accepting requests, lets in-flight ones finish, closes the engine and metadata. */
  close(): Promise<void>
}

const withFlags = (config: Config, options: ServeOptions): Config =>
  parseConfig(
    { ...config, server: { ...config.server, host: options.host ?? config.server.host, port: options.port ?? config.server.port } },
    'serve flags',
    {},
  )

/** Beyond the cap Node closes new connections unanswered; the log says so, at most once a minute. */
const limitConnections = (app: FastifyInstance, max: number, logger: Logger): void => {
  app.server.maxConnections = max
  let warnedAt = Number.NEGATIVE_INFINITY
  app.server.on('drop', () => {
    if (Date.now() - warnedAt < 60_000) return
    warnedAt = Date.now()
    logger.warn({ max_connections: max }, 'refusing new connections: server.max_connections reached')
  })
}

export const startServer = async (options: ServeOptions): Promise<RunningServer> => {
  const paths = dataPaths(resolveDataDir(options.dataDir))
  const config = withFlags(loadConfig(paths.config), options)
  const running = readRuntime(paths)
  if (running) {
    throw new UserError(`krafter-logs serve is already running on ${paths.root} (pid ${running.pid}, ${running.url}).`, {
      suggestions: ['Stop it first (SIGTERM), or use another --data-dir.'],
    })
  }
  const logger = options.logger ?? createLogger({ level: config.log.level, pretty: config.log.pretty })
  let meta: MetaDb | undefined
  let engine: Engine | undefined
  let app: FastifyInstance | undefined
  try {
    meta = openMeta(paths.meta)
    const team = getDefaultTeam(meta)
    if (!team) throw new UserError(`${paths.root} has no team: run \`krafter-logs init\` first.`)
    engine = await openEngine(config, paths, { logger })
    await migrateEngine(engine)
    const adminToken = newLocalAdminToken()
    const clock = () => new Date()
    const metrics = new Metrics()
    const notifier = new Notifier({ meta, config, clock, logger, metrics })
    const jobs = new Scheduler({ clock, logger, metrics })
    app = await buildApp({
      config,
      paths,
      meta,
      engine,
      clock,
      teamId: team.id,
      logger,
      localAdminTokenHash: hashToken(adminToken),
      notifier,
      metrics,
      jobs,
      claimPause: claimPauseFromEnv(process.env),
    })
    limitConnections(app, config.server.max_connections, logger)
    try {
      await app.listen({ host: config.server.host, port: config.server.port })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UserError(`Port ${config.server.port} on ${config.server.host} is already in use.`, {
          suggestions: ['Pick another with --port or server.port in krafter.yaml.'],
        })
      }
      throw err
    }
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : config.server.port
    const url = serverUrl({ ...config, server: { ...config.server, port } })
    writeRuntime(paths, {
      ...thisProcess(),
      url,
      started_at: new Date().toISOString(),
      version: VERSION,
      engine_mode: engine.mode,
      admin_token: adminToken,
    })
    logger.info({ url, data_dir: paths.root, engine: { mode: engine.mode, version: engine.version } }, 'krafter-logs serving')
    jobs.register(alertEvaluationJob(new AlertEvaluator({ meta, engine, clock, notifier, logger, metrics }), config))
    if (config.retention.enabled) jobs.register(retentionJob({ meta, engine, clock }, team.id, config, logger))
    jobs.register(anonymousStreamsJob({ meta, engine, clock, config, ...app.anonymousStreams }, logger))
    jobs.start()
    // A claim a crash interrupted finishes now, not one cleanup interval later.
    void jobs.runNow('anonymous_streams')
    const opened = { app, engine, meta }
    let closing: Promise<void> | undefined
    return {
      url,
      config,
      paths,
      app,
      logger,
      close: () =>
        (closing ??= (async () => {
          removeRuntime(paths)
          await jobs.stop()
          await opened.app.close()
          // Retries still waiting are cut short: a shutdown must not hang on a dead receiver.
          await notifier.close()
          await opened.engine.close()
          opened.meta.close()
          logger.info('krafter-logs stopped')
        })()),
    }
  } catch (err) {
    await app?.close().catch(() => undefined)
    await engine?.close().catch(() => undefined)
    meta?.close()
    throw err
  }
}
