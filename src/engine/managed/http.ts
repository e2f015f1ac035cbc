import http from 'node:http'

/**
 * One GET on a connection of its own. Not fetch: its pool keeps idle keep-alive sockets, and
 * ClickHouse waits for open connections on SIGTERM, so pings alone slowed every stop by seconds.
 */
const httpGet = (url: string, options: { headers?: Record<string, string>; timeoutMs: number }): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { ...options.headers, connection: 'close' }, timeout: options.timeoutMs }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      response.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${options.timeoutMs} ms`)))
    request.on('error', reject)
  })

/** True when a ClickHouse HTTP interface answers `/ping` with `Ok.`. */
export const pingClickhouse = async (url: string, timeoutMs = 1000): Promise<boolean> => {
  try {
    const { status, text } = await httpGet(`${url}/ping`, { timeoutMs })
    return status === 200 && text.trim() === 'Ok.'
  } catch {
    return false
  }
}

/** One query over the HTTP interface as `user` (the version probe and the credential check). */
export const queryClickhouse = (
  url: string,
  user: { username: string; password: string },
  sql: string,
  timeoutMs: number,
): Promise<{ status: number; text: string }> =>
  httpGet(`${url}/?query=${encodeURIComponent(sql)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` },
    timeoutMs,
  })
