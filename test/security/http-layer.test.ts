import net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

/**
 * What Node's HTTP parser and Fastify answer before our routes run, on a real listening server:
 * inject bypasses the parser, so these requests are written on raw sockets.
 */
let t: TestApp
let project: { id: string; ingest_token: string }
let port: number

beforeAll(async () => {
  t = await createTestApp()
  project = await t.project({ name: 'HTTP layer' })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  port = (t.app.server.address() as AddressInfo).port
})
afterAll(async () => {
  await t?.close()
})

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** Splits what came back on a connection into its responses (Content-Length framed). */
const parseResponses = (raw: Buffer): RawResponse[] => {
  const responses: RawResponse[] = []
  let rest = raw
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) throw new Error(`incomplete response: ${rest.toString('latin1')}`)
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n')
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    const length = Number(headers['content-length'] ?? 0)
    const body = rest.subarray(end + 4, end + 4 + length)
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8') })
    rest = rest.subarray(end + 4 + length)
  }
  return responses
}

/** A connection to `to`; `done` resolves with everything the server sent once it closes. */
const connect = (to = port) => {
  const socket = net.connect(to, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise<RawResponse[]>((resolve, reject) => {
    socket.on('error', reject)
    socket.on('close', () => resolve(parseResponses(Buffer.concat(chunks))))
  })
  return { socket, done }
}

/** One request written as given (bytes and all) on its own connection; the answers to it. */
const raw = async (request: string | Buffer): Promise<RawResponse[]> => {
  const { socket, done } = connect()
  // Not end(): a half-closed request is aborted by Node before it is answered.
  socket.write(request)
  return done
}

const expectEnvelope = (res: RawResponse, status: number, code: string) => {
  expect(res.status, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = JSON.parse(res.body)
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]+$/)
  expect(body.request_id).toBe(res.headers['x-request-id'])
  return body
}

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`

describe('answers of the HTTP layer carry the envelope and X-Request-Id', () => {
  it('bad percent-encoding in the path: 400 naming the path', async () => {
    const [res] = await raw(head(['GET /api/v1/logs/projects/%ZZ HTTP/1.1', 'Host: x', `Authorization: Bearer ${t.teamKey}`, 'Connection: close']))
    expect(expectEnvelope(res!, 400, 'validation_error').error.details).toEqual([{ field: 'path', message: 'is not valid percent-encoding' }])
  })

  it('a path parameter over 100 characters: 400 naming the path (not a bare 414)', async () => {
    const [res] = await raw(head([`GET /api/v1/logs/projects/${'a'.repeat(300)} HTTP/1.1`, 'Host: x', `Authorization: Bearer ${t.teamKey}`, 'Connection: close']))
    expect(expectEnvelope(res!, 400, 'validation_error').error.details[0].field).toBe('path')
  })

  it('a query string over 16 KiB: 431 with the envelope, the token neither echoed nor logged', async () => {
    const url = `/api/v1/logs/search?project_id=${project.id}&q=${'x'.repeat(17 * 1024)}`
    const [res] = await raw(head([`GET ${url} HTTP/1.1`, 'Host: x', `Authorization: Bearer ${t.teamKey}`]))
    const body = expectEnvelope(res!, 431, 'validation_error')
    expect(body.error.details).toEqual([{ field: 'headers', message: 'request line and headers must be at most 16 KiB' }])
    expect(body.error.message).toContain('POST /api/v1/logs/search')
    expect(res!.headers.connection).toBe('close')
    expect(JSON.stringify(res)).not.toContain(t.teamKey)
    expect(t.logs()).toContain(body.request_id)
    expect(t.logs()).not.toContain(t.teamKey)
  })

  it('a control byte in a header value or name: 400 with the envelope', async () => {
    for (const header of ['X-Note: a\x01b', 'X-No\x7fte: a', `Authorization: Bearer ${t.teamKey}\x00`]) {
      const [res] = await raw(head(['GET /api/v1/logs/projects HTTP/1.1', 'Host: x', header, 'Connection: close']))
      const body = expectEnvelope(res!, 400, 'validation_error')
      expect(body.error.message).toMatch(/^Malformed HTTP request/)
      expect(JSON.stringify(res)).not.toContain(t.teamKey)
    }
  })

  it('other requests the parser refuses: 400 with the envelope', async () => {
    const malformed = [
      'G@T / HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
      head(['POST /api/v1/logs/ingest HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked']) + '0\r\n\r\n',
      head(['POST /api/v1/logs/ingest HTTP/1.1', 'Host: x', 'Content-Length: abc']),
      head(['POST /api/v1/logs/ingest HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked']) + 'zz\r\n',
    ]
    for (const request of malformed) {
      const [res] = await raw(request)
      expectEnvelope(res!, 400, 'validation_error')
    }
  })

  it('an Expect other than 100-continue is served like any request, not a bare 417', async () => {
    const [res] = await raw(head(['GET /api/v1/logs/projects HTTP/1.1', 'Host: x', 'Expect: something-else', `Authorization: Bearer ${t.teamKey}`, 'Connection: close']))
    expect(res!.status, res!.body).toBe(200)
    expect(JSON.parse(res!.body).request_id).toBe(res!.headers['x-request-id'])
    const [unauthorized] = await raw(head(['GET /api/v1/logs/projects HTTP/1.1', 'Host: x', 'Expect: x', 'Connection: close']))
    expectEnvelope(unauthorized!, 401, 'unauthorized')
  })
})

describe('shutdown', () => {
  let app: FastifyInstance | undefined
  afterAll(async () => {
    await app?.close()
  })

  it('a request reaching a closing server gets a 503 envelope with Retry-After, and close still completes', async () => {
    // A second app over the same engine and metadata: closing it leaves the shared one running.
    app = await buildApp({ config: t.config, paths: t.paths, meta: t.meta, engine: t.engine, clock: t.clock.now, teamId: t.teamId })
    let heldRequestArrived!: () => void
    const arrived = new Promise<void>((resolve) => (heldRequestArrived = resolve))
    let closeBegan!: () => void
    const closing = new Promise<void>((resolve) => (closeBegan = resolve))
    app.addHook('onRequest', async (request) => {
      if (request.headers['x-test'] === 'held') heldRequestArrived()
    })
    // Runs after the app's own preClose hook (registration order): the app knows it is closing.
    app.addHook('preClose', (done) => {
      closeBegan()
      done()
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { socket, done } = connect((app.server.address() as AddressInfo).port)
    const entry = JSON.stringify({ message: 'in flight during shutdown' })
    // A request in flight (its body half sent) keeps the connection open through close().
    socket.write(
      head(['POST /api/v1/logs/ingest HTTP/1.1', 'Host: x', 'X-Test: held', `Authorization: Bearer ${project.ingest_token}`, 'Content-Type: application/json', `Content-Length: ${entry.length}`]) +
        entry.slice(0, 5),
    )
    await arrived
    const closed = app.close()
    await closing
    // The rest of the body, then a second request on the same kept-alive connection.
    socket.write(entry.slice(5) + head(['GET /api/v1/logs/projects HTTP/1.1', 'Host: x', `Authorization: Bearer ${t.teamKey}`]))
    const [inFlight, refused] = await done
    expect(inFlight!.status, inFlight!.body).toBe(202)
    const body = expectEnvelope(refused!, 503, 'engine_unavailable')
    expect(body.error.message).toBe('The server is shutting down; retry shortly')
    expect(refused!.headers['retry-after']).toBe('5')
    expect(refused!.headers.connection).toBe('close')
    await closed
    app = undefined
  })
})
