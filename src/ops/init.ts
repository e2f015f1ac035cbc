import { existsSync } from 'node:fs'
import { identifier, parseConfig, writeConfigFromTemplate, type Config, type EngineMode } from '../config/config.js'
import { dataPaths, resolveDataDir, type DataPaths } from '../config/paths.js'
import { openEngine } from '../engine/engine.js'
import { displayUrl } from '../engine/external.js'
import { downloadClickhouseBinary, locateClickhouseBinary } from '../engine/clickhouse-binary.js'
import { clickhousePaths } from '../engine/managed/layout.js'
import { migrateEngine } from '../engine/schema.js'
import { AppError, errorMessage, UserError } from '../errors.js'
import { makeDirectory } from '../fs/directories.js'
import { openMeta, schemaVersion } from '../meta/db.js'
import { createApiKey, SCOPES } from '../meta/keys.js'
import { createTeam, getDefaultTeam } from '../meta/teams.js'
import type { RunSteps, Step } from './steps.js'
import { assertUnitPathWritable, placeSystemdUnit, renderSystemdUnit, systemdUnitOptions, type SystemdUnitResult } from './systemd.js'

export interface InitOptions {
  dataDir?: string
  host?: string
  port?: number
  engine?: EngineMode
  /** engine.database: the ClickHouse database of the log tables (any mode). */
  database?: string
  /** External mode: the server's HTTP URL, credentials and optional ON CLUSTER name. */
  clickhouseUrl?: string
  clickhouseUser?: string
  clickhousePassword?: string
  cluster?: string
  /** Managed mode: the clickhouse binary to supervise, or download the official build. */
  clickhouseBinary?: string
  clickhouseDownload?: boolean
  /** The SHA-512 the download must have, when the mirror publishes none next to the binary. */
  clickhouseSha512?: string
}

export interface InitResult {
  data_dir: string
  config_path: string
  url: string
  team_api_key: string
  team_api_key_prefix: string
  engine: { mode: EngineMode; version: string; schema_version: number }
  meta_schema_version: number
}

export interface InitialiseOptions extends InitOptions {
  /** Also make a systemd unit that runs serve for the new data dir; written when `write` is set. */
  systemd?: { user?: string; write?: string }
}

/** `error`: the unit could not be written; init itself succeeded and its key must not get lost. */
export type InitialiseResult = InitResult & { systemd?: SystemdUnitResult & { error?: string } }

interface InitState {
  paths: DataPaths
  config: Config
  result: Partial<InitResult>
}

