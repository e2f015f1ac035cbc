import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ContextInput, entryContext } from '../../explore/context.js'
import { facetCounts, FacetsInput } from '../../explore/facets.js'
import { messagePatterns, PatternsInput } from '../../explore/patterns.js'
import { TailInput } from '../../explore/tail.js'
import type { AppContext } from '../app.js'
import { readRouteHelpers } from './reads.js'
import { ContextAnswer, errorResponses, EventStream, FacetsAnswer, PatternsAnswer } from '../schemas/index.js'
import { readOrViewer } from '../route-config.js'

/** Live tail, context, facets and patterns (API.md "Explore"): reads beside search, the project checked before any engine work. */
export const exploreRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { scoped } = readRouteHelpers(app, deps)

  app.get('/logs/context', { config: readOrViewer, schema: { querystring: ContextInput, response: { 200: ContextAnswer, ...errorResponses } } }, async (request) => {
    const { input, fixedFilter } = scoped(request, request.query)
    return { data: await entryContext(deps.engine, input, deps.clock(), { entryFilter: fixedFilter }), request_id: request.id }
  })

  app.get('/logs/facets', { config: readOrViewer, schema: { querystring: FacetsInput, response: { 200: FacetsAnswer, ...errorResponses } } }, async (request) => {
    const { input } = scoped(request, request.query)
    return { data: await facetCounts(deps.engine, input, deps.clock()), request_id: request.id }
  })

  app.get('/logs/patterns', { config: readOrViewer, schema: { querystring: PatternsInput, response: { 200: PatternsAnswer, ...errorResponses } } }, async (request) => {
    const { input } = scoped(request, request.query)
    return { data: await messagePatterns(deps.engine, input, deps.clock()), request_id: request.id }
  })

  // Server-Sent Events: the hub (explore/tail.ts) writes the events; this only opens and closes the stream.
  app.get('/logs/tail', { config: readOrViewer, schema: { querystring: TailInput, response: { 200: EventStream, ...errorResponses } } }, async (request, reply) => {
    const { cursor, ...filters } = scoped(request, request.query).input
    const lastEventId = request.headers['last-event-id']
    const limit = deps.config.tail.max_buffered_kb * 1024
    const res = reply.raw
    const tail = deps.tails.open(filters, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : cursor, {
      // Refused only once the consumer left more than the limit unread: one event may exceed it
      // (an entry holds up to 256 KiB of message), the buffer never grows past limit + one event.
      write: (text) => {
        if (res.writableLength > limit) return false
        res.write(text)
        return true
      },
      full: () => res.writableLength > limit,
      end: (last) => res.end(last),
    })
    // The response's close: the client went away (or the stream ended); the request's own close comes once it is read.
    res.on('close', () => tail.close())
    reply.hijack()
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    })
    // How long an EventSource waits before reconnecting, and where it resumes (Last-Event-ID) if
    // the stream drops before the first entry: an id without data moves the last event id only.
    res.write(`retry: 1000\nid: ${tail.cursor}\n\n`)
  })
}
