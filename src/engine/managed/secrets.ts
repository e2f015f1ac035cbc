import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { UserError } from '../../errors.js'
import { CLICKHOUSE_USER, type ClickhousePaths } from './layout.js'

/** The krafter user's password, generated once per data dir, and how a client uses it. */

export interface ClickhouseSecrets {
  user: string
  password: string
}

const parseSecrets = (text: string): ClickhouseSecrets | undefined => {
  try {
    const value = JSON.parse(text) as Partial<ClickhouseSecrets>
    if (typeof value.user === 'string' && value.user !== '' && typeof value.password === 'string' && value.password !== '') {
      return { user: value.user, password: value.password }
    }
  } catch {
    // reported by the callers
  }
  return undefined
}

export const readClickhouseSecrets = (paths: ClickhousePaths): ClickhouseSecrets => {
  let text: string
  try {
    text = readFileSync(paths.secrets, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`No managed engine credentials at ${paths.secrets}.`, {
        suggestions: ['Run `krafter-logs serve` once (it creates them), or `krafter-logs init --engine managed` on a new data dir.'],
      })
    }
    throw err
  }
  const secrets = parseSecrets(text)
  if (secrets === undefined) {
    throw new UserError(`${paths.secrets} is damaged (expected {"user", "password"}).`, {
      suggestions: ['Delete it and restart `krafter-logs serve`: a new password is generated and written into the server config.'],
    })
  }
  return secrets
}

/**
 * The krafter user's password: read from the secrets file, or generated once. It stays the same
 * across restarts so clients built from it keep working while the child is restarted.
 */
export const ensureClickhouseSecrets = (paths: ClickhousePaths): ClickhouseSecrets => {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 })
  const secrets: ClickhouseSecrets = { user: CLICKHOUSE_USER, password: randomBytes(32).toString('base64url') }
  try {
    writeFileSync(paths.secrets, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    return secrets
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  // A copied or restored data dir may have lost the mode; the file is a credential.
  chmodSync(paths.secrets, 0o600)
  return readClickhouseSecrets(paths)
}

export interface ClickhouseConnectionParams {
  url: string
  username: string
  password: string
}

/** What `createClient` of @clickhouse/client needs to reach the managed server. */
export const clickhouseConnectionParams = (options: { httpPort: number; secrets: ClickhouseSecrets }): ClickhouseConnectionParams => ({
  url: `http://127.0.0.1:${options.httpPort}`,
  username: options.secrets.user,
  password: options.secrets.password,
})
