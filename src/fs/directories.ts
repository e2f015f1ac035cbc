import { constants } from 'node:fs'
import { access, mkdir, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { AppError, validationError } from '../errors.js'

/** Kernel filesystems: no place for a backup, and where mkdir answers in ways nothing expects. */
const SYSTEM_DIRS = ['/proc', '/sys', '/dev']

const systemDirOf = (dir: string): string | undefined => SYSTEM_DIRS.find((d) => dir === d || dir.startsWith(`${d}/`))

/** What can be checked of a directory path without the filesystem (the API and the CLI share it). */
export const DirectoryPath = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((value, ctx) => {
    const system = systemDirOf(path.resolve(value))
    const problem = value.includes('\0')
      ? 'must not contain a NUL byte'
      : !path.isAbsolute(value)
        ? 'must be an absolute path'
        : system
          ? `must not be under ${system} (a kernel filesystem)`
          : undefined
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOENT: 'the file system refused to create it',
  ENOTDIR: 'a part of it is not a directory',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EINVAL: 'the file system refused the name',
  EEXIST: 'a file is in the way',
}

/** A filesystem refusal caused by the path itself is the caller's 400; anything else (ENOSPC, EIO) stays as it is. */
const asPathError = (err: unknown, field: string, dir: string): unknown => {
  const reason = REASONS[(err as NodeJS.ErrnoException).code ?? '']
  return reason ? validationError(field, `cannot use ${dir}: ${reason}`) : err
}

const statOrMissing = async (p: string) => {
  try {
    return await stat(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw err
  }
}

/**
 * `mkdir -p` that always ends: one stat and at most one mkdir per component of the path, and a
 * writable directory at the end; a path that cannot be one is a validation error naming `field`.
 * Not mkdir({ recursive: true }): Node's takes every ENOENT to mean "the parent is missing", makes
 * the parent and tries again, and under /proc mkdir answers ENOENT while the parent exists, so
 * that loop never ends (inside mkdirSync it froze serve, which then ignored even SIGTERM).
 * A symbolic link into /proc, /sys or /dev is refused like the path itself.
 */
export const makeDirectory = async (dir: string, field: string): Promise<void> => {
  try {
    const missing: string[] = []
    let existing = dir
    let info = await statOrMissing(existing)
    while (!info) {
      missing.unshift(existing)
      const parent = path.dirname(existing)
      if (parent === existing) throw validationError(field, `${dir} has no existing parent directory`)
      existing = parent
      info = await statOrMissing(existing)
    }
    if (!info.isDirectory()) {
      throw validationError(field, existing === dir ? `${dir} is a file, not a directory` : `${existing} is a file, so ${dir} cannot be created`)
    }
    const system = systemDirOf(await realpath(existing))
    if (system) throw validationError(field, `must not be under ${system} (a kernel filesystem; ${existing} leads there)`)
    for (const d of missing) {
      await mkdir(d, { mode: 0o700 }).catch(async (err: NodeJS.ErrnoException) => {
        // Made meanwhile by someone else: fine while it is a directory.
        if (err.code !== 'EEXIST' || !(await stat(d)).isDirectory()) throw err
      })
    }
    await access(dir, constants.W_OK)
  } catch (err) {
    throw err instanceof AppError ? err : asPathError(err, field, dir)
  }
}

/**
 * Makes `parent` and in it a new directory `base`, or `base-2`, `base-3` … when that name is
 * taken (two backups in one second): the mkdir that succeeds owns the name, so two concurrent
 * backups never share a directory.
 */
export const makeFreshDirectory = async (parent: string, base: string, field: string): Promise<string> => {
  await makeDirectory(parent, field)
  for (let n = 1; n <= 1000; n++) {
    const dir = path.join(parent, n === 1 ? base : `${base}-${n}`)
    try {
      await mkdir(dir, { mode: 0o700 })
      return dir
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw asPathError(err, field, dir)
    }
  }
  throw new AppError('conflict', `${parent} already holds 1000 directories named ${base}*`)
}
