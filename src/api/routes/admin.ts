import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { BackupInput, listBackups, planBackup, runBackup } from '../../backup/backup.js'
import { RetentionInput, runRetention } from '../../logs/retention.js'
import { engineFacts } from '../../ops/status.js'
import type { AppContext } from '../app.js'
import { assertProjectAccess, assertUnlimited } from '../plugins/auth.js'
import { ok } from '../respond.js'
import { audit } from '../audit.js'
// Retention checks its own scope (one project or all of them); the rest acts on the whole team.
import { admin, NoQuery, teamWide } from '../route-config.js'

const body = <S extends z.ZodType>(schema: S) => z.preprocess((v) => v ?? {}, schema)

/**
 * Operations the CLI runs through a running serve (the embedded engine belongs to it), open to
 * admin keys too: retention now, backups, and the engine facts of `status`.
 */
export const adminRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const flushIngest = () => deps.ingest.batcher.drain()

  app.post('/admin/retention/run', { config: admin, schema: { body: body(RetentionInput), querystring: NoQuery } }, async (request) => {
    const { project_id: projectId } = request.body
    const { teamId } = projectId ? assertProjectAccess(request, projectId) : assertUnlimited(request)
    const result = await runRetention({ ...deps, flushIngest }, teamId, request.body, 'api')
    audit(request, deps, 'retention.run', { type: 'retention_run', id: result.run_id }, { dry_run: result.dry_run, project_id: projectId ?? null, entries: result.total_entries })
    return ok(request, result)
  })

  app.post('/admin/backups', { config: teamWide, schema: { body: body(BackupInput), querystring: NoQuery } }, async (request, reply) => {
    const backupDeps = { ...deps, flushIngest: async () => (await flushIngest(), deps.ingest.usage.flush()) }
    const result = await runBackup(backupDeps, planBackup(backupDeps, request.body), 'api')
    audit(request, deps, 'backup.create', { type: 'backup', id: result.path }, { entries: result.manifest.counts.entries, removed: result.removed })
    return reply.status(201).send(ok(request, result))
  })

  app.get('/admin/backups', { config: teamWide, schema: { querystring: NoQuery } }, async (request) => ok(request, listBackups(deps.paths, deps.meta)))

  app.get('/admin/status', { config: teamWide, schema: { querystring: NoQuery } }, async (request) => ok(request, await engineFacts(deps.engine)))
}
