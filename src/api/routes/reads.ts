import type { FastifyInstance, FastifyRequest } from 'fastify'
import { getProject } from '../../logs/projects.js'
import type { AppContext } from '../app.js'
import { assertProjectAccess } from '../plugins/auth.js'

/**
 * What the read routes over a project's entries share (search.ts, explore.ts): their latency in
 * krafter_search_duration_seconds by endpoint (errors included), and the project check that
 * comes before any engine work.
 */
export const readRouteHelpers = (app: FastifyInstance, deps: AppContext) => {
  app.addHook('onResponse', (request, reply, done) => {
    const endpoint = request.routeOptions.url?.split('/').pop() ?? 'unknown'
    deps.metrics.searchSeconds.observe(reply.elapsedTime / 1000, { endpoint })
    done()
  })
  return {
    /** The project, if the key may read it (403 otherwise, 404 when it does not exist). */
    project: (request: FastifyRequest, id: string) => {
      const { teamId } = assertProjectAccess(request, id)
      return getProject(deps, teamId, id)
    },
  }
}
