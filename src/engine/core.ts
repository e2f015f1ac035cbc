import type { ClickHouseClient } from '@clickhouse/client'
import type { EngineMode } from '../config/config.js'
import { UserError } from '../errors.js'

/*
 * What every engine mode shares: the Engine the rest of the product sees, the client
 * lifecycle and the version gate. The modes (embedded, external, managed) import this module;
 * engine.ts imports the modes, so this is what keeps them from importing their importer.
 */

/**
 * The log engine as the rest of the product sees it: a @clickhouse/client plus what we know
 * about where it runs. Every mode speaks the same SQL dialect through the same client.
 */
export interface Engine {
  readonly mode: EngineMode
  readonly client: ClickHouseClient
  /** Database holding the log tables; a validated identifier, safe to quote into DDL. */
  readonly database: string
  /** `ON CLUSTER` name for DDL in external cluster mode. */
  readonly cluster?: string
  /** Server version, read at open time. */
  readonly version: string
  /** The time and memory every read of the entries may take (config `query`); see logs/search.ts selectRows. */
  queryLimits?: QueryLimits
  /**
   * Runs a read and reports how many rows it read from storage. null: the engine reports it
   * itself (a server's X-ClickHouse-Summary); the embedded engine only reports result rows.
   */
  measureRowsRead?: <T>(fn: () => Promise<T>) => Promise<{ result: T; rowsRead: number }>
  /**
   * False while a supervised engine is known to be down (managed mode, between a crash and its
   * restart): writers answer 503 at once instead of trying. Absent: assume available.
   */
  available?: () => boolean
  /** True while the engine answers queries. */
  ping(): Promise<boolean>
  close(): Promise<void>
}

/**
 * `ping` and `close` of an engine reached through `client`, the same in every mode: ping is
 * false once closed, while `up()` says the engine is down, or when the client fails; close runs
 * once, then `afterClose` (release the lock, stop the supervised server) even if it failed.
 */
export const clientLifecycle = (
  client: ClickHouseClient,
  options: { up?: () => boolean; afterClose?: () => void | Promise<void> } = {},
): Pick<Engine, 'ping' | 'close'> => {
  let closed = false
  return {
    async ping() {
      if (closed || (options.up && !options.up())) return false
      try {
        return (await client.ping()).success
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      try {
        await client.close()
      } finally {
        await options.afterClose?.()
      }
    },
  }
}

/** What one read may cost the engine before it is stopped with a clear answer (errors.ts readLimitError). */
export interface QueryLimits {
  timeoutMs: number
  maxMemoryBytes: number
}

export interface EngineInfo {
  mode: EngineMode
  version: string
  database: string
  ok: boolean
}

/**
 * Lowest ClickHouse release whose features the log schema uses: the JSON type and the `text`
 * index on messages, generally available from 26.2 (before it, experimental and off by default).
 */
export const MIN_ENGINE_VERSION = '26.2'

const versionParts = (v: string): number[] => v.split('.').map((p) => Number.parseInt(p, 10) || 0)

export const isSupportedVersion = (version: string, min = MIN_ENGINE_VERSION): boolean => {
  const a = versionParts(version)
  const b = versionParts(min)
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d > 0
  }
  return true
}

export const assertSupportedVersion = (version: string, where: string): void => {
  if (!isSupportedVersion(version)) {
    throw new UserError(
      `ClickHouse ${version} at ${where} is too old for the Krafter Logs schema: version ${MIN_ENGINE_VERSION} or newer is required.`,
      { suggestions: [`Upgrade ClickHouse to ${MIN_ENGINE_VERSION}+ or use the embedded engine (engine.mode: embedded).`] },
    )
  }
}
