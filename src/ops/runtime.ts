import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { DataPaths } from '../config/paths.js'
import { recordedProcessAlive, type ProcessRecord } from '../pid.js'
import { LOCAL_ADMIN_PREFIX } from '../api/plugins/auth.js'

/**
 * serve.json: how CLI commands find a running `serve` on the same data dir. It holds a
 * per-process admin token (0600, valid only while that process lives) so commands that need
 * the engine, which chDB lets only one process open, can go through the server instead.
 */
export interface RuntimeInfo extends ProcessRecord {
  url: string
  started_at: string
  version: string
  engine_mode: string
  admin_token: string
}

export const newLocalAdminToken = (): string => LOCAL_ADMIN_PREFIX + randomBytes(24).toString('hex')

/**
 * The running serve of this data dir, or null: a file left by a killed serve is ignored, also
 * when its pid has since been given to an unrelated process.
 */
export const readRuntime = (paths: DataPaths): RuntimeInfo | null => {
  let info: RuntimeInfo
  try {
    info = JSON.parse(readFileSync(paths.runtime, 'utf8')) as RuntimeInfo
  } catch {
    return null
  }
  if (typeof info.pid !== 'number' || info.pid === process.pid || !recordedProcessAlive(info)) return null
  return info
}

export const writeRuntime = (paths: DataPaths, info: RuntimeInfo): void => {
  writeFileSync(paths.runtime, JSON.stringify(info, null, 2), { mode: 0o600 })
}

export const removeRuntime = (paths: DataPaths, pid = process.pid): void => {
  try {
    const info = JSON.parse(readFileSync(paths.runtime, 'utf8')) as RuntimeInfo
    if (info.pid !== pid) return
  } catch {
    return
  }
  rmSync(paths.runtime, { force: true })
}
