import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { DataPaths } from '../config/paths.js'
import { AppError, type ErrorCode } from '../errors.js'
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

/** Calls the running server's API as the local admin; API errors come back as AppErrors. */
export const callServer = async <T>(
  runtime: RuntimeInfo,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; data: T | undefined }> => {
  let response: Response
  try {
    response = await fetch(new URL(`/api/v1${path}`, runtime.url), {
      method,
      headers: {
        authorization: `Bearer ${runtime.admin_token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    })
  } catch (err) {
    throw new AppError('engine_unavailable', `Could not reach the running server at ${runtime.url}: ${(err as Error).message}`)
  }
  if (response.status === 204) return { status: 204, data: undefined }
  const payload = (await response.json().catch(() => ({}))) as {
    data?: T
    error?: { code: ErrorCode; message: string; details?: { field: string; message: string }[] }
  }
  if (!response.ok) {
    const error = payload.error ?? { code: 'internal_error' as const, message: `HTTP ${response.status}` }
    throw new AppError(error.code, error.message, { details: error.details })
  }
  return { status: response.status, data: payload.data }
}
