import { accessSync, chmodSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { dataPaths, resolveDataDir } from '../config/paths.js'
import { UserError } from '../errors.js'
import { TEMPLATES_DIR } from '../version.js'

export const SYSTEMD_TEMPLATE = path.join(TEMPLATES_DIR, 'krafter-logs.service')

export interface SystemdUnitOptions {
  /** The krafter-logs executable: the package's bin/run.js, its npm bin link, or a wrapper. */
  binPath: string
  dataDir: string
  /** The account serve runs as; it must own the data dir. */
  user: string
  /** Starts binPath with this node; without it binPath is started directly (by its shebang). */
  nodePath?: string
  /** The unit template's text; templates/krafter-logs.service when absent. */
  template?: string
}

export interface SystemdUnitResult {
  unit: string
  /** Where the unit was written, when it was. */
  path?: string
}

const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/

/**
 * A path as one word of a unit file. `%` starts a specifier everywhere and `$` a variable in
 * ExecStart, so both are doubled; whitespace needs quotes. Quotes, backslashes and control
 * characters are refused rather than escaped: systemd's rules for them differ by directive,
 * and a newline would let a path add directives of its own.
 */
const unitWord = (value: string, what: string, options: { dollar: boolean }): string => {
  if (!path.isAbsolute(value)) throw new UserError(`${what} ${value}: must be an absolute path.`, { exitCode: 2 })
  if (/[\u0000-\u001f\u007f"\\]/.test(value)) {
    throw new UserError(`${what} ${JSON.stringify(value)}: a systemd unit cannot carry quotes, backslashes or control characters in a path.`, {
      exitCode: 2,
    })
  }
  let word = value.replaceAll('%', '%%')
  if (options.dollar) word = word.replaceAll('$', () => '$$')
  return /\s/.test(word) ? `"${word}"` : word
}

const isUnderTmp = (dir: string): boolean =>
  ['/tmp', '/var/tmp'].some((tmp) => dir === tmp || dir.startsWith(`${tmp}/`))

/** Renders templates/krafter-logs.service for one data dir; the same input gives the same unit. */
export const renderSystemdUnit = (options: SystemdUnitOptions): string => {
  if (!USER_NAME.test(options.user)) {
    throw new UserError(`--user ${options.user}: not a valid user name for systemd's User=.`, { exitCode: 2 })
  }
  const exec = [
    ...(options.nodePath !== undefined ? [unitWord(options.nodePath, 'node path', { dollar: true })] : []),
    unitWord(options.binPath, '--bin', { dollar: true }),
    'serve',
    '--data-dir',
    unitWord(options.dataDir, '--data-dir', { dollar: true }),
  ].join(' ')
  const template = options.template ?? readFileSync(SYSTEMD_TEMPLATE, 'utf8')
  // Function replacements: a `$` in a value must not be read as a replacement pattern.
  return template
    .replaceAll('{{USER}}', () => options.user)
    .replaceAll('{{EXEC_START}}', () => exec)
    .replaceAll('{{DATA_DIR}}', () => unitWord(options.dataDir, '--data-dir', { dollar: false }))
    .replaceAll('{{PRIVATE_TMP}}', () => (isUnderTmp(options.dataDir) ? 'false' : 'true'))
}

export interface SystemdRequest {
  dataDir?: string
  user?: string
  /** --bin: an executable to start as is; default: this CLI's own bin, started with this node. */
  bin?: string
  /** --write / --systemd-write: where to write the unit. */
  write?: string
}

/**
 * The unit for a data dir as this CLI would be started: this node binary and this bin file
 * (process.argv[1]), so the unit keeps working for a node that systemd's PATH does not find
 * (nvm, a tarball in /opt). An explicit --bin is taken as an executable of its own.
 */
export const systemdUnitOptions = (request: SystemdRequest): SystemdUnitOptions => {
  const dataDir = resolveDataDir(request.dataDir)
  const user = request.user ?? os.userInfo().username
  if (request.bin !== undefined) return { binPath: path.resolve(request.bin), dataDir, user }
  const self = process.argv[1]
  if (self === undefined) throw new UserError('Cannot tell where krafter-logs is installed.', { suggestions: ['Pass --bin PATH.'] })
  return { binPath: path.resolve(self), nodePath: process.execPath, dataDir, user }
}

/** A bin inside npx's cache may vanish with the cache; worth a warning, not a refusal. */
const isEphemeralBin = (binPath: string): boolean => binPath.includes(`${path.sep}_npx${path.sep}`)

/** Refuses a unit path that exists or cannot be written, before any other work is done. */
export const assertUnitPathWritable = (unitPath: string): void => {
  const target = path.resolve(unitPath)
  if (existsSync(target)) {
    throw new UserError(`${target} already exists; it was not overwritten.`, {
      suggestions: ['Remove it first, or print the unit (`krafter-logs systemd`) and compare.'],
    })
  }
  const dir = path.dirname(target)
  const problem = ((): string | undefined => {
    try {
      if (!statSync(dir).isDirectory()) return 'not a directory:'
    } catch {
      return 'no such directory'
    }
    try {
      accessSync(dir, constants.W_OK)
      return undefined
    } catch {
      return 'no write permission on'
    }
  })()
  if (problem !== undefined) {
    throw new UserError(`Cannot write ${target}: ${problem} ${dir}.`, {
      suggestions: [
        'Unit files under /etc/systemd/system need root: `krafter-logs systemd | sudo tee /etc/systemd/system/krafter-logs.service`.',
      ],
    })
  }
}

/** Writes the unit (0644, as systemd expects) and never replaces an existing file. */
export const writeSystemdUnit = (unitPath: string, unit: string): string => {
  const target = path.resolve(unitPath)
  assertUnitPathWritable(target)
  try {
    writeFileSync(target, unit, { mode: 0o644, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UserError(`${target} already exists; it was not overwritten.`, { cause: err })
    }
    throw new UserError(`Cannot write ${target}: ${(err as Error).message}`, { cause: err })
  }
  // The process umask may have narrowed the mode given to open(2).
  chmodSync(target, 0o644)
  return target
}

/** The unit alone, or also written to writeTo when given (never replacing a file). */
export const placeSystemdUnit = (unit: string, writeTo: string | undefined): SystemdUnitResult =>
  writeTo === undefined ? { unit } : { unit, path: writeSystemdUnit(writeTo, unit) }

/**
 * The `systemd` command's work: the unit for an initialised data dir, written when asked to.
 * A warning goes out before anything can fail, so it is seen even when the command then fails.
 */
export const systemdUnit = (request: SystemdRequest, report: { warn: (message: string) => void }): SystemdUnitResult => {
  const options = systemdUnitOptions(request)
  if (isEphemeralBin(options.binPath)) {
    report.warn(
      `${options.binPath} is in npx's cache, which may be cleared; install krafter-logs (npm pack, then npm install -g ./krafter-logs-*.tgz: docs/operations.md) or pass --bin.`,
    )
  }
  const paths = dataPaths(options.dataDir)
  if (!existsSync(paths.config)) {
    throw new UserError(`No krafter.yaml in ${paths.root}: this data dir is not initialised.`, {
      suggestions: ['Run `krafter-logs init --systemd` (or pass --data-dir / set KRAFTER_HOME to the right directory).'],
    })
  }
  return placeSystemdUnit(renderSystemdUnit(options), request.write)
}

/** Next steps after writing a unit, for people. */
export const systemdNextSteps = (unitPath: string | undefined): string[] => [
  ...(unitPath === undefined ? ['Save it as /etc/systemd/system/krafter-logs.service, then:'] : []),
  `  sudo systemctl daemon-reload && sudo systemctl enable --now ${unitPath === undefined ? 'krafter-logs' : path.basename(unitPath, '.service')}`,
]
