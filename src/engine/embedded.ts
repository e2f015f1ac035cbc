import { mkdirSync } from 'node:fs'
import { createClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import { UserError } from '../errors.js'
import { assertSupportedVersion, clientLifecycle, type Engine } from './core.js'
import { ENGINE_CLOSED } from './errors.js'
import { acquireEngineLock } from './lock.js'
import { ENGINE_SESSION_SETTINGS } from './schema.js'

type ChdbConnection = ReturnType<typeof createChdbConnection>

/**
 * chDB's connection says "closed" only in its message; this one fails with a code of ours
 * instead, so a call that races the engine's close is classified (errors.ts) as unavailable.
 */
const codedOnClose = (connection: ChdbConnection): ChdbConnection => {
  let closed = false
  const open = (): ChdbConnection => {
    if (closed) throw Object.assign(new Error('The embedded engine is closed'), { code: ENGINE_CLOSED })
    return connection
  }
  return {
    ping: async (params) => connection.ping(params),
    query: async (params) => open().query(params),
    insert: async (params) => open().insert(params),
    command: async (params) => open().command(params),
    exec: async (params) => open().exec(params),
    close: async () => {
      closed = true
      await connection.close()
    },
  } as ChdbConnection
}

/**
 * chDB: ClickHouse in this process, reached through @clickhouse/client. chDB allows one engine
 * per process and locks its data path, so a second process on the same data dir is refused
 * here with a message an operator can act on.
 */
export const openEmbeddedEngine = async (options: { path: string; database: string }): Promise<Engine> => {
  mkdirSync(options.path, { recursive: true, mode: 0o700 })
  const releaseLock = acquireEngineLock(`${options.path}.lock`)
  let connection: ChdbConnection
  try {
    connection = codedOnClose(createChdbConnection({ path: options.path }))
  } catch (err) {
    releaseLock()
    throw new UserError(
      `Could not open the embedded engine at ${options.path} (is another process using it?): ${(err as Error).message}`,
      { cause: err },
    )
  }
  // chdb types its Connection against its own copy of @clickhouse/client-common; same contract.
  const client = createClient({ connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'] })
  let version: string
  try {
    const rows = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>()
    version = rows[0]?.v ?? '0'
    assertSupportedVersion(version, `embedded engine (${options.path})`)
    for (const [key, value] of Object.entries(ENGINE_SESSION_SETTINGS)) {
      await client.command({ query: `SET ${key} = ${value}` })
    }
  } catch (err) {
    await client.close()
    releaseLock()
    throw err
  }
  // chDB's own read figure is the result's row count; the SelectedRows profile counter moves
  // by the rows a query really read. Measured reads are chained so deltas do not overlap; the
  // rows the counter query itself reads are measured once and subtracted.
  const selectedRows = async (): Promise<number> => {
    const rs = await client.query({ query: "SELECT value AS v FROM system.events WHERE event = 'SelectedRows'", format: 'JSONEachRow' })
    return Number((await rs.json<{ v: string | number }>())[0]?.v ?? 0)
  }
  const first = await selectedRows()
  const counterCost = (await selectedRows()) - first
  let chain: Promise<unknown> = Promise.resolve()
  const measureRowsRead = <T>(fn: () => Promise<T>): Promise<{ result: T; rowsRead: number }> => {
    const run = chain.then(async () => {
      const before = await selectedRows()
      const result = await fn()
      const after = await selectedRows()
      return { result, rowsRead: Math.max(0, after - before - counterCost) }
    })
    chain = run.catch(() => undefined)
    return run
  }
  return {
    measureRowsRead,
    mode: 'embedded',
    client,
    database: options.database,
    version,
    ...clientLifecycle(client, { afterClose: releaseLock }),
  }
}
