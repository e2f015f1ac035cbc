import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { chmod, copyFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import Database from 'better-sqlite3'
import { z } from 'zod'
import type { DataPaths } from '../config/paths.js'
import type { Engine } from '../engine/engine.js'
import { engineCall } from '../engine/engine.js'
import { engineSchemaVersion, logDeleteTarget, logTable, migrateEngine } from '../engine/schema.js'
import { errorMessage, UserError } from '../errors.js'
import type { MetaDb } from '../meta/db.js'
import { openMeta } from '../meta/db.js'
import { listRuns, recordRun } from '../meta/ops-runs.js'
import { recordAction, type Actor } from '../meta/audit.js'
import { getDefaultTeam } from '../meta/teams.js'
import type { Step } from '../ops/steps.js'
import { VERSION } from '../version.js'
import { DirectoryPath, makeDirectory, makeFreshDirectory } from '../fs/directories.js'

export const BackupInput = z
  .object({
    /** Directory that receives the backup directory; default <data dir>/backups. */
    out: DirectoryPath.optional(),
    /** After a successful backup, keep only the newest N backups of that directory. */
    keep: z.number({ error: 'must be an integer ≥ 1' }).int('must be an integer ≥ 1').min(1, 'must be an integer ≥ 1').max(10_000).optional(),
  })
  .strict()
export type BackupInput = z.infer<typeof BackupInput>

export const MANIFEST = 'manifest.json'
const META_FILE = 'meta.sqlite'
const CONFIG_FILE = 'krafter.yaml'

/** Metadata tables whose row counts a restore must reproduce. */
const COUNTED_TABLES = ['teams', 'api_keys', 'projects', 'ingest_tokens', 'streams', 'alert_rules', 'alert_events', 'usage_daily'] as const

export interface Manifest {
  format: 1
  product: 'krafter-logs'
  version: string
  created_at: string
  meta_schema_version: number
  engine: {
    mode: string
    version: string
    database: string
    schema_version: number
    columns: string[]
    /** `name Type, …` of the dump: a Native file without rows carries no structure of its own. */
    structure: string
  }
  /** Entries received up to this time are in the backup (later ones arrived during it). */
  entries_received_until: string
  counts: Record<(typeof COUNTED_TABLES)[number], number> & { entries: number }
  entries_by_project: Record<string, number>
  files: { name: string; bytes: number; sha256: string }[]
}

export interface BackupDeps {
  meta: MetaDb
  engine: Engine
  paths: DataPaths
  clock: () => Date
  flushIngest?: () => Promise<void>
}

export interface BackupResult {
  path: string
  manifest: Manifest
  /** Older backups removed by `keep`. */
  removed: string[]
}

const sha256File = async (file: string): Promise<string> => {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')

/** The embedded engine reads and writes files itself (zstd by extension); servers stream through the client. */
const dumpFileName = (engine: Engine): string => (engine.mode === 'embedded' ? 'log_entries.native.zst' : 'log_entries.native.gz')

const ident = (name: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`unexpected column name ${name}`)
  return `\`${name}\``
}

/**
 * The stored columns a dump holds. Computed ones (MATERIALIZED, e.g. message_template) are left
 * out: the engine refuses them on insert and computes them again when the dump is restored.
 */
const logColumns = async (engine: Engine): Promise<{ columns: string[]; structure: string }> => {
  const rs = await engineCall(() =>
    engine.client.query({
      query: "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY position",
      query_params: { db: engine.database, t: 'log_entries' },
      format: 'JSONEachRow',
    }),
  )
  const rows = await rs.json<{ name: string; type: string }>()
  return { columns: rows.map((r) => r.name), structure: rows.map((r) => `${ident(r.name)} ${r.type}`).join(', ') }
}

const countsOf = (db: Database.Database): Manifest['counts'] => {
  const counts = { entries: 0 } as Manifest['counts']
  for (const table of COUNTED_TABLES) counts[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  return counts
}

const entriesByProject = async (engine: Engine, where: string, params: Record<string, unknown>): Promise<Record<string, number>> => {
  const rs = await engineCall(() =>
    engine.client.query({
      query: `SELECT toString(project_id) AS p, count() AS n FROM ${logTable(engine)} WHERE ${where} GROUP BY p`,
      query_params: params,
      format: 'JSONEachRow',
    }),
  )
  return Object.fromEntries((await rs.json<{ p: string; n: string | number }>()).map((r) => [r.p, Number(r.n)]))
}

interface BackupState {
  /** Set by runBackup once it has made the directory. */
  dir: string
  parent: string
  name: string
  startedAt: Date
  manifest: Partial<Manifest>
  removed: string[]
}

/**
 * A consistent backup as named steps (the CLI shows them with listr2; serve runs them in turn):
 * SQLite through its online backup API, then the entries of exactly the projects in that copy,
 * received up to the start time, in ClickHouse's Native format, then krafter.yaml and a
 * manifest with counts and SHA-256 checksums.
 */
export const planBackup = (deps: BackupDeps, input: BackupInput): { steps: Step<BackupState>[]; state: BackupState } => {
  const startedAt = deps.clock()
  const parent = path.resolve(input.out ?? deps.paths.backups)
  // Named by the start time so names sort by time; runBackup makes the directory (a second one in that second gets -2).
  const state: BackupState = { dir: '', parent, name: `krafter-backup-${stamp(startedAt)}`, startedAt, manifest: {}, removed: [] }
  let projectIds: string[] = []
  const steps: Step<BackupState>[] = [
    {
      title: 'Copy the metadata (SQLite online backup)',
      run: async (s) => {
        const metaCopy = path.join(s.dir, META_FILE)
        await deps.flushIngest?.()
        await deps.meta.backup(metaCopy)
        await chmod(metaCopy, 0o600)
        // The copy keeps WAL mode from the source: switch it back to one self-contained file.
        const copy = new Database(metaCopy)
        try {
          copy.pragma('journal_mode = DELETE')
          s.manifest.counts = countsOf(copy)
          s.manifest.meta_schema_version = copy.pragma('user_version', { simple: true }) as number
          projectIds = (copy.prepare('SELECT id FROM projects').all() as { id: string }[]).map((r) => r.id)
        } finally {
          copy.close()
        }
      },
    },
    {
      title: 'Dump the log entries',
      run: async (s) => {
        const { engine } = deps
        const where = `project_id IN {ids:Array(UUID)} AND received_at <= fromUnixTimestamp64Micro({until:Int64}, 'UTC')`
        const params = { ids: projectIds, until: startedAt.getTime() * 1000 }
        const byProject = await entriesByProject(engine, where, params)
        const { columns, structure } = await logColumns(engine)
        const file = path.join(s.dir, dumpFileName(engine))
        const select = `SELECT ${columns.map(ident).join(', ')} FROM ${logTable(engine)} WHERE ${where}`
        if (engine.mode === 'embedded') {
          await engineCall(() =>
            engine.client.command({ query: `INSERT INTO FUNCTION file({file:String}, 'Native') ${select}`, query_params: { ...params, file } }),
          )
        } else {
          const result = await engineCall(() => engine.client.exec({ query: `${select} FORMAT Native`, query_params: params }))
          await pipeline(result.stream, createGzip({ level: 1 }), createWriteStream(file, { mode: 0o600 }))
        }
        const total = Object.values(byProject).reduce((a, b) => a + b, 0)
        if (engine.mode === 'embedded') {
          const dumped = await countDump(engine, file, structure)
          if (dumped !== total) throw new Error(`the dump holds ${dumped} entries, the engine counted ${total}`)
        }
        s.manifest.counts!.entries = total
        s.manifest.entries_by_project = byProject
        s.manifest.entries_received_until = startedAt.toISOString()
        s.manifest.engine = {
          mode: engine.mode,
          version: engine.version,
          database: engine.database,
          schema_version: await engineSchemaVersion(engine),
          columns,
          structure,
        }
      },
    },
    {
      title: 'Write the manifest with checksums',
      run: async (s) => {
        if (existsSync(deps.paths.config)) {
          await copyFile(deps.paths.config, path.join(s.dir, CONFIG_FILE))
          await chmod(path.join(s.dir, CONFIG_FILE), 0o600)
        }
        const files = []
        for (const name of (await readdir(s.dir)).sort()) {
          const file = path.join(s.dir, name)
          files.push({ name, bytes: (await stat(file)).size, sha256: await sha256File(file) })
        }
        const manifest: Manifest = {
          format: 1,
          product: 'krafter-logs',
          version: VERSION,
          created_at: startedAt.toISOString(),
          meta_schema_version: s.manifest.meta_schema_version!,
          engine: s.manifest.engine!,
          entries_received_until: s.manifest.entries_received_until!,
          counts: s.manifest.counts!,
          entries_by_project: s.manifest.entries_by_project!,
          files,
        }
        await writeFile(path.join(s.dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 })
        s.manifest = manifest
      },
    },
  ]
  if (input.keep !== undefined) {
    steps.push({
      title: `Keep the newest ${input.keep} backups`,
      run: async (s) => {
        const backups = scanBackups(parent).filter((b) => b.manifest)
        for (const old of backups.slice(input.keep)) {
          await rm(old.path, { recursive: true, force: true })
          s.removed.push(old.path)
        }
      },
    })
  }
  return { steps, state }
}

const countDump = async (engine: Engine, file: string, structure: string): Promise<number> => {
  const rs = await engine.client.query({
    query: "SELECT count() AS n FROM file({file:String}, 'Native', {structure:String})",
    query_params: { file, structure },
    format: 'JSONEachRow',
  })
  return Number((await rs.json<{ n: string | number }>())[0]?.n ?? 0)
}

/**
 * Runs a planned backup, records it (ops_runs), and cleans up a half-written one on failure.
 * An unusable target directory is a validation error (`out`) before anything is written.
 */
export const runBackup = async (
  deps: BackupDeps,
  plan: ReturnType<typeof planBackup>,
  trigger: string,
  by: Actor,
  runSteps: (steps: Step<BackupState>[], state: BackupState) => Promise<void> = async (steps, state) => {
    for (const step of steps) await step.run(state)
  },
): Promise<BackupResult> => {
  const { state } = plan
  state.dir = await makeFreshDirectory(state.parent, state.name, 'out')
  try {
    await runSteps(plan.steps, state)
  } catch (err) {
    await rm(state.dir, { recursive: true, force: true })
    recordRun(deps.meta, { kind: 'backup', trigger, startedAt: state.startedAt, finishedAt: deps.clock(), error: errorMessage(err) })
    throw err
  }
  const manifest = state.manifest as Manifest
  recordRun(deps.meta, {
    kind: 'backup',
    trigger,
    startedAt: state.startedAt,
    finishedAt: deps.clock(),
    summary: { path: state.dir, entries: manifest.counts.entries, bytes: manifest.files.reduce((n, f) => n + f.bytes, 0) },
  })
  const team = getDefaultTeam(deps.meta)
  if (team) recordAction(deps, by, team.id, 'backup.create', { type: 'backup', id: state.dir }, { entries: manifest.counts.entries, removed: state.removed })
  return { path: state.dir, manifest, removed: state.removed }
}

// ---- list -------------------------------------------------------------------------------

export interface BackupInfo {
  path: string
  created_at: string | null
  version: string | null
  entries: number | null
  projects: number | null
  bytes: number
  /** null when the directory has no readable manifest (an interrupted or foreign backup). */
  manifest: Manifest | null
}

const readManifestIn = (dir: string): Manifest | null => {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest
    return m.product === 'krafter-logs' && m.format === 1 ? m : null
  } catch {
    return null
  }
}

const infoOf = (dir: string): BackupInfo => {
  const manifest = readManifestIn(dir)
  return {
    path: dir,
    created_at: manifest?.created_at ?? null,
    version: manifest?.version ?? null,
    entries: manifest?.counts.entries ?? null,
    projects: manifest?.counts.projects ?? null,
    bytes: manifest ? manifest.files.reduce((n, f) => n + f.bytes, 0) : 0,
    manifest,
  }
}

/** Backup directories in `parent`, newest first. */
const scanBackups = (parent: string): BackupInfo[] => {
  if (!existsSync(parent)) return []
  return readdirSync(parent, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith('krafter-backup-'))
    .map((d) => infoOf(path.join(parent, d.name)))
    .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? '') || b.path.localeCompare(a.path))
}

