import { readFileSync } from 'node:fs'
import path from 'node:path'
import http from 'node:http'

/** A keep-alive HTTP client for load generation against a local server. */
export const createPoster = (baseUrl: string, headers: Record<string, string>, sockets: number) => {
  const url = new URL(baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets })
  return (path: string, body: string | Buffer, extraHeaders: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path,
          agent,
          headers: { ...headers, ...extraHeaders, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
}

/** Runs `worker` on `concurrency` lanes until `next` returns undefined. */
export const runLanes = async <T>(concurrency: number, next: () => T | undefined, worker: (item: T) => Promise<void>) => {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = next(); item !== undefined; item = next()) await worker(item)
    }),
  )
}

/** The URL a `serve` started on `home` wrote to its serve.json, once it is there. */
export const waitForServeUrl = async (home: string, timeoutMs = 20_000): Promise<string> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      return (JSON.parse(readFileSync(path.join(home, 'serve.json'), 'utf8')) as { url: string }).url
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(`serve did not start on ${home}`)
}
