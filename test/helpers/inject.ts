import type { FastifyInstance, InjectOptions } from 'fastify'

/** Routes whose success is a stream that never ends by itself (Server-Sent Events). */
const STREAMING = ['/api/v1/logs/tail']

export interface Injected {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
  json: () => any
}

/**
 * `app.inject`, except that a streaming route answers as soon as its headers are out: a
 * success's body is what the stream sent first (then it is dropped; serve's close ends it),
 * an error's body is read whole. Tests that walk every route (auth matrix, access, fuzz) use it.
 */
export const injectAny = async (app: FastifyInstance, options: InjectOptions & { url: string }): Promise<Injected> => {
  if (!STREAMING.some((p) => options.url.split('?')[0] === p)) {
    const res = await app.inject(options)
    return { statusCode: res.statusCode, headers: res.headers, body: res.body, json: () => res.json() }
  }
  const res = await app.inject({ ...options, payloadAsStream: true })
  const stream = res.stream()
  let body = ''
  if (res.statusCode >= 300) {
    for await (const chunk of stream) body += chunk.toString()
  } else {
    body = await new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())))
    stream.destroy()
  }
  return { statusCode: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body) }
}
