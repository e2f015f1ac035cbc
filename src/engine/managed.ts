import { ClickHouseLogLevel, createClient } from '@clickhouse/client'
import type { Logger } from 'pino'
import { locateClickhouseBinary } from './clickhouse-binary.js'
import { assertSupportedVersion, clientLifecycle, type Engine } from './core.js'
import { ClickhouseSupervisor } from './managed/supervisor.js'
import { ENGINE_SESSION_SETTINGS } from './schema.js'

export interface ManagedEngineOptions {
  dataDir: string
  /** engine.clickhouse_binary; else found on PATH and in the system dirs. */
  binaryPath?: string
  database: string
  requestTimeoutMs: number
  httpPort?: number
  tcpPort?: number
  logger?: Logger
}

/**
 * A local `clickhouse server` that this process starts and supervises (restarts with backoff,
 * stops on close), reached over HTTP on loopback with a generated password. While it is down
 * `available()` is false, so ingest answers 503 at once instead of queueing for a dead server.
 */
export const openManagedEngine = async (options: ManagedEngineOptions): Promise<Engine> => {
  const binary = locateClickhouseBinary({ configured: options.binaryPath })
  const supervisor = new ClickhouseSupervisor({
    dataDir: options.dataDir,
    binary,
    httpPort: options.httpPort,
    tcpPort: options.tcpPort,
    logger: options.logger,
  })
  await supervisor.start()
  let version: string
  try {
    version = await supervisor.serverVersion()
    assertSupportedVersion(version, `the managed ClickHouse (${binary.path})`)
  } catch (err) {
    await supervisor.stop()
    throw err
  }
  const { url, username, password } = supervisor.connectionParams()
  // Over HTTP every request carries its settings: SET would not outlive its request.
  const client = createClient({
    url,
    username,
    password,
    request_timeout: options.requestTimeoutMs,
    application: 'krafter-logs',
    clickhouse_settings: { ...ENGINE_SESSION_SETTINGS },
    log: { level: ClickHouseLogLevel.OFF },
  })
  return {
    mode: 'managed',
    client,
    database: options.database,
    version,
    available: () => supervisor.isUp(),
    // The server waits for open keep-alive connections before it exits: the client closes first.
    ...clientLifecycle(client, { up: () => supervisor.isUp(), afterClose: () => supervisor.stop() }),
  }
}
