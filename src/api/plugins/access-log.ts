import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * One access-log line per request (method, redacted url, status, time) instead of Fastify's
 * two. Accepted ingest requests log at debug: at thousands a second they would drown
 * everything else (and cost measurable CPU); refused ones, and every other request, at info.
 */
export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else if (reply.statusCode === 202 && request.routeOptions.config.auth?.kind === 'ingest') reply.log.debug(line, 'request')
    else reply.log.info(line, 'request')
  }
}
