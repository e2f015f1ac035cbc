import { z } from 'zod'
import type { Engine } from '../engine/engine.js'
import { AppError, notFound } from '../errors.js'
import { recordAction, type Actor } from '../meta/audit.js'
import type { MetaDb } from '../meta/db.js'
import { revokeProjectTokens } from '../meta/ingest-tokens.js'
import * as repo from '../meta/projects.js'
import { listStreams, type Stream } from '../meta/streams.js'
import { usageForDays, type UsageDay } from '../meta/usage.js'
import { deleteProjectEntries } from './entries.js'
import { decodeCursor, pageOf, textKey, type Page } from './paging.js'

export interface ProjectDeps {
  meta: MetaDb
  clock: () => Date
}

export const PROJECT_DEFAULTS = { retention_days: 7, daily_limit_mb: 500 } as const

const name = z.string().trim().min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters')
const description = z.string().max(1000, 'must be at most 1000 characters').nullable()
const retentionDays = z
  .number({ error: 'must be an integer from 1 to 90' })
  .int('must be an integer from 1 to 90')
  .min(1, 'must be an integer from 1 to 90')
  .max(90, 'must be an integer from 1 to 90')
const dailyLimitMb = z
  .number({ error: 'must be an integer greater than 0' })
  .int('must be an integer greater than 0')
  .positive('must be an integer greater than 0')
  .max(10_000_000, 'must be at most 10000000')

export const ProjectCreateInput = z
  .object({
    name,
    description: description.optional(),
    retention_days: retentionDays.default(PROJECT_DEFAULTS.retention_days),
    daily_limit_mb: dailyLimitMb.default(PROJECT_DEFAULTS.daily_limit_mb),
  })
  .strict()
export type ProjectCreateInput = z.infer<typeof ProjectCreateInput>

export const ProjectUpdateInput = z
  .object({
    name: name.optional(),
    description: description.optional(),
    retention_days: retentionDays.optional(),
    daily_limit_mb: dailyLimitMb.optional(),
  })
  .strict()
export type ProjectUpdateInput = z.infer<typeof ProjectUpdateInput>

export const RotateTokenInput = z
  .object({
    grace_seconds: z
      .number({ error: 'must be an integer from 0 to 86400' })
      .int('must be an integer from 0 to 86400')
      .min(0, 'must be an integer from 0 to 86400')
      .max(86_400, 'must be an integer from 0 to 86400')
      .default(0),
  })
  .strict()
export type RotateTokenInput = z.infer<typeof RotateTokenInput>

/** The public shape of a project (seed 004): no team id, never the full token. */
export type ProjectView = Omit<repo.Project, 'team_id'>

export type ProjectWithToken = ProjectView & { ingest_token: string }

export const presentProject = (p: repo.Project): ProjectView => ({
  id: p.id,
  name: p.name,
  description: p.description,
  retention_days: p.retention_days,
  daily_limit_mb: p.daily_limit_mb,
  ingest_token_prefix: p.ingest_token_prefix,
  created_at: p.created_at,
  updated_at: p.updated_at,
})

const nameTaken = (projectName: string): AppError =>
  new AppError('conflict', `A project named "${projectName}" already exists`, {
    details: [{ field: 'name', message: 'is already taken by another project of this team' }],
  })

const requireProject = (deps: ProjectDeps, teamId: string, id: string): repo.Project => {
  const project = repo.getProject(deps.meta, teamId, id)
  if (!project) throw notFound('Project')
  return project
}

export const createProject = (deps: ProjectDeps, teamId: string, input: ProjectCreateInput, by: Actor): ProjectWithToken => {
  try {
    const { project, ingestToken } = repo.insertProject(deps.meta, teamId, input, deps.clock())
    recordAction(deps, by, teamId, 'project.create', { type: 'project', id: project.id }, { name: project.name })
    return { ...presentProject(project), ingest_token: ingestToken }
  } catch (err) {
    if (err instanceof repo.NameTakenError) throw nameTaken(input.name)
    throw err
  }
}

