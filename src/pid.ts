import { readFileSync } from 'node:fs'

/** True while a process with this pid exists (EPERM: it exists but belongs to someone else). */
export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The command line of a process, arguments joined by spaces. Linux only: undefined elsewhere,
 * so callers that match a leftover pid against it leave the pid alone there.
 */
export const commandLineOf = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return undefined
  }
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined
 * without procfs. Together with the pid it names one process: once that process is gone, a
 * process that is given the same pid again has started later.
 */
export const processStartTime = (pid: number): string | undefined => {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // Field 2 is the command name in parentheses, which may hold spaces and ')' itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return fields[22 - 3]
}

/** A process as serve.json and engine.lock record their writer. */
export interface ProcessRecord {
  pid: number
  /** processStartTime of the writer; absent where there is no procfs and in files of older versions. */
  start_time?: string
}

export const thisProcess = (): ProcessRecord => {
  const startTime = processStartTime(process.pid)
  return startTime === undefined ? { pid: process.pid } : { pid: process.pid, start_time: startTime }
}

/**
 * Whether the process that wrote a serve.json or engine.lock still runs. A pid alone is not
 * enough: after a crash or a reboot the pid may belong to an unrelated process, and a stale
 * file would then block every start. So the pid must still have the recorded start time.
 * A record without one (written by an older version) counts only while the pid runs a
 * krafter-logs command line; without procfs the pid alone decides, as it always did.
 */
export const recordedProcessAlive = (record: ProcessRecord): boolean => {
  if (!pidAlive(record.pid)) return false
  const startTime = processStartTime(record.pid)
  if (startTime === undefined) return true
  if (record.start_time !== undefined) return String(record.start_time) === startTime
  return commandLineOf(record.pid)?.includes('krafter-logs') === true
}
