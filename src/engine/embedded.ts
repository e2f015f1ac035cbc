import { mkdirSync } from 'node:fs'
import { createClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import { UserError } from '../errors.js'
import type { Engine } from './engine.js'
import { assertSupportedVersion } from './engine.js'

/**
 * chDB: ClickHouse in this process, reached through @clickhouse/client. chDB allows one engine
 * per process and locks its data path, so a second process on the same data dir is refused
 * here with a message an operator can act on.
 */
export const openEmbeddedEngine = async (options: { path: string; database: string }): Promise<Engine> => {
  mkdirSync(options.path, { recursive: true, mode: 0o700 })
  let connection: ReturnType<typeof createChdbConnection>
  try {
    connection = createChdbConnection({ path: options.path })
  } catch (err) {
    const detail = `${(err as Error).message} ${String((err as { cause?: Error }).cause?.message ?? '')}`
    if (/lock|already running|different on-disk path/i.test(detail)) {
      throw new UserError(
        `The embedded engine data at ${options.path} is in use by another process (is \`krafter-logs serve\` running on this data dir?).`,
        { suggestions: ['Stop the other process, or run the command against the running server.'], cause: err },
      )
    }
    throw new UserError(`Could not open the embedded engine at ${options.path}: ${(err as Error).message}`, { cause: err })
  }
  // chdb types its Connection against its own copy of @clickhouse/client-common; same contract.
  const client = createClient({ connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'] })
  const rows = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>()
  const version = rows[0]?.v ?? '0'
  assertSupportedVersion(version, `embedded engine (${options.path})`)
  let closed = false
  return {
    mode: 'embedded',
    client,
    database: options.database,
    version,
    async ping() {
      if (closed) return false
      try {
        return (await client.ping()).success
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      await client.close()
    },
  }
}
