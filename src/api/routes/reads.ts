import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../../errors.js'
import { getProject } from '../../logs/projects.js'
import { withFixedFilter } from '../../viewer/filter.js'
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
  /** The project, if the key may read it (403 otherwise, 404 when it does not exist). */
  const project = (request: FastifyRequest, id: string) => {
    const { teamId } = assertProjectAccess(request, id)
    return getProject(deps, teamId, id)
  }
  return {
    project,
    /**
     * The project and the filters a read runs with, for the routes that take viewer tokens
     * (route-config `readOrViewer`). A key's request runs as given. A viewer token reads its
     * own project only (403 for another, as for a key limited to other projects, whether or
     * not it exists) and always with its fixed filter ANDed into the request's `q`
     * (viewer/filter.ts): this is the one place that narrows a viewer's reads.
     */
    scoped: <T extends { project_id: string; q?: string }>(request: FastifyRequest, input: T) => {
      const principal = request.principal
      if (principal?.kind !== 'viewer') return { project: project(request, input.project_id), input, fixedFilter: undefined }
      if (principal.projectId !== input.project_id) throw new AppError('forbidden', 'This viewer token is not allowed to access this project')
      const q = withFixedFilter(principal.q, input.q)
      return {
        project: getProject(deps, principal.teamId, input.project_id),
        input: q === undefined ? input : { ...input, q },
        fixedFilter: principal.q,
      }
    },
  }
}
