import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

/** The package root: two levels above dist/src (built) or src (tests run the sources). */
export const PACKAGE_ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    try {
      readFileSync(path.join(dir, 'package.json'))
      return dir
    } catch {
      dir = path.dirname(dir)
    }
  }
  throw new Error('package.json not found above ' + fileURLToPath(import.meta.url))
})()

export const VERSION: string = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version

export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates')
