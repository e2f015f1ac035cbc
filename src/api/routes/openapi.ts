import type { FastifyInstance } from 'fastify'
import type { ApiContract } from '../schemas/openapi.js'
import { errorResponses, OpenApiDocument } from '../schemas/index.js'

/** The OpenAPI document: the public contract, so open like healthz (it holds no data). */
export const openApiRoutes = async (app: FastifyInstance, contract: ApiContract): Promise<void> => {
  app.get('/openapi.json', { config: { auth: { kind: 'none' } }, schema: { response: { 200: OpenApiDocument, ...errorResponses } } }, async () => contract.document())
}
