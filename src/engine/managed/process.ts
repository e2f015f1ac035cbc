import { execa } from 'execa'
import { errorMessage } from '../../errors.js'
import type { ClickhouseBinary } from '../clickhouse-binary.js'

/*
 * The one module that imports execa: it runs the `clickhouse server` child and asks a binary
 * for its version (and opens a browser for `open`). What to run, when and how to react is the
 * supervisor's.
 */

export interface ChildExit {
  exitCode?: number
  signal?: string
  /** Why it could not be spawned at all (e.g. ENOENT). */
  error?: string
}

export const describeExit = (exit: ChildExit): string =>
  exit.error ?? (exit.signal !== undefined ? `it was killed by ${exit.signal}` : `it exited with code ${exit.exitCode ?? '?'}`)

export interface ServerProcess {
  pid?: number
  /** Resolves once it exited (never rejects). */
  exited: Promise<ChildExit>
  kill(signal: NodeJS.Signals): void
}

/** Starts the server with its output appended to the two log files. */
export const spawnServer = (options: {
  file: string
  args: string[]
  cwd: string
  env: Record<string, string>
  stdoutLog: string
  stderrLog: string
}): ServerProcess => {
  const subprocess = execa(options.file, options.args, {
    cwd: options.cwd,
    // Without a watchdog parent the pid we hold is the server itself, so signals reach it.
    env: { ...options.env, CLICKHOUSE_WATCHDOG_ENABLE: '0' },
    stdin: 'ignore',
    stdout: { file: options.stdoutLog, append: true },
    stderr: { file: options.stderrLog, append: true },
    detached: false,
    // If serve dies, the server goes with it instead of holding the ports and the data dir.
    cleanup: true,
    reject: false,
    // The supervisor owns the SIGTERM → SIGKILL timing (stopTimeoutMs), not execa's 5 s default.
    forceKillAfterDelay: false,
  })
  return {
    pid: subprocess.pid,
    kill: (signal) => void subprocess.kill(signal),
    exited: subprocess.then(
      (result): ChildExit =>
        result.exitCode === undefined && result.signal === undefined
          ? { error: result.shortMessage }
          : { exitCode: result.exitCode, signal: result.signal },
      (err: unknown): ChildExit => ({ error: errorMessage(err) }),
    ),
  }
}

/**
 * The version a binary reports for `--version`, or undefined when it does not say (Debian's
 * 18.16 clickhouse-server rejects the option). The server's `SELECT version()` is what the
 * version gate trusts; this is only for telling the operator early.
 */
export const probeClickhouseVersion = async (binary: ClickhouseBinary): Promise<string | undefined> => {
  const result = await execa(binary.path, [...binary.argsPrefix, '--version'], { reject: false, timeout: 15_000, stdin: 'ignore' })
  if (result.failed) return undefined
  return /version\s+(\d+(?:\.\d+)+)/i.exec(`${result.stdout}\n${result.stderr}`)?.[1]
}

/**
 * Opens a URL in the desktop's browser (`xdg-open`), detached so the browser outlives this
 * command. Resolves once it started (or could not: the reason), never waiting for the browser.
 */
export const openInBrowser = (url: string): Promise<{ ok: true } | { ok: false; error: string }> =>
  new Promise((resolve) => {
    const subprocess = execa('xdg-open', [url], { detached: true, stdio: 'ignore', reject: false, cleanup: false })
    subprocess.once('spawn', () => {
      subprocess.unref()
      resolve({ ok: true })
    })
    subprocess.once('error', (err) => resolve({ ok: false, error: `could not run xdg-open: ${errorMessage(err)}` }))
    void subprocess.then(() => undefined)
  })
