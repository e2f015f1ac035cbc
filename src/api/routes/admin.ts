import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { BackupInput, listBackups, planBackup, runBackup } from '../../backup/backup.js'
import { RetentionInput, runRetention } from '../../logs/retention.js'
import { engineFacts } from '../../ops/status.js'
import type { AppContext } from '../app.js'
import { assertProjectAccess, assertUnlimited } from '../plugins/auth.js'
import { ok } from '../respond.js'
import { actorOf } from '../audit.js'
import { BackupCreated, BackupListing, EngineStatus, envelope, errorResponses, JobList, RetentionRun } from '../schemas/index.js'
// Retention checks its own scope (one project or all of them); the rest acts on the whole team.
import { admin, NoQuery, teamWide } from '../route-config.js'

const body = <S extends z.ZodType>(schema: S) => z.preprocess((v) => v ?? {}, schema)

/**
 * Operations the CLI runs through a running serve (the embedded engine belongs to it), open to
 * admin keys too: retention now, backups, and the engine facts and background jobs of `status`.
 */
export const adminRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const flushIngest = () => deps.ingest.batcher.drain()

  app.post('/admin/retention/run', { config: admin, schema: { body: body(RetentionInput), querystring: NoQuery, response: { 200: envelope(RetentionRun), ...errorResponses } } }, async (request) => {
    const { project_id: projectId } = request.body
    const { teamId } = projectId ? assertProjectAccess(request, projectId) : assertUnlimited(request)
    const result = await runRetention({ ...deps, flushIngest }, teamId, request.body, 'api', actorOf(request))
    return ok(request, result)
  })

  app.post('/admin/backups', { config: teamWide, schema: { body: body(BackupInput), querystring: NoQuery, response: { 201: envelope(BackupCreated), ...errorResponses } } }, async (request, reply) => {
    const backupDeps = { ...deps, flushIngest: async () => (await flushIngest(), deps.ingest.usage.flush()) }
    const result = await runBackup(backupDeps, planBackup(backupDeps, request.body), 'api', actorOf(request))
    return reply.status(201).send(ok(request, result))
  })

  app.get('/admin/backups', { config: teamWide, schema: { querystring: NoQuery, response: { 200: envelope(z.array(BackupListing)), ...errorResponses } } }, async (request) => ok(request, listBackups(deps.paths, deps.meta)))

  app.get('/admin/status', { config: teamWide, schema: { querystring: NoQuery, response: { 200: envelope(EngineStatus), ...errorResponses } } }, async (request) => ok(request, await engineFacts(deps.engine)))

  app.get('/admin/jobs', { config: teamWide, schema: { querystring: NoQuery, response: { 200: envelope(JobList), ...errorResponses } } }, async (request) => ok(request, deps.jobs?.list() ?? []))
}
