import os from 'node:os'
import path from 'node:path'

/** Every file and folder of a data dir, named in one place. */
export interface DataPaths {
  root: string
  config: string
  meta: string
  engine: string
  backups: string
  logs: string
  /** Ingest spool segments (ingest.commit: spool) and the rows the engine refused from them. */
  spool: string
  /** Written by a running `serve`: pid, url, local admin token (0600). */
  runtime: string
}

export const resolveDataDir = (flag?: string, env: NodeJS.ProcessEnv = process.env): string =>
  path.resolve(flag ?? env.KRAFTER_HOME ?? path.join(os.homedir(), '.krafter-logs'))

export const dataPaths = (root: string): DataPaths => ({
  root,
  config: path.join(root, 'krafter.yaml'),
  meta: path.join(root, 'meta.sqlite'),
  engine: path.join(root, 'engine'),
  backups: path.join(root, 'backups'),
  logs: path.join(root, 'logs'),
  spool: path.join(root, 'spool'),
  runtime: path.join(root, 'serve.json'),
})
