import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { loadConfig } from '../src/config/config.js'
import { dataPaths } from '../src/config/paths.js'
import { openEngine } from '../src/engine/engine.js'
import { openMeta } from '../src/meta/db.js'
import { insertProject } from '../src/meta/projects.js'
import { getDefaultTeam } from '../src/meta/teams.js'
import { generateEntries } from './search-data.js'

/**
 * `npm run bench:backup`: time `backup create` and `backup restore` (the real CLI, direct mode)
 * on BENCH_ENTRIES generated entries (default 1,000,000) of the search bench's shape.
 */
const COUNT = Number(process.env.BENCH_ENTRIES ?? 1_000_000)
const BIN = path.resolve('bin/run.js')
const work = mkdtempSync(path.join(os.tmpdir(), 'krafter-bench-backup-'))
const source = path.join(work, 'source')
const target = path.join(work, 'target')
const run = (home: string, ...args: string[]) => execa('node', [BIN, ...args, '--json'], { env: { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' } })

try {
  await run(source, 'init', '--port', '0')
  const paths = dataPaths(source)
  const meta = openMeta(paths.meta)
  const { project } = insertProject(meta, getDefaultTeam(meta)!.id, { name: 'bench', retention_days: 30, daily_limit_mb: 100_000 }, new Date())
  meta.close()
  const engine = await openEngine(loadConfig(paths.config), paths)
  await generateEntries(engine, project.id, COUNT, 7, Date.now() - 86_400_000)
  await engine.close()

  let started = performance.now()
  const created = JSON.parse((await run(source, 'backup', 'create')).stdout)
  const backupMs = performance.now() - started
  const bytes = created.manifest.files.reduce((n: number, f: { bytes: number }) => n + f.bytes, 0)
  started = performance.now()
  const restored = JSON.parse((await run(target, 'backup', 'restore', created.path)).stdout)
  const restoreMs = performance.now() - started
  console.log(`entries: ${COUNT.toLocaleString('en-US')}`)
  console.log(`backup create: ${(backupMs / 1000).toFixed(1)} s, ${(bytes / 1024 / 1024).toFixed(1)} MiB (${created.manifest.files.map((f: { name: string; bytes: number }) => `${f.name} ${(f.bytes / 1024 / 1024).toFixed(1)} MiB`).join(', ')})`)
  console.log(`backup restore: ${(restoreMs / 1000).toFixed(1)} s, ${restored.restored.counts.entries.toLocaleString('en-US')} entries verified`)
  console.log('(both include ~1 s of CLI start-up and the engine opening)')
} finally {
  rmSync(work, { recursive: true, force: true })
}
