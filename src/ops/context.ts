import type { Config } from '../config/config.js'
import { loadConfig } from '../config/config.js'
import { dataPaths, resolveDataDir, type DataPaths } from '../config/paths.js'
import { UserError } from '../errors.js'
import { openMeta, type MetaDb } from '../meta/db.js'
import { getDefaultTeam, type Team } from '../meta/teams.js'
import { readRuntime, type RuntimeInfo } from './runtime.js'

/** What an ops command needs of an initialised data dir; the engine is opened only on demand. */
export interface OpsContext {
  paths: DataPaths
  config: Config
  meta: MetaDb
  team: Team
  /** The running serve of this data dir, if any: engine work must go through it. */
  runtime: RuntimeInfo | null
  clock: () => Date
  close(): void
}

export const openContext = (dataDirFlag?: string): OpsContext => {
  const paths = dataPaths(resolveDataDir(dataDirFlag))
  const config = loadConfig(paths.config)
  const meta = openMeta(paths.meta)
  const team = getDefaultTeam(meta)
  if (!team) {
    meta.close()
    throw new UserError(`The data dir ${paths.root} has no team: initialisation did not finish.`, {
      suggestions: ['Run `krafter-logs init` on it again.'],
    })
  }
  return {
    paths,
    config,
    meta,
    team,
    runtime: readRuntime(paths),
    clock: () => new Date(),
    close: () => meta.close(),
  }
}
