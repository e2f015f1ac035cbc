import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'

/** Elasticsearch bulk (/es/_bulk, /es/{index}/_bulk, GET /es/): API.md, "Standard ingest protocols". */
export const elasticsearchRoutes = async (_app: FastifyInstance, _deps: AppContext): Promise<void> => {}
