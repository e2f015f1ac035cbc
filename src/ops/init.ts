import { existsSync, mkdirSync } from 'node:fs'
import { parseConfig, writeConfigFromTemplate, type Config, type EngineMode } from '../config/config.js'
import { dataPaths, resolveDataDir, type DataPaths } from '../config/paths.js'
import { openEngine } from '../engine/engine.js'
import { migrateEngine } from '../engine/schema.js'
import { UserError } from '../errors.js'
import { openMeta, schemaVersion } from '../meta/db.js'
import { createApiKey, SCOPES } from '../meta/keys.js'
import { createTeam, getDefaultTeam } from '../meta/teams.js'
import type { Step } from './steps.js'

export interface InitOptions {
  dataDir?: string
  host?: string
  port?: number
  engine?: EngineMode
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
  if (mode !== 'embedded') {
    throw new UserError(`Engine mode "${mode}" is not yet supported by this version.`, {
      suggestions: ['Use --engine embedded (the default).'],
    })
  }
  const values = { server: { host: options.host, port: options.port }, engine: { mode } }
  const config = parseConfig(values, 'init flags', {})
  const state: InitState = { paths, config, result: { data_dir: paths.root, config_path: paths.config, url: serverUrl(config) } }

  const steps: Step<InitState>[] = [
    {
      title: `Create data directory ${paths.root}`,
      run: ({ paths: p }) => {
        for (const dir of [p.root, p.engine, p.backups, p.logs]) mkdirSync(dir, { recursive: true, mode: 0o700 })
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
      title: `Create the log engine schema (${mode})`,
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
