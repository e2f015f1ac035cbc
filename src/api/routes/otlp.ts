import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'

/** OTLP/HTTP logs (POST /v1/logs, /otlp/v1/logs): API.md, "Standard ingest protocols". */
export const otlpRoutes = async (_app: FastifyInstance, _deps: AppContext): Promise<void> => {}
