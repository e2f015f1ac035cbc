import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { UserError, errorMessage } from '../errors.js'
import { assertSupportedVersion, clientLifecycle, type Engine } from './core.js'
import { clickhouseErrorCode } from './errors.js'
import { CLUSTER_SESSION_SETTINGS, ENGINE_SESSION_SETTINGS, REPLICATION_MACROS, SERVER_SESSION_SETTINGS } from './schema.js'

export interface ExternalEngineOptions {
  url: string
  user?: string
  password?: string
  database: string
  /** A cluster from the server's remote_servers: the schema is created ON CLUSTER. */
  cluster?: string
  requestTimeoutMs: number
}

/** The URL without credentials, for messages and logs (a URL may carry user:password@). */
export const displayUrl = (url: string): string => {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString().replace(/\/$/, '')
  } catch {
    return url
  }
}

// ClickHouse error codes for a login that did not work: UNKNOWN_USER, WRONG_PASSWORD,
// REQUIRED_PASSWORD, AUTHENTICATION_FAILED (old servers use the first three, new ones 516).
const AUTH_ERROR_CODES = new Set([192, 193, 194, 516])

const connectionSuggestions = (url: string): string[] => [
  `Check that ClickHouse runs and answers \`curl ${url}/ping\` with "Ok." from this machine.`,
  'Use the HTTP interface (default port 8123, 8443 with TLS), not the native protocol port 9000.',
  'Or initialise with the embedded engine: `krafter-logs init --engine embedded`.',
]

/**
 * Asks the server who it is before anything else: reachability, credentials, version, and for a
 * cluster whether the server knows it and has the replication macros. This client sends no
 * settings, because a server too old for the schema refuses unknown settings on every query,
 * and the operator should learn its version rather than the name of a setting.
 */
const probeServer = async (options: ExternalEngineOptions, where: string): Promise<string> => {
  const probe = createClient({
    url: options.url,
    username: options.user,
    password: options.password,
    request_timeout: options.requestTimeoutMs,
    application: 'krafter-logs',
    // Failures are reported as UserErrors below; the client's own log lines would repeat them.
    log: { level: ClickHouseLogLevel.OFF },
  })
  try {
    const ping = await probe.ping()
    if (!ping.success) {
      throw new UserError(`Could not connect to ClickHouse at ${where}: ${errorMessage(ping.error)}`, {
        suggestions: connectionSuggestions(where),
        cause: ping.error,
      })
    }
    let version: string
    try {
      const rs = await probe.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })
      version = (await rs.json<{ v: string }>())[0]?.v ?? '0'
    } catch (err) {
      const code = clickhouseErrorCode(err)
      if (code !== undefined && AUTH_ERROR_CODES.has(code)) {
        const user = options.user ?? (decodeURIComponent(new URL(options.url).username) || 'default')
        throw new UserError(`ClickHouse at ${where} refused the login of user "${user}": ${errorMessage(err).trim()}`, {
          suggestions: ['Pass the right --user and --password (or KRAFTER_ENGINE_PASSWORD), or set engine.user / engine.password in krafter.yaml.'],
          cause: err,
        })
      }
      throw new UserError(`ClickHouse at ${where} did not answer \`SELECT version()\`: ${errorMessage(err).trim()}`, {
        suggestions: connectionSuggestions(where),
        cause: err,
      })
    }
    assertSupportedVersion(version, where)
    if (options.cluster !== undefined) await assertClusterReady(probe, options.cluster, where)
    return version
  } finally {
    await probe.close()
  }
}

/** ON CLUSTER DDL fails late and per host; a missing cluster or macro is cheaper to name now. */
const assertClusterReady = async (client: ClickHouseClient, cluster: string, where: string): Promise<void> => {
  const clusters = await (
    await client.query({
      query: 'SELECT count() AS n FROM system.clusters WHERE cluster = {cluster:String}',
      query_params: { cluster },
      format: 'JSONEachRow',
    })
  ).json<{ n: number | string }>()
  if (Number(clusters[0]?.n ?? 0) === 0) {
    throw new UserError(`ClickHouse at ${where} has no cluster named "${cluster}" (system.clusters).`, {
      suggestions: [
        'Define it under <remote_servers> on every server, or pass the name `SELECT DISTINCT cluster FROM system.clusters` shows.',
      ],
    })
  }
  const macros = await (await client.query({ query: 'SELECT macro FROM system.macros', format: 'JSONEachRow' })).json<{ macro: string }>()
  const missing = REPLICATION_MACROS.filter((m) => !macros.some((row) => row.macro === m))
  if (missing.length > 0) {
    throw new UserError(
      `ClickHouse at ${where} defines no ${missing.map((m) => `{${m}}`).join(' / ')} macro; the replicated log table needs {shard} and {replica} on every server of cluster "${cluster}".`,
      { suggestions: ['Add <macros><shard>…</shard><replica>…</replica></macros> to each server config (unique per host) and reload it.'] },
    )
  }
}

/**
 * A ClickHouse server (or cluster) run by someone else, over HTTP. The settings the log schema
 * relies on travel with every request as client defaults, since we cannot put them in the
 * server's profiles. The client has no default database: every statement names its tables,
 * and the database may not exist until the schema migration creates it.
 */
export const openExternalEngine = async (options: ExternalEngineOptions): Promise<Engine> => {
  const where = displayUrl(options.url)
  const version = await probeServer(options, where)
  const client = createClient({
    url: options.url,
    username: options.user,
    password: options.password,
    request_timeout: options.requestTimeoutMs,
    application: 'krafter-logs',
    clickhouse_settings: {
      ...ENGINE_SESSION_SETTINGS,
      ...SERVER_SESSION_SETTINGS,
      ...(options.cluster !== undefined ? CLUSTER_SESSION_SETTINGS : {}),
    },
  })
  return {
    mode: 'external',
    client,
    database: options.database,
    ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
    version,
    ...clientLifecycle(client),
  }
}
