import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** A real SMTP server on a free loopback port that keeps every mail it is given, parsed. */
export const startSmtpServer = async (options: { login?: { user: string; password: string } } = {}) => {
  const mails: (ParsedMail & { envelopeTo: string[]; user?: string })[] = []
  const { login } = options
  const server = new SMTPServer({
    authOptional: login === undefined,
    // Loopback test server without TLS: allow AUTH in clear text.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (login && auth.username === login.user && auth.password === login.password) return callback(null, { user: auth.username })
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(Object.assign(mail, { envelopeTo: session.envelope.rcptTo.map((r) => r.address), user: session.user as string | undefined }))
          callback()
        })
        .catch(callback)
    },
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const { port } = server.server.address() as AddressInfo
  return {
    port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export interface ReceivedHook {
  path: string
  headers: http.IncomingHttpHeaders
  raw: string
  at: number
}

/**
 * A real HTTP receiver for webhooks. Each path behaves as the test sets it: answer a status,
 * fail the first N requests, or hang (never answer until the receiver closes).
 */
export const startWebhookReceiver = async () => {
  const received: ReceivedHook[] = []
  const behaviour = new Map<string, { status?: number; failFirst?: number; hang?: boolean; seen: number }>()
  const hanging = new Set<http.ServerResponse>()
  const server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (raw += c))
    req.on('end', () => {
      const path = req.url ?? '/'
      received.push({ path, headers: req.headers, raw, at: Date.now() })
      const b = behaviour.get(path) ?? { seen: 0 }
      b.seen++
      behaviour.set(path, b)
      if (b.hang) {
        hanging.add(res)
        return
      }
      const status = b.failFirst && b.seen <= b.failFirst ? 500 : (b.status ?? 200)
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    set: (path: string, b: { status?: number; failFirst?: number; hang?: boolean }) => behaviour.set(path, { ...b, seen: 0 }),
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
