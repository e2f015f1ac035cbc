import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { DataPaths } from '../config/paths.js'
import { AppError, UserError } from '../errors.js'
import type { Engine } from './core.js'
import { engineErrorKind, engineUnavailable } from './errors.js'

// The rest of the product imports the engine from here; the modes import core.ts directly.
export { assertSupportedVersion, clientLifecycle, isSupportedVersion, MIN_ENGINE_VERSION } from './core.js'
export type { Engine, EngineInfo, QueryLimits } from './core.js'

export const openEngine = async (config: Config, paths: DataPaths, options: { logger?: Logger } = {}): Promise<Engine> => {
  const engine = await openEngineMode(config, paths, options)
  engine.queryLimits = { timeoutMs: config.query.timeout_ms, maxMemoryBytes: config.query.max_memory_mb * 1024 * 1024 }
  return engine
}

const openEngineMode = async (config: Config, paths: DataPaths, options: { logger?: Logger }): Promise<Engine> => {
  switch (config.engine.mode) {
    case 'embedded': {
      // Loaded on demand: libchdb is large, and most CLI commands never touch the engine.
      const { openEmbeddedEngine } = await import('./embedded.js')
      return openEmbeddedEngine({ path: paths.engine, database: config.engine.database })
    }
    case 'external': {
      const { url, user, password, database, cluster, request_timeout_ms } = config.engine
      if (url === undefined) {
        throw new UserError('engine.mode is external but engine.url is not set.', {
          suggestions: ['Set engine.url in krafter.yaml (or KRAFTER_ENGINE_URL) to the ClickHouse HTTP URL, e.g. http://clickhouse:8123.'],
        })
      }
      const { openExternalEngine } = await import('./external.js')
      return openExternalEngine({ url, user, password, database, cluster, requestTimeoutMs: request_timeout_ms })
    }
    case 'managed': {
      const { openManagedEngine } = await import('./managed.js')
      return openManagedEngine({
        dataDir: paths.root,
        binaryPath: config.engine.clickhouse_binary,
        database: config.engine.database,
        requestTimeoutMs: config.engine.request_timeout_ms,
        httpPort: config.engine.http_port,
        tcpPort: config.engine.tcp_port,
        logger: options.logger,
      })
    }
  }
}

/**
 * Runs an engine call and turns "the engine cannot work now" (by ClickHouse error code, see
 * errors.ts) into 503 engine_unavailable with Retry-After, so clients retry instead of seeing
 * a 500. Anything else is a bug in our SQL or schema and passes through to the error handler.
 */
export const engineCall = async <T>(fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof AppError) throw err
    if (engineErrorKind(err) === 'unavailable') throw engineUnavailable(err)
    throw err
  }
}
