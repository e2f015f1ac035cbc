import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateClickhouseBinary } from '../../src/engine/clickhouse-binary.js'
import type { Engine } from '../../src/engine/core.js'
import { openEmbeddedEngine } from '../../src/engine/embedded.js'
import { engineCall } from '../../src/engine/engine.js'
import { ENGINE_RETRY_AFTER_SECONDS, engineErrorKind } from '../../src/engine/errors.js'
import { ClickhouseSupervisor } from '../../src/engine/managed/supervisor.js'
import { AppError } from '../../src/errors.js'
import { debianClickhouseServer, freePorts } from '../helpers/clickhouse-server.js'

/*
 * The classification of engine errors by ClickHouse code, on errors the real engines raise:
 * chDB in this process, and Debian's clickhouse-server (18.16) over HTTP, which also gives a
 * port that nothing listens on once it is stopped.
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-engine-errors-'))
let engine: Engine
let server: ClickhouseSupervisor
let http: ClickHouseClient

/** What `fn` rejected with; fails the test if it resolved. */
const failure = async (fn: () => Promise<unknown>): Promise<unknown> => {
  try {
    await fn()
  } catch (err) {
    return err
  }
  throw new Error('expected the engine call to fail')
}

const select = (client: ClickHouseClient, query: string) => async () => (await client.query({ query, format: 'JSONEachRow' })).json()

beforeAll(async () => {
  engine = await openEmbeddedEngine({ path: path.join(root, 'engine'), database: 'krafter' })
  const [httpPort, tcpPort] = await freePorts(2)
  server = new ClickhouseSupervisor({
    dataDir: path.join(root, 'server'),
    binary: locateClickhouseBinary({ flag: debianClickhouseServer() }),
    httpPort,
    tcpPort,
    healthIntervalMs: 0,
  })
  await server.start()
  http = createClient({ ...server.connectionParams(), log: { level: ClickHouseLogLevel.OFF } })
})

afterAll(async () => {
  await http?.close()
  await server?.stop()
  await engine?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('engine errors from the embedded engine (chDB)', () => {
  it('a syntax error is a bug, and engineCall passes it through as it is', async () => {
    const err = await failure(select(engine.client, 'SELEC 1'))
    // chDB builds its ClickHouseError from its own copy of the client: matched by shape.
    expect(err).toMatchObject({ name: 'Error', code: '62', type: 'SYNTAX_ERROR' })
    expect(engineErrorKind(err)).toBe('bug')
    const passed = await failure(() => engineCall(select(engine.client, 'SELEC 1')))
    expect(passed).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' })
    expect(passed).not.toBeInstanceOf(AppError)
  })

  it('an unknown table is a bug (our schema), not an unavailable engine', async () => {
    const err = await failure(select(engine.client, 'SELECT * FROM krafter.no_such_table'))
    expect(['UNKNOWN_TABLE', 'UNKNOWN_DATABASE']).toContain((err as ClickHouseError).type)
    expect(engineErrorKind(err)).toBe('bug')
  })

  it('a value the engine cannot parse is the data at fault', async () => {
    for (const query of ["SELECT toUInt64('abc')", "SELECT toDateTime('not a time')"]) {
      const err = await failure(select(engine.client, query))
      expect((err as ClickHouseError).type, query).toMatch(/^CANNOT_PARSE/)
      expect(engineErrorKind(err), query).toBe('data')
    }
  })

  it('the memory limit makes the engine unavailable: engineCall answers 503 with Retry-After', async () => {
    const query = 'SELECT groupArray(number) FROM numbers(10000000) SETTINGS max_memory_usage = 1000000'
    const err = await failure(select(engine.client, query))
    expect((err as ClickHouseError).type).toBe('MEMORY_LIMIT_EXCEEDED')
    expect(engineErrorKind(err)).toBe('unavailable')
    const answered = await failure(() => engineCall(select(engine.client, query)))
    expect(answered).toBeInstanceOf(AppError)
    expect(answered).toMatchObject({ code: 'engine_unavailable', status: 503, headers: { 'retry-after': String(ENGINE_RETRY_AFTER_SECONDS) } })
    expect((answered as AppError).message).not.toMatch(/memory|ClickHouse/i)
    expect((answered as AppError).cause).toMatchObject({ type: 'MEMORY_LIMIT_EXCEEDED' })
  })
})

describe('engine errors from a ClickHouse server over HTTP', () => {
  it('a syntax error and an unknown table are bugs', async () => {
    const syntax = await failure(select(http, 'SELEC 1'))
    // 18.16 words its errors so that the client does not parse the code: it leads the text.
    expect((syntax as Error).message).toMatch(/^Code: 62\b/)
    expect(engineErrorKind(syntax)).toBe('bug')
    const unknown = await failure(select(http, 'SELECT * FROM default.no_such_table'))
    expect(engineErrorKind(unknown)).toBe('bug')
  })

  it('a value the server cannot parse is the data at fault', async () => {
    const err = await failure(select(http, "SELECT toUInt64('abc')"))
    expect(engineErrorKind(err)).toBe('data')
  })

  it('a refused connection (nothing listens on the port) is unavailable: 503 with Retry-After', async () => {
    const [closedPort] = await freePorts(1)
    const nowhere = createClient({ url: `http://127.0.0.1:${closedPort}`, log: { level: ClickHouseLogLevel.OFF } })
    try {
      const err = await failure(select(nowhere, 'SELECT 1'))
      expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED')
      expect(engineErrorKind(err)).toBe('unavailable')
      const answered = await failure(() => engineCall(select(nowhere, 'SELECT 1')))
      expect(answered).toMatchObject({ code: 'engine_unavailable', status: 503, headers: { 'retry-after': String(ENGINE_RETRY_AFTER_SECONDS) } })
    } finally {
      await nowhere.close()
    }
  })
})

describe('the client timing out on a slow server', () => {
  it('is unavailable: 503 with Retry-After', async () => {
    const impatient = createClient({ ...server.connectionParams(), request_timeout: 200, log: { level: ClickHouseLogLevel.OFF } })
    try {
      const err = await failure(select(impatient, 'SELECT sleep(2)'))
      expect((err as Error).message).toBe('Timeout error.')
      expect(engineErrorKind(err)).toBe('unavailable')
      expect(await failure(() => engineCall(select(impatient, 'SELECT sleep(2)')))).toMatchObject({ code: 'engine_unavailable', status: 503 })
    } finally {
      await impatient.close()
    }
  })
})

describe('a closed embedded engine', () => {
  it('is unavailable (503), not a bug: a call racing close is retried by the client', async () => {
    const closed = engine
    await closed.close()
    // Opened again at once, so no other test depends on running before this one.
    engine = await openEmbeddedEngine({ path: path.join(root, 'engine'), database: 'krafter' })
    const err = await failure(select(closed.client, 'SELECT 1'))
    expect(engineErrorKind(err)).toBe('unavailable')
    expect(await failure(() => engineCall(select(closed.client, 'SELECT 1')))).toMatchObject({ code: 'engine_unavailable', status: 503 })
    expect(await select(engine.client, 'SELECT 1 AS one')()).toEqual([{ one: 1 }])
  })
})