/** Backups in the data dir's backups/ plus those written elsewhere with --out (from the run history). */
export const listBackups = (paths: DataPaths, meta: MetaDb): BackupInfo[] => {
  const seen = new Map(scanBackups(paths.backups).map((b) => [b.path, b]))
  for (const run of listRuns<{ path: string }>(meta, 'backup')) {
    const dir = run.summary?.path
    if (run.ok && dir && !seen.has(dir) && existsSync(dir)) seen.set(dir, infoOf(dir))
  }
  return [...seen.values()].sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''))
}

// ---- restore ----------------------------------------------------------------------------

export interface RestoreState {
  manifest?: Manifest
  engine?: Engine
  restored?: { counts: Manifest['counts']; entries_by_project: Record<string, number> }
}

/** Reads the manifest and checks every file against its size and SHA-256. */
export const verifyBackup = async (dir: string): Promise<Manifest> => {
  const manifest = readManifestIn(dir)
  if (!manifest) throw new UserError(`${dir} is not a Krafter Logs backup (no readable ${MANIFEST}).`)
  for (const f of manifest.files) {
    const file = path.join(dir, f.name)
    if (!existsSync(file)) throw new UserError(`The backup is incomplete: ${f.name} is missing.`)
    if (statSync(file).size !== f.bytes || (await sha256File(file)) !== f.sha256) {
      throw new UserError(`The backup is damaged: ${f.name} does not match its checksum in the manifest.`)
    }
  }
  return manifest
}

