import type { FastifyRequest } from 'fastify'
import type { Page } from '../logs/paging.js'

/** Success envelope of API.md. */
export const ok = <T>(request: FastifyRequest, data: T): { data: T; request_id: string } => ({
  data,
  request_id: request.id,
})

export const okPage = <T>(request: FastifyRequest, page: Page<T>) => ({
  data: page.items,
  has_more: page.has_more,
  cursor: page.cursor,
  request_id: request.id,
})
