import { closeSync, openSync, readSync, statSync } from 'node:fs'

/** Bytes in `file`, 0 when it does not exist yet. */
export const fileSize = (file: string): number => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

/** The last `lines` non-empty lines `file` gained after `offset` (at most its last 64 KiB). */
export const tailSince = (file: string, offset: number, lines: number): string[] => {
  try {
    const size = fileSize(file)
    const from = Math.max(offset, size - 64 * 1024)
    const buffer = Buffer.alloc(Math.max(0, size - from))
    const fd = openSync(file, 'r')
    try {
      readSync(fd, buffer, 0, buffer.length, from)
    } finally {
      closeSync(fd)
    }
    return buffer.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines)
  } catch {
    return []
  }
}
