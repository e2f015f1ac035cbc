import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { createLogger } from '../../src/api/logger.js'
import { logTable } from '../../src/engine/schema.js'
import { UserError } from '../../src/errors.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

/*
 * Errors by who must act, through the one error handler of the real app: a bug (500, the
 * stack in the log, nothing internal in the body), a UserError (the operator's: 409 or its own
 * code), and a SyntaxError that did not come from parsing the body (a bug, not a 400).
 */

let t: TestApp
/** The real app built over the same deps, plus routes whose handlers fail on purpose. */
let app: FastifyInstance
let logText = ''

const NONE = { auth: { kind: 'none' } } as const
const SECRET = 'internal-detail-7f3a'

beforeAll(async () => {
  t = await createTestApp()
  const destination = new Writable({
    write(chunk, _enc, done) {
      logText += chunk.toString()
      done()
    },
  })
  app = await buildApp({
    config: t.config,
    paths: t.paths,
    meta: t.meta,
    engine: t.engine,
    clock: t.clock.now,
    teamId: t.teamId,
    logger: createLogger({ level: 'info', destination }),
  })
  app.get('/test/type-error', { config: NONE }, () => {
    const row = undefined as unknown as { [SECRET]: string }
    return row[SECRET]
  })
  app.get('/test/syntax-error', { config: NONE }, () => JSON.parse(`{"${SECRET}": `) as unknown)
  app.get('/test/user-error', { config: NONE }, () => {
    throw new UserError('The backup directory already holds a backup.', { suggestions: ['Pick another directory.'] })
  })
  app.get('/test/user-error-with-code', { config: NONE }, () => {
    throw new UserError('No such backup.', { code: 'not_found' })
  })
  await app.ready()
})

afterAll(async () => {
  await app?.close()
  await t?.close()
})

const expectBug = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) => {
  expect(res.statusCode).toBe(500)
  const body = JSON.parse(res.body) as { error: unknown; request_id: string }
  expect(body).toEqual({ error: { code: 'internal_error', message: 'Internal server error' }, request_id: expect.any(String) })
  expect(res.headers['x-request-id']).toBe(body.request_id)
  return body.request_id
}

/** The log line of `requestId`'s failure, parsed. */
const logLineOf = (text: string, requestId: string): { level: number; err?: { stack?: string; message?: string } } => {
  const line = text
    .split('\n')
    .filter((l) => l.includes(requestId))
    .map((l) => JSON.parse(l) as { level: number; err?: { stack?: string } })
    .find((l) => l.err !== undefined)
  if (!line) throw new Error(`no error log line for request ${requestId}`)
  return line
}

describe('a bug in a route', () => {
  it('answers 500 with the request id and nothing internal; the log has the stack', async () => {
    for (const url of ['/test/type-error', '/test/syntax-error']) {
      const res = await app.inject({ url })
      const requestId = expectBug(res)
      expect(res.body, url).not.toContain(SECRET)
      expect(res.body, url).not.toMatch(/TypeError|SyntaxError|\.ts:|at /)
      const line = logLineOf(logText, requestId)
      expect(line.level, url).toBe(50)
      expect(line.err?.stack, url).toMatch(/errors\.test\.ts/)
    }
  })

  it('a SyntaxError from a handler is not a "malformed body"; a malformed body still is', async () => {
    const bug = await app.inject({ url: '/test/syntax-error' })
    expect(bug.json().error.code).toBe('internal_error')
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/projects',
      headers: { ...bearer(t.teamKey), 'content-type': 'application/json' },
      payload: '{"name": ',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json().error).toMatchObject({ code: 'validation_error', details: [{ field: 'body', message: 'is not valid JSON' }] })
  })

  it('a schema the engine does not have (a detached table) is a bug: 500 for search and for ingest, not 503', async () => {
    const p = await t.project()
    const table = logTable(t.engine)
    await t.engine.client.command({ query: `DETACH TABLE ${table}` })
    try {
      const searched = await t.app.inject({ url: `/api/v1/logs/search?project_id=${p.id}&q=x`, headers: bearer(t.teamKey) })
      const searchId = expectBug(searched)
      const ingested = await t.app.inject({
        method: 'POST',
        url: '/api/v1/logs/ingest',
        headers: { ...bearer(p.ingest_token), 'content-type': 'application/json' },
        payload: JSON.stringify({ message: 'no table' }),
      })
      const ingestId = expectBug(ingested)
      for (const res of [searched, ingested]) expect(res.body).not.toMatch(/log_entries|krafter\.|DB::|UNKNOWN_TABLE|ClickHouse/i)
      for (const id of [searchId, ingestId]) {
        const line = logLineOf(t.logs(), id)
        expect(line.level).toBe(50)
        expect(line.err?.message).toMatch(/log_entries/)
        expect(line.err?.stack).toMatch(/\n\s+at /)
      }
    } finally {
      await t.engine.client.command({ query: `ATTACH TABLE ${table}` })
    }
  })
})

describe('a UserError reaching the API', () => {
  it('is the operator\'s to fix: 409 conflict with its message, or the API code it names', async () => {
    const conflict = await app.inject({ url: '/test/user-error' })
    expect(conflict.statusCode).toBe(409)
    expect(conflict.json()).toEqual({
      error: { code: 'conflict', message: 'The backup directory already holds a backup.' },
      request_id: conflict.headers['x-request-id'],
    })
    const notFound = await app.inject({ url: '/test/user-error-with-code' })
    expect(notFound.statusCode).toBe(404)
    expect(notFound.json().error).toEqual({ code: 'not_found', message: 'No such backup.' })
  })
})
