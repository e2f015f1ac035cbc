import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { openExternalEngine } from '../../src/engine/external.js'
import { ENGINE_MIGRATIONS, migrateEngine, renderBootstrap, renderMigrations } from '../../src/engine/schema.js'
import { UserError } from '../../src/errors.js'

/*
 * openExternalEngine against a stand-in for ClickHouse's HTTP interface: no ClickHouse new
 * enough for the schema runs here (test/e2e/external.test.ts covers a real, old one). It shows
 * what the engine sends: which requests carry which settings, and the DDL of a cluster.
 */

interface Received {
  sql: string
  params: URLSearchParams
}

let server: http.Server
let url = ''
let received: Received[] = []
let reply: { version: string; clusters: number; macros: string[]; authError?: boolean } = { version: '26.7.1.1', clusters: 1, macros: ['shard', 'replica'] }

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const params = new URL(req.url ?? '/', 'http://x').searchParams
    if (req.url === '/ping') return res.end('Ok.\n')
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const sql = (params.get('query') ?? body).trim()
      received.push({ sql: params.get('query') ? `${sql}\n${body}`.trim() : sql, params })
      const rows = (values: object[]) => res.end(values.map((v) => JSON.stringify(v)).join('\n') + '\n')
      if (reply.authError) {
        res.writeHead(516, { 'X-ClickHouse-Exception-Code': '516' })
        return res.end('Code: 516. DB::Exception: krafter: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED)\n')
      }
      if (sql.startsWith('SELECT version()')) return rows([{ v: reply.version }])
      if (sql.includes('FROM system.clusters')) return rows([{ n: String(reply.clusters) }])
      if (sql.includes('FROM system.macros')) return rows(reply.macros.map((macro) => ({ macro })))
      if (sql.includes('max(version)')) return rows([{ v: 0 }])
      res.end('')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

beforeEach(() => {
  received = []
  reply = { version: '26.7.1.1', clusters: 1, macros: ['shard', 'replica'] }
})

const open = (cluster?: string, user?: string) =>
  openExternalEngine({ url, user, password: 'pw', database: 'krafter', cluster, requestTimeoutMs: 5_000 })

const refusal = async (promise: Promise<unknown>): Promise<UserError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(UserError)
  return err as UserError
}

describe('openExternalEngine', () => {
  it('asks for the version without settings, then sends the schema settings with every request', async () => {
    const engine = await open()
    expect(engine).toMatchObject({ mode: 'external', database: 'krafter', version: '26.7.1.1' })
    expect(engine.cluster).toBeUndefined()
    expect(engine.measureRowsRead).toBeUndefined()
    expect(await engine.ping()).toBe(true)
    await engine.client.command({ query: 'SELECT 1' })
    await engine.close()
    expect(await engine.ping()).toBe(false)

    const [probe, later] = [received[0]!, received.at(-1)!]
    expect(probe.sql).toContain('SELECT version()')
    expect(probe.params.get('type_json_skip_duplicated_paths')).toBeNull()
    expect(later.params.get('type_json_skip_duplicated_paths')).toBe('1')
    expect(later.params.get('output_format_json_quote_64bit_integers')).toBe('0')
    expect(later.params.get('allow_experimental_full_text_index')).toBe('1')
    expect(later.params.get('distributed_foreground_insert')).toBeNull()
    // No default database: it may not exist before the schema migration creates it.
    expect(later.params.get('database')).not.toBe('krafter')
  })

  it('refuses an old server with both versions named', async () => {
    reply.version = '25.3.2.1'
    const err = await refusal(open())
    expect(err.message).toBe(`ClickHouse 25.3.2.1 at ${url} is too old for the Krafter Logs schema: version 26.2 or newer is required.`)
  })

  it('names the user whose login failed, never the password', async () => {
    reply.authError = true
    const err = await refusal(open(undefined, 'krafter'))
    expect(err.message).toContain(`ClickHouse at ${url} refused the login of user "krafter"`)
    expect(err.message).not.toContain('pw')
    expect(err.suggestions.join(' ')).toContain('--password')
  })

  it('with a cluster, checks the cluster and the macros before anything else', async () => {
    reply.clusters = 0
    expect((await refusal(open('logs'))).message).toContain('has no cluster named "logs"')
    reply.clusters = 1
    reply.macros = ['shard']
    expect((await refusal(open('logs'))).message).toContain('defines no {replica} macro')
  })

  it('with a cluster, migrates with ON CLUSTER DDL and inserts synchronously into the Distributed table', async () => {
    const engine = await open('logs')
    expect(engine.cluster).toBe('logs')
    received = []
    expect(await migrateEngine(engine)).toBe(ENGINE_MIGRATIONS.length)
    await engine.close()

    const commands = received.map((r) => r.sql).filter((sql) => /^(CREATE|ALTER)/.test(sql))
    expect(commands).toEqual([...renderBootstrap(engine), ...renderMigrations(engine).flat()])
    const inserts = received.filter((r) => r.sql.startsWith('INSERT INTO krafter.schema_migrations'))
    expect(inserts).toHaveLength(ENGINE_MIGRATIONS.length)
    for (const r of received) expect(r.params.get('distributed_foreground_insert')).toBe('1')
  })
})
