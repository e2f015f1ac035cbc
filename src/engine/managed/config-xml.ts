import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { TEMPLATES_DIR } from '../../version.js'
import type { ClickhouseBinary } from '../clickhouse-binary.js'
import { writePrivateFile, type ClickhousePaths } from './layout.js'
import type { ClickhouseSecrets } from './secrets.js'

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

const xmlText = (value: string): string =>
  value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

export const renderTemplate = (template: string, values: Record<string, string>): string =>
  template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_match, key: string) => {
    const value = values[key]
    if (value === undefined) throw new Error(`ClickHouse template placeholder {{${key}}} has no value`)
    return xmlText(value)
  })

/**
 * Renders templates/clickhouse/{config,users}.xml into the data dir. Rewritten before every
 * start so a changed port or an upgraded template takes effect without a migration.
 */
export const writeClickhouseConfig = (options: {
  paths: ClickhousePaths
  httpPort: number
  tcpPort: number
  secrets: ClickhouseSecrets
}): void => {
  const { paths } = options
  for (const dir of [paths.configDir, paths.data]) mkdirSync(dir, { recursive: true, mode: 0o700 })
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 })
  const template = (name: string): string => readFileSync(path.join(TEMPLATES_DIR, 'clickhouse', name), 'utf8')
  writePrivateFile(
    paths.config,
    renderTemplate(template('config.xml'), {
      LOG_DIR: paths.logs,
      HTTP_PORT: String(options.httpPort),
      TCP_PORT: String(options.tcpPort),
      DATA_DIR: paths.data,
      USERS_CONFIG: paths.users,
    }),
  )
  writePrivateFile(
    paths.users,
    renderTemplate(template('users.xml'), {
      PASSWORD_SHA256: sha256Hex(options.secrets.password),
      DEFAULT_PASSWORD_SHA256: sha256Hex(randomBytes(32).toString('hex')),
    }),
  )
}

export const clickhouseCommandLine = (binary: ClickhouseBinary, paths: ClickhousePaths): { file: string; args: string[] } => ({
  file: binary.path,
  args: [...binary.argsPrefix, `--config-file=${paths.config}`],
})
