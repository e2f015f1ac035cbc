import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/api/app.js'
import { createLogger } from '../../src/api/logger.js'
import { parseConfig, type Config } from '../../src/config/config.js'
import { dataPaths, type DataPaths } from '../../src/config/paths.js'
import { openEngine, type Engine } from '../../src/engine/engine.js'
import { openMeta, type MetaDb } from '../../src/meta/db.js'
import { createApiKey, type Scope } from '../../src/meta/keys.js'
import { getDefaultTeam } from '../../src/meta/teams.js'
import { planInit } from '../../src/ops/init.js'
import { newLocalAdminToken } from '../../src/ops/runtime.js'
import { hashToken } from '../../src/security/tokens.js'

/** A clock tests move by hand: time is a dependency, never slept. */
export class TestClock {
  private pinned: Date | undefined
  constructor(public current = new Date()) {}
  now = (): Date => new Date(this.current)
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms)
  }
  /** Sets the time every test of a file starts from: `reset()` goes back to it. */
  pin(at: Date): void {
    this.pinned = new Date(at)
    this.current = new Date(at)
  }
  /**
   * Back to the pinned time (the real now if none was pinned). Files that move the clock call
   * it in `afterEach`, so a test that fails half-way cannot leave the next one in another day.
   */
  reset(): void {
    this.current = this.pinned ? new Date(this.pinned) : new Date()
  }
}

export interface TestApp {
  app: FastifyInstance
  meta: MetaDb
  engine: Engine
  config: Config
  paths: DataPaths
  teamId: string
  teamKey: string
  /** The per-process token serve hands the CLI (serve.json), accepted by this app. */
  localToken: string
  clock: TestClock
  /** Everything the app logged, as text (for redaction checks). */
  logs: () => string
  keyWith(scopes: Scope[], options?: { projectIds?: string[]; expiresAt?: string }): string
  /** Creates a project through the API; returns it with its ingest token. */
  project(body?: Record<string, unknown>): Promise<{ id: string; name: string; ingest_token: string }>
  /** Rows of a query on the engine (bound parameters). */
  rows<T = Record<string, unknown>>(query: string, params?: Record<string, unknown>): Promise<T[]>
  close(): Promise<void>
}

let projectCounter = 0

export const tempDir = (label: string): string => mkdtempSync(path.join(os.tmpdir(), `krafter-${label}-`))

/**
 * A real initialised data dir (the init steps), the real embedded engine and the real app.
 * One per test file: chDB allows one engine per process.
 */
export const createTestApp = async (options: { config?: Record<string, Record<string, unknown>> } = {}): Promise<TestApp> => {
  const root = tempDir('app')
  const { steps, state } = planInit({ dataDir: root, port: 0 })
  for (const step of steps) await step.run(state)
  const paths = dataPaths(root)
  // Tests make many deliberate auth failures from one address; the security tests set it back.
  const config = parseConfig(
    { ...options.config, server: { auth_failure_burst: 100_000, ...options.config?.server } },
    'test',
    {},
  )
  const meta = openMeta(paths.meta)
  const team = getDefaultTeam(meta)!
  const engine = await openEngine(config, paths)
  const clock = new TestClock()
  const localToken = newLocalAdminToken()
  let logText = ''
  const destination = new Writable({
    write(chunk, _enc, done) {
      logText += chunk.toString()
      done()
    },
  })
  const app = await buildApp({
    config,
    paths,
    meta,
    engine,
    clock: clock.now,
    teamId: team.id,
    logger: createLogger({ level: 'info', destination }),
    localAdminTokenHash: hashToken(localToken),
  })
  await app.ready()
  return {
    app,
    meta,
    engine,
    config,
    paths,
    teamId: team.id,
    teamKey: state.result.team_api_key!,
    localToken,
    clock,
    logs: () => logText,
    keyWith: (scopes, opts = {}) =>
      createApiKey(
        meta,
        { teamId: team.id, name: 'test', scopes, projectIds: opts.projectIds, expiresAt: opts.expiresAt },
        clock.now(),
      ).token,
    async project(body = {}) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/logs/projects',
        headers: { authorization: `Bearer ${state.result.team_api_key}` },
        payload: { name: `project-${++projectCounter}`, ...body },
      })
      if (res.statusCode !== 201) throw new Error(`project create failed: ${res.body}`)
      return res.json().data
    },
    async rows<T>(query: string, params: Record<string, unknown> = {}) {
      const rs = await engine.client.query({ query, query_params: params, format: 'JSONEachRow' })
      return rs.json<T>()
    },
    async close() {
      await app.close()
      await engine.close()
      meta.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** POST /logs/ingest/batch as NDJSON: objects are encoded, strings sent as the line they are. */
export const ingestBatch = (app: FastifyInstance, token: string, entries: unknown[]) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/logs/ingest/batch',
    headers: { ...bearer(token), 'content-type': 'application/x-ndjson' },
    payload: entries.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n'),
  })

/** Posts entries as one NDJSON batch with an ingest token; every one must be accepted. */
export const ingestNdjson = async (t: Pick<TestApp, 'app'>, token: string, entries: object[]): Promise<void> => {
  const res = await ingestBatch(t.app, token, entries)
  if (res.statusCode !== 202 || res.json().data.rejected !== 0) throw new Error(`ingest: ${res.statusCode} ${res.body.slice(0, 300)}`)
}
