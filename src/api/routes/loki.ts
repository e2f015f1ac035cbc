import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'

/** Loki push (POST /loki/api/v1/push): API.md, "Standard ingest protocols". */
export const lokiRoutes = async (_app: FastifyInstance, _deps: AppContext): Promise<void> => {}
