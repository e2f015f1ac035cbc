import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { UserError } from '../errors.js'
import { recordedProcessAlive, thisProcess, type ProcessRecord } from '../pid.js'

/** The lock's holder: JSON of its ProcessRecord, or (older versions) the bare pid. */
const readHolder = (lockPath: string): ProcessRecord | undefined => {
  let text: string
  try {
    text = readFileSync(lockPath, 'utf8')
  } catch {
    return undefined
  }
  try {
    const record = JSON.parse(text) as Partial<ProcessRecord>
    if (typeof record === 'object' && record !== null && Number.isInteger(record.pid) && record.pid! > 0) {
      return { pid: record.pid!, ...(typeof record.start_time === 'string' ? { start_time: record.start_time } : {}) }
    }
  } catch {
    // not JSON: the older format
  }
  const pid = Number(text.trim())
  return Number.isInteger(pid) && pid > 0 ? { pid } : undefined
}

/**
 * A pid lock around the embedded engine's data. chDB would refuse a second process too, but
 * only after printing its own error to stderr; this lock refuses first, naming the holder.
 * A lock whose holder is gone (killed, or its pid now names an unrelated process) is taken over.
 */
export const acquireEngineLock = (lockPath: string): (() => void) => {
  const content = JSON.stringify(thisProcess())
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, content, { flag: 'wx', mode: 0o600 })
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === content) rmSync(lockPath, { force: true })
        } catch {
          // already gone
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = readHolder(lockPath)
      if (holder && holder.pid !== process.pid && recordedProcessAlive(holder)) {
        throw new UserError(
          `The embedded engine data is in use by another process (pid ${holder.pid}; is \`krafter-logs serve\` running on this data dir?).`,
          { suggestions: ['Stop that process, or run the command while serve runs so it goes through the server.'] },
        )
      }
      rmSync(lockPath, { force: true })
    }
  }
  throw new UserError(`Could not take the engine lock ${lockPath}; another process keeps recreating it.`)
}
