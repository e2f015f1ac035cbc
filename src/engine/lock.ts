import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { UserError } from '../errors.js'
import { pidAlive } from '../pid.js'

/**
 * A pid lock around the embedded engine's data. chDB would refuse a second process too, but
 * only after printing its own error to stderr; this lock refuses first, naming the holder.
 * A lock left by a killed process (its pid is gone) is taken over.
 */
export const acquireEngineLock = (lockPath: string): (() => void) => {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx', mode: 0o600 })
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === String(process.pid)) rmSync(lockPath, { force: true })
        } catch {
          // already gone
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10)
      if (Number.isInteger(holder) && holder > 0 && pidAlive(holder) && holder !== process.pid) {
        throw new UserError(
          `The embedded engine data is in use by another process (pid ${holder}; is \`krafter-logs serve\` running on this data dir?).`,
          { suggestions: ['Stop that process, or run the command while serve runs so it goes through the server.'] },
        )
      }
      rmSync(lockPath, { force: true })
    }
  }
  throw new UserError(`Could not take the engine lock ${lockPath}; another process keeps recreating it.`)
}