export const serverUrl = (config: Config): string => {
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${config.server.port}`
}

/**
 * Plans `init` as named steps (the CLI shows them with listr2). Nothing is overwritten: an
 * initialised data dir is refused before any step runs. krafter.yaml is written last, so a
 * data dir without it is one whose init did not finish and may be initialised again.
 */
export const planInit = (options: InitOptions): { steps: Step<InitState>[]; state: InitState } => {
  const paths = dataPaths(resolveDataDir(options.dataDir))
  if (existsSync(paths.config)) {
    throw new UserError(`${paths.root} is already initialised (${paths.config} exists); nothing was changed.`, {
      suggestions: ['Start it with `krafter-logs serve`, or pass --data-dir to initialise another directory.'],
      exitCode: 1,
    })
  }
  const mode = options.engine ?? 'embedded'
  const values = { server: { host: options.host, port: options.port }, engine: engineValues(mode, options) }
  const config = parseConfig(values, 'init flags', {})
  const state: InitState = { paths, config, result: { data_dir: paths.root, config_path: paths.config, url: serverUrl(config) } }

  const steps: Step<InitState>[] = [
    // A server someone else runs is checked before anything is created: a wrong URL, login or
    // version leaves no trace, and the same init can simply be run again.
    ...(mode === 'external'
      ? [
          {
            title: `Connect to ClickHouse at ${displayUrl(config.engine.url ?? '')}`,
            run: async ({ paths: p, config: c }: InitState) => {
              await (await openEngine(c, p)).close()
            },
          },
        ]
      : []),
    // Downloaded into the data dir; krafter.yaml (written last) then names it.
    ...(mode === 'managed' && options.clickhouseDownload
      ? [
          {
            title: 'Download the official ClickHouse build and verify its checksum',
            run: async (s: InitState) => {
              const downloaded = await downloadClickhouseBinary({ destDir: clickhousePaths(s.paths.root).bin, sha512: options.clickhouseSha512 })
              values.engine.clickhouse_binary = downloaded.path
              s.config = parseConfig(values, 'init flags', {})
            },
          },
        ]
      : []),
    {
      title: `Create data directory ${paths.root}`,
      run: async ({ paths: p }) => {
        try {
          for (const dir of [p.root, p.engine, p.backups, p.logs]) await makeDirectory(dir, 'data dir')
        } catch (err) {
          // A path that cannot be a data dir (/proc/x, under a file) is the operator's to fix.
          if (err instanceof AppError && err.code === 'validation_error') {
            throw new UserError(`Cannot use ${p.root} as the data dir: ${err.details?.[0]?.message ?? err.message}`, { exitCode: 2 })
          }
          throw err
        }
      },
    },
    {
      title: 'Create metadata database and the first team API key',
      run: ({ paths: p, result }) => {
        const meta = openMeta(p.meta)
        try {
          const now = new Date()
          const team = getDefaultTeam(meta) ?? createTeam(meta, 'default', now)
          const { key, token } = createApiKey(meta, { teamId: team.id, name: 'init', scopes: [...SCOPES] }, now)
          result.team_api_key = token
          result.team_api_key_prefix = key.prefix
          result.meta_schema_version = schemaVersion(meta)
        } finally {
          meta.close()
        }
      },
    },
    {
      title: `${mode === 'managed' ? 'Start the managed ClickHouse and create' : 'Create'} the log engine schema (${mode}${config.engine.cluster ? ` on cluster ${config.engine.cluster}` : ''})`,
      run: async ({ paths: p, config: c, result }) => {
        const engine = await openEngine(c, p)
        try {
          const schema = await migrateEngine(engine)
          result.engine = { mode, version: engine.version, schema_version: schema }
        } finally {
          await engine.close()
        }
      },
    },
    {
      title: 'Write krafter.yaml',
      run: ({ paths: p }) => {
        writeConfigFromTemplate(p.config, values)
      },
    },
  ]
  return { steps, state }
}

/** The `init` command's work: the data dir, and the systemd unit when one is asked for. */
export const initialise = async (options: InitialiseOptions, runSteps: RunSteps): Promise<InitialiseResult> => {
  const { steps, state } = planInit(options)
  // Unit problems are found before init creates anything: afterwards they could only be
  // reported next to a team API key that must not get lost.
  const unitRequest = options.systemd
  const unit = unitRequest && renderSystemdUnit(systemdUnitOptions({ dataDir: state.paths.root, user: unitRequest.user }))
  if (unitRequest?.write !== undefined) assertUnitPathWritable(unitRequest.write)

  await runSteps(steps, state)
  const result: InitialiseResult = state.result as InitResult
  if (unit !== undefined) {
    try {
      result.systemd = placeSystemdUnit(unit, unitRequest?.write)
    } catch (err) {
      result.systemd = { unit, error: errorMessage(err) }
    }
  }
  return result
}

const EXTERNAL_FLAGS = '--clickhouse-url, --user and --cluster'
const MANAGED_FLAGS = '--clickhouse-binary and --clickhouse-download'

/**
 * The engine section init writes. Flag mistakes are input errors (exit 2) caught here, before
 * anything is created; whether the server is reachable is the first step's business.
 */
const engineValues = (mode: EngineMode, options: InitOptions): Record<string, unknown> => {
  const values: Record<string, unknown> = { mode, database: options.database }
  if (options.database !== undefined && !identifier.safeParse(options.database).success) {
    throw new UserError(`--database ${options.database}: must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*).`, { exitCode: 2 })
  }
  if (options.clickhouseSha512 !== undefined && !options.clickhouseDownload) {
    throw new UserError('--clickhouse-sha512 only applies with --clickhouse-download.', { exitCode: 2 })
  }
  if (options.clickhouseSha512 !== undefined && !/^[0-9a-f]{128}$/i.test(options.clickhouseSha512)) {
    throw new UserError('--clickhouse-sha512 must be the 128 hex digits of a SHA-512.', { exitCode: 2 })
  }
  if (mode !== 'managed' && (options.clickhouseBinary !== undefined || options.clickhouseDownload)) {
    throw new UserError(`${MANAGED_FLAGS} only apply to --engine managed.`, {
      suggestions: ['Add --engine managed to have serve run a local ClickHouse server, or drop those flags.'],
      exitCode: 2,
    })
  }
  if (mode === 'managed') {
    if (options.clickhouseBinary !== undefined && options.clickhouseDownload) {
      throw new UserError('Give either --clickhouse-binary or --clickhouse-download, not both.', { exitCode: 2 })
    }
  }
  if (mode !== 'external') {
    if (options.clickhouseUrl !== undefined || options.clickhouseUser !== undefined || options.cluster !== undefined) {
      throw new UserError(`${EXTERNAL_FLAGS} only apply to --engine external.`, {
        suggestions: ['Add --engine external to use an existing ClickHouse server, or drop those flags.'],
        exitCode: 2,
      })
    }
    // Found now, so that a missing binary stops init before anything is created.
    if (mode === 'managed' && !options.clickhouseDownload) {
      values.clickhouse_binary = locateClickhouseBinary({ flag: options.clickhouseBinary }).path
    }
    return values
  }
  const url = options.clickhouseUrl
  if (url === undefined || url === '') {
    throw new UserError('--engine external needs --clickhouse-url: the HTTP URL of the ClickHouse server.', {
      suggestions: ['e.g. `krafter-logs init --engine external --clickhouse-url http://clickhouse.internal:8123 --user krafter --password …`'],
      exitCode: 2,
    })
  }
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UserError(`--clickhouse-url ${url}: not an http:// or https:// URL.`, {
      suggestions: ['Give the HTTP interface of ClickHouse, e.g. http://127.0.0.1:8123 or https://clickhouse.example.com:8443.'],
      exitCode: 2,
    })
  }
  if (options.cluster !== undefined && !identifier.safeParse(options.cluster).success) {
    throw new UserError(`--cluster ${options.cluster}: must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*).`, { exitCode: 2 })
  }
  return { ...values, url, user: options.clickhouseUser, password: options.clickhousePassword, cluster: options.cluster }
}
