import { once } from 'node:events'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { Writable } from 'node:stream'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/api/logger.js'
import { dataPaths } from '../../src/config/paths.js'
import { planInit } from '../../src/ops/init.js'
import { startServer, type RunningServer } from '../../src/ops/serve.js'
import { tempDir } from '../helpers/app.js'
import { RawConnection } from '../helpers/raw-http.js'

const MAX = 3
const home = tempDir('cap')
let server: RunningServer
let port = 0
let logText = ''
/** The server's side of each connection, by the client's port. */
const accepted = new Map<number, Socket>()

beforeAll(async () => {
  const { steps, state } = planInit({ dataDir: home, port: 0 })
  for (const step of steps) await step.run(state)
  const config = dataPaths(home).config
  const doc = YAML.parseDocument(readFileSync(config, 'utf8'))
  doc.setIn(['server', 'max_connections'], MAX)
  writeFileSync(config, doc.toString())
  const destination = new Writable({
    write(chunk, _enc, done) {
      logText += chunk.toString()
      done()
    },
  })
  server = await startServer({ dataDir: home, logger: createLogger({ level: 'info', destination }) })
  server.app.server.on('connection', (socket: Socket) => accepted.set(socket.remotePort!, socket))
  port = Number(new URL(server.url).port)
})
afterAll(async () => {
  await server?.close()
  rmSync(home, { recursive: true, force: true })
})

const openAndAnswered = async (): Promise<RawConnection> => {
  const conn = await new RawConnection(port).connected()
  conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  // Answered, so the server has accepted it and counts it (a keep-alive connection, held open).
  expect(await conn.response()).toMatch(/^HTTP\/1\.1 200 /)
  return conn
}

describe('server.max_connections on a running serve', () => {
  it('closes connections beyond the cap unanswered, logs it, and accepts again once one closes', async () => {
    const held = [await openAndAnswered(), await openAndAnswered(), await openAndAnswered()]
    expect(held).toHaveLength(MAX)

    const dropped = once(server.app.server, 'drop')
    const extra = await new RawConnection(port).connected()
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    await Promise.all([dropped, extra.closed])
    expect(extra.received).toBe('')
    expect(logText).toContain('server.max_connections reached')

    // The held connections still work.
    held[0]!.received = ''
    held[0]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(await held[0]!.response()).toMatch(/^HTTP\/1\.1 200 /)

    const freed = held.pop()!
    const serverSide = accepted.get(freed.socket.localPort!)!
    freed.socket.destroy()
    await once(serverSide, 'close')
    const again = await openAndAnswered()
    for (const conn of [...held, again]) conn.socket.destroy()
  })
})
