import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { RawConnection } from '../helpers/raw-http.js'

// Small timeouts so the tests are quick; the idle-socket timeout stays long so that what closes
// a connection below is the timeout under test.
const server = { request_timeout_ms: 400, headers_timeout_ms: 200, keep_alive_timeout_ms: 300, connection_timeout_ms: 60_000 }

let t: TestApp
let port = 0
let url = ''

beforeAll(async () => {
  t = await createTestApp({ config: { server } })
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  port = (t.app.server.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  await t?.close()
})

const healthy = async () => (await fetch(`${url}/healthz`)).status

describe('slow clients on a listening server', () => {
  it('answers 408 and closes a request whose body trickles in, while other requests keep working', async () => {
    const body = '{"name":"slow"}'.padEnd(100_000, ' ')
    const conn = await new RawConnection(port).connected()
    conn.write(
      `POST /api/v1/logs/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.teamKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    )
    // 500 B/s: the whole body would take 200 s; a timeout only on silence would never fire.
    conn.trickle(' '.repeat(10), 20)
    expect(await healthy()).toBe(200)
    await conn.closed
    expect(conn.received).toMatch(/^HTTP\/1\.1 408 /)
    expect(conn.sent).toBeLessThan(body.length)
    expect(await healthy()).toBe(200)
    // Nothing half-received was acted on.
    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/logs/projects', headers: { authorization: `Bearer ${t.teamKey}` } })
    expect(listed.json().data.map((p: { name: string }) => p.name)).not.toContain('slow')
  })

  it('answers 408 and closes a connection whose headers never end', async () => {
    const conn = await new RawConnection(port).connected()
    conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
    conn.trickle('X-Slow: y\r\n', 20)
    await conn.closed
    expect(conn.received).toMatch(/^HTTP\/1\.1 408 /)
    expect(await healthy()).toBe(200)
  })

  it('closes an idle keep-alive connection after server.keep_alive_timeout_ms', async () => {
    const conn = await new RawConnection(port).connected()
    conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(await conn.response()).toMatch(/^HTTP\/1\.1 200 /)
    const ended = new Promise<void>((resolve) => conn.socket.once('end', () => resolve()))
    // The server closes it (its FIN arrives as 'end'); the client never does.
    await ended
    await conn.closed
  })
})