export const getProject = (deps: ProjectDeps, teamId: string, id: string): ProjectView =>
  presentProject(requireProject(deps, teamId, id))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A project named by id or by exact name (the CLI accepts either). */
export const resolveProject = (deps: ProjectDeps, teamId: string, ref: string): ProjectView => {
  const project = (UUID.test(ref) ? repo.getProject(deps.meta, teamId, ref.toLowerCase()) : undefined) ??
    repo.findProjectByName(deps.meta, teamId, ref)
  if (!project) throw notFound(`Project "${ref}"`)
  return presentProject(project)
}

export const listProjects = (
  deps: ProjectDeps,
  teamId: string,
  options: { limit: number; cursor?: string; projectIds?: string[] | null },
): Page<ProjectView> => {
  const after = options.cursor ? decodeCursor(options.cursor, textKey('created_at', 'id')) : undefined
  const rows = repo.listProjects(deps.meta, teamId, { limit: options.limit + 1, after, projectIds: options.projectIds })
  return pageOf(rows, options.limit, (last) => ({ created_at: last.created_at, id: last.id }), presentProject)
}

export const updateProject = (deps: ProjectDeps, teamId: string, id: string, input: ProjectUpdateInput, by: Actor): ProjectView => {
  try {
    const project = repo.updateProjectRow(deps.meta, teamId, id, input, deps.clock())
    if (!project) throw notFound('Project')
    recordAction(deps, by, teamId, 'project.update', { type: 'project', id }, { changes: input })
    return presentProject(project)
  } catch (err) {
    if (err instanceof repo.NameTakenError) throw nameTaken(String(input.name))
    throw err
  }
}

/**
 * Deletes a project with its log entries. Tokens are revoked first so nothing new arrives,
 * then the entries go from the engine, then the metadata (streams, usage, tokens cascade).
 * If the engine is down the call fails with 503 and the project stays, to be deleted again.
 */
export const deleteProject = async (
  deps: ProjectDeps & { engine: Engine; flushIngest?: () => Promise<void> },
  teamId: string,
  id: string,
  by: Actor,
): Promise<void> => {
  requireProject(deps, teamId, id)
  revokeProjectTokens(deps.meta, id, deps.clock())
  // Entries accepted just before the revocation may still be queued for the engine.
  await deps.flushIngest?.()
  await deleteProjectEntries(deps.engine, id)
  repo.deleteProjectRow(deps.meta, teamId, id)
  recordAction(deps, by, teamId, 'project.delete', { type: 'project', id })
}

export const rotateProjectToken = (
  deps: ProjectDeps,
  teamId: string,
  id: string,
  input: RotateTokenInput,
  by: Actor,
): ProjectWithToken => {
  const result = repo.rotateIngestToken(deps.meta, teamId, id, input.grace_seconds, deps.clock())
  if (!result) throw notFound('Project')
  recordAction(deps, by, teamId, 'project.rotate_token', { type: 'project', id }, { grace_seconds: input.grace_seconds, ingest_token_prefix: result.project.ingest_token_prefix })
  return { ...presentProject(result.project), ingest_token: result.ingestToken }
}

export const projectStreams = (deps: ProjectDeps, teamId: string, id: string): Stream[] => {
  requireProject(deps, teamId, id)
  return listStreams(deps.meta, id)
}

export interface ProjectUsage {
  project_id: string
  daily_limit_mb: number
  daily_limit_bytes: number
  today: UsageDay & { percent_of_limit: number }
  days: UsageDay[]
}

export const projectUsage = (deps: ProjectDeps, teamId: string, id: string, days: number): ProjectUsage => {
  const project = requireProject(deps, teamId, id)
  const history = usageForDays(deps.meta, id, deps.clock(), days)
  const limitBytes = project.daily_limit_mb * 1024 * 1024
  const today = history[0]!
  return {
    project_id: id,
    daily_limit_mb: project.daily_limit_mb,
    daily_limit_bytes: limitBytes,
    today: { ...today, percent_of_limit: Math.round((today.bytes_in / limitBytes) * 10_000) / 100 },
    days: history,
  }
}
