/**
 * Writes docs/openapi.json from the routes (npm run openapi). The document comes from a real
 * app over a throwaway data dir, the same build GET /api/v1/openapi.json answers with;
 * test/api/openapi.test.ts fails when the shipped file is stale.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp } from '../src/api/app.js'
import { parseConfig } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine } from '../src/engine/engine.js'
import { openMeta } from '../src/meta/db.js'
import { getDefaultTeam } from '../src/meta/teams.js'
import { planInit } from '../src/ops/init.js'

const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-openapi-'))
try {
  const { steps, state } = planInit({ dataDir: root, port: 0 })
  for (const step of steps) await step.run(state)
  const paths = dataPaths(root)
  const config = parseConfig({}, 'openapi', {})
  const meta = openMeta(paths.meta)
  const engine = await openEngine(config, paths)
  const app = await buildApp({ config, paths, meta, engine, clock: () => new Date(), teamId: getDefaultTeam(meta)!.id })
  await app.ready()
  const out = path.join(import.meta.dirname, '..', 'docs', 'openapi.json')
  writeFileSync(out, `${JSON.stringify(app.contract.document(), null, 2)}\n`)
  await app.close()
  await engine.close()
  meta.close()
  console.log(`Wrote ${path.relative(process.cwd(), out)}`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