/**
 * Restores a backup into a stopped instance as named steps: verify the files, put back the
 * metadata (and krafter.yaml when the data dir has none), replace the log entries, then check
 * every count against the manifest. `openEngine` opens the target's engine after the config
 * is in place; the metadata is migrated to this version's schema when the backup is older.
 */
export const planRestore = (options: {
  dir: string
  paths: DataPaths
  force: boolean
  openEngine: () => Promise<Engine>
}): { steps: Step<RestoreState>[]; state: RestoreState } => {
  const dir = path.resolve(options.dir)
  const { paths } = options
  if (existsSync(paths.meta) && !options.force) {
    throw new UserError(`${paths.root} already holds data (${paths.meta}); a restore replaces it.`, {
      suggestions: ['Pass --force to replace it, or restore into another --data-dir.'],
    })
  }
  const state: RestoreState = {}
  const steps: Step<RestoreState>[] = [
    {
      title: `Verify ${dir}`,
      run: async (s) => {
        s.manifest = await verifyBackup(dir)
        if (s.manifest.meta_schema_version > 1000 || s.manifest.engine.schema_version > 1000) {
          throw new UserError('The backup comes from a newer Krafter Logs; upgrade before restoring it.')
        }
      },
    },
    {
      title: 'Restore the metadata',
      run: async (s) => {
        for (const d of [paths.root, paths.engine, paths.backups, paths.logs]) await makeDirectory(d, 'data-dir')
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${paths.meta}${suffix}`, { force: true })
        copyFileSync(path.join(dir, META_FILE), paths.meta)
        chmodSync(paths.meta, 0o600)
        if (!existsSync(paths.config) && s.manifest!.files.some((f) => f.name === CONFIG_FILE)) {
          copyFileSync(path.join(dir, CONFIG_FILE), paths.config)
          chmodSync(paths.config, 0o600)
        }
        openMeta(paths.meta).close()
      },
    },
    {
      title: 'Restore the log entries',
      run: async (s) => {
        const manifest = s.manifest!
        const engine = await options.openEngine()
        s.engine = engine
        await migrateEngine(engine)
        const { table, onCluster } = logDeleteTarget(engine)
        await engineCall(() => engine.client.command({ query: `TRUNCATE TABLE ${table} ${onCluster}` }))
        const dump = manifest.files.find((f) => f.name.startsWith('log_entries.native'))
        if (!dump) throw new UserError('The backup has no log entries file.')
        const file = path.join(dir, dump.name)
        const columns = manifest.engine.columns.map(ident).join(', ')
        if (engine.mode === 'embedded' && dump.name.endsWith('.zst')) {
          await engineCall(() =>
            engine.client.command({
              query: `INSERT INTO ${logTable(engine)} (${columns}) SELECT * FROM file({file:String}, 'Native', {structure:String})`,
              query_params: { file, structure: manifest.engine.structure },
            }),
          )
        } else if (engine.mode !== 'embedded' && dump.name.endsWith('.gz')) {
          await engineCall(() =>
            engine.client.exec({
              query: `INSERT INTO ${logTable(engine)} (${columns}) FORMAT Native`,
              values: createReadStream(file).pipe(createGunzip()),
            }),
          )
        } else {
          throw new UserError(`This backup was made by the ${manifest.engine.mode} engine; restoring it into the ${engine.mode} engine is not supported.`)
        }
      },
    },
    {
      title: 'Check the counts against the manifest',
      run: async (s) => {
        const manifest = s.manifest!
        const meta = new Database(paths.meta, { readonly: true })
        let counts: Manifest['counts']
        try {
          counts = countsOf(meta)
        } finally {
          meta.close()
        }
        const byProject = await entriesByProject(s.engine!, '1', {})
        counts.entries = Object.values(byProject).reduce((a, b) => a + b, 0)
        const wrong = [
          ...COUNTED_TABLES.filter((t) => counts[t] !== manifest.counts[t]).map((t) => `${t}: ${counts[t]} instead of ${manifest.counts[t]}`),
          ...(counts.entries !== manifest.counts.entries ? [`entries: ${counts.entries} instead of ${manifest.counts.entries}`] : []),
        ]
        if (wrong.length > 0) throw new UserError(`The restored data does not match the manifest: ${wrong.join('; ')}`)
        s.restored = { counts, entries_by_project: byProject }
      },
    },
  ]
  return { steps, state }
}

export const restoreRecorded = (paths: DataPaths, manifest: Manifest, dir: string, startedAt: Date, finishedAt: Date, by: Actor): void => {
  const meta = openMeta(paths.meta)
  try {
    recordRun(meta, { kind: 'restore', trigger: 'cli', startedAt, finishedAt, summary: { path: dir, entries: manifest.counts.entries, backup_created_at: manifest.created_at } })
    const team = getDefaultTeam(meta)
    if (team) {
      recordAction({ meta, clock: () => finishedAt }, by, team.id, 'backup.restore', { type: 'backup', id: dir }, { entries: manifest.counts.entries, backup_created_at: manifest.created_at })
    }
  } finally {
    meta.close()
  }
}

