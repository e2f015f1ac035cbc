import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { exportChunks, exportEntries, exportFileName, ExportInput, searchLogs, SearchInput, StatsInput, volumeStats } from '../../logs/search.js'
import type { AppContext } from '../app.js'
import { readRouteHelpers } from './reads.js'
import { errorResponses, ExportFile, SearchAnswer, StatsAnswer } from '../schemas/index.js'
import { read, readOrViewer } from '../route-config.js'

/** Search, volume stats and export (API.md). The project is checked before any engine work. */
export const searchRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { project, scoped } = readRouteHelpers(app, deps)

  const search = async (request: FastifyRequest, given: SearchInput) => {
    const { input } = scoped(request, given)
    const result = await searchLogs(deps.engine, input, deps.clock())
    return { data: result.entries, has_more: result.has_more, cursor: result.cursor, stats: result.stats, request_id: request.id }
  }
  app.get('/logs/search', { config: readOrViewer, schema: { querystring: SearchInput, response: { 200: SearchAnswer, ...errorResponses } } }, (request) => search(request, request.query))
  app.post('/logs/search', { config: readOrViewer, schema: { body: SearchInput, response: { 200: SearchAnswer, ...errorResponses } } }, (request) => search(request, request.body))

  app.get('/logs/stats', { config: readOrViewer, schema: { querystring: StatsInput, response: { 200: StatsAnswer, ...errorResponses } } }, async (request) => {
    const { input } = scoped(request, request.query)
    const { stats, ...data } = await volumeStats(deps.engine, input, deps.clock())
    return { data, stats, request_id: request.id }
  })

  app.get('/logs/export', { config: read, schema: { querystring: ExportInput, response: { 200: ExportFile, ...errorResponses } } }, async (request, reply) => {
    const input = request.query
    const { name } = project(request, input.project_id)
    const now = deps.clock()
    const { entries } = await exportEntries(deps.engine, input, now)
    return reply
      .header('content-type', input.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${exportFileName(name, now, input.format)}"`)
      .header('x-export-count', String(entries.length))
      .send(Readable.from(exportChunks(entries, input.format)))
  })
}
