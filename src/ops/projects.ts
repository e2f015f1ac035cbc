import { AppError, UserError } from '../errors.js'
import {
  createProject,
  deleteProject,
  listProjects,
  ProjectCreateInput,
  ProjectUpdateInput,
  projectUsage,
  resolveProject,
  RotateTokenInput,
  rotateProjectToken,
  updateProject,
  type ProjectUsage,
  type ProjectView,
  type ProjectWithToken,
} from '../logs/projects.js'
import { allPages } from '../logs/paging.js'
import { CLI_ACTOR } from '../meta/audit.js'
import { parseInput } from '../validation.js'
import { RotatedProjectAnswer } from './answers.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, viaServerOrLocal, type Via } from './engine-access.js'
import { callServer } from './server-client.js'
import { z } from 'zod'

/** A project named on the command line by id or exact name; an unknown one points to `project list`. */
export const projectByRef = (ctx: OpsContext, ref: string): ProjectView => {
  try {
    return resolveProject(ctx, ctx.team.id, ref)
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'not_found') throw err
    throw new UserError(`Project "${ref}" not found: no project has this id or exact name.`, {
      code: 'not_found',
      suggestions: ['`krafter-logs project list` shows the projects (names are exact, ids are UUIDs).'],
    })
  }
}

/** The id of an optional project reference (`--project`), resolved as projectByRef does. */
export const projectIdOf = (ctx: OpsContext, ref: string | undefined): string | undefined =>
  ref === undefined ? undefined : projectByRef(ctx, ref).id

export const allProjects = (ctx: OpsContext): ProjectView[] =>
  allPages((cursor) => listProjects(ctx, ctx.team.id, { limit: 100, cursor }))

/** `project create`: a body as POST /logs/projects takes it. */
export const createProjectNow = (ctx: OpsContext, body: unknown): ProjectWithToken =>
  createProject(ctx, ctx.team.id, parseInput(ProjectCreateInput, body, 'project'), CLI_ACTOR)

/** `project update`: a body as PUT /logs/projects/:id takes it. */
export const updateProjectNow = (ctx: OpsContext, ref: string, body: unknown): ProjectView => {
  const input = parseInput(ProjectUpdateInput, body, 'project')
  return updateProject(ctx, ctx.team.id, projectByRef(ctx, ref).id, input, CLI_ACTOR)
}

export const usageOf = (ctx: OpsContext, ref: string, days: number): ProjectUsage =>
  projectUsage(ctx, ctx.team.id, projectByRef(ctx, ref).id, days)

/**
 * `project delete`: `confirm` sees the project first and throws to stop the deletion. While
 * serve runs it deletes (its engine holds the entries, its batcher may hold some more).
 */
export const deleteProjectNow = async (
  ctx: OpsContext,
  ref: string,
  confirm: (project: ProjectView) => Promise<void>,
): Promise<{ id: string; name: string; deleted: true; via: Via }> => {
  const project = projectByRef(ctx, ref)
  await confirm(project)
  const { via } = await viaServerOrEngine(ctx, {
    server: (runtime) => callServer(runtime, 'DELETE', `/logs/projects/${project.id}`, z.undefined()),
    direct: (engine) => deleteProject({ ...ctx, engine }, ctx.team.id, project.id, CLI_ACTOR),
  })
  return { id: project.id, name: project.name, deleted: true, via }
}

/** `project rotate-token`: through a running serve, so that its token cache drops the old token at once. */
export const rotateTokenNow = async (ctx: OpsContext, ref: string, body: unknown): Promise<ProjectWithToken & { via: Via }> => {
  const input = parseInput(RotateTokenInput, body, 'rotation')
  const id = projectByRef(ctx, ref).id
  const { result, via } = await viaServerOrLocal(ctx, {
    server: (runtime) => callServer(runtime, 'POST', `/logs/projects/${id}/rotate_token`, RotatedProjectAnswer, input),
    local: () => rotateProjectToken(ctx, ctx.team.id, id, input, CLI_ACTOR),
  })
  return { ...result, via }
}
