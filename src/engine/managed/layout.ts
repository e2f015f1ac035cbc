import { renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { dataPaths } from '../../config/paths.js'

/** Where the managed server keeps its files, under the data dir. */
export interface ClickhousePaths {
  /** <data dir>/clickhouse */
  root: string
  /** Where `init --clickhouse-download` puts the binary. */
  bin: string
  /** Rendered config.xml and users.xml (0700: users.xml holds the password hash). */
  configDir: string
  config: string
  users: string
  /** The server's `path`: tables, metadata, tmp, user_files, format_schemas. */
  data: string
  /** The krafter user's password, 0600. */
  secrets: string
  /** Pid of the child, to find it again after serve itself was killed. */
  pidFile: string
  /** <data dir>/logs/clickhouse: the server's own logs and the child's stdout/stderr. */
  logs: string
  serverLog: string
  errorLog: string
  stdoutLog: string
  stderrLog: string
}

export const clickhousePaths = (dataDir: string): ClickhousePaths => {
  const root = path.join(dataDir, 'clickhouse')
  const configDir = path.join(root, 'config')
  const logs = path.join(dataPaths(dataDir).logs, 'clickhouse')
  return {
    root,
    bin: path.join(root, 'bin'),
    configDir,
    config: path.join(configDir, 'config.xml'),
    users: path.join(configDir, 'users.xml'),
    data: path.join(root, 'data'),
    secrets: path.join(root, 'secrets.json'),
    pidFile: path.join(root, 'server.pid'),
    logs,
    serverLog: path.join(logs, 'clickhouse-server.log'),
    errorLog: path.join(logs, 'clickhouse-server.err.log'),
    stdoutLog: path.join(logs, 'stdout.log'),
    stderrLog: path.join(logs, 'stderr.log'),
  }
}

/** The user serve connects as; `default` is locked (see templates/clickhouse/users.xml). */
export const CLICKHOUSE_USER = 'krafter'

/** Away from ClickHouse's own 8123/9000, so a system server on the same machine does not clash. */
export const DEFAULT_HTTP_PORT = 18123
export const DEFAULT_TCP_PORT = 19000

/** Written whole or not at all, readable by this user only. */
export const writePrivateFile = (file: string, text: string): void => {
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, text, { mode: 0o600 })
  renameSync(temp, file)
}
