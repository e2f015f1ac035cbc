import { readFileSync } from 'node:fs'
import path from 'node:path'
import { execa, type Options, type ResultPromise } from 'execa'

/** The built CLI (npm test builds before running). */
export const BIN = path.resolve('bin/run.js')

type Env = Record<string, string>

/**
 * The built CLI bound to one environment: `cli('project', 'create', 'shop', '--json')` runs it
 * as a child process and resolves with its exit code and output (never throws on a failure,
 * tests assert on the exit code). `env` may be a getter for an env built in `beforeAll`.
 */
export const cliFor =
  (env: Env | (() => Env), options: Pick<Options, 'cwd' | 'stdin' | 'timeout'> = {}) =>
  (...args: string[]) =>
    execa('node', [BIN, ...args], { env: typeof env === 'function' ? env() : env, reject: false, timeout: 60_000, ...options })

/** The JSON a `--json` command printed, or an error showing what it printed instead. */
export const json = (r: string | { stdout: string; stderr?: string; exitCode?: number }): any => {
  const { stdout, stderr = '', exitCode } = typeof r === 'string' ? { stdout: r } : r
  try {
    return JSON.parse(stdout)
  } catch {
    throw new Error(`not JSON (exit ${exitCode ?? '?'}): ${stdout}\n${stderr}`)
  }
}

/** One request to a running serve's API as `token`: the raw Response. */
export const apiRequest = (baseUrl: string, token: string, method: string, apiPath: string, body?: unknown): Promise<Response> =>
  fetch(`${baseUrl}/api/v1${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })

/** Requests to a serve started in `beforeAll`: its status and parsed JSON body. */
export const apiFor =
  (baseUrl: () => string, token: () => string) =>
  async (method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await apiRequest(baseUrl(), token(), method, apiPath, body)
    return { status: res.status, body: await res.json() }
  }

export const waitFor = async <T>(probe: () => T | undefined, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Stops a serve a test file started, if it still runs (a test may have stopped it already). */
export const stopServe = async (serve: { proc: ResultPromise } | undefined): Promise<void> => {
  if (serve && serve.proc.exitCode === null) {
    serve.proc.kill('SIGTERM')
    await serve.proc
  }
}

/** Starts `krafter-logs serve` on a data dir and resolves once its serve.json names it. */
export const startServe = async (
  home: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ proc: ResultPromise; url: string }> => {
  const proc = execa('node', [BIN, 'serve', ...args], { env, reject: false })
  const url = await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`serve exited early: ${proc.exitCode}`)
    try {
      const info = JSON.parse(readFileSync(path.join(home, 'serve.json'), 'utf8')) as { pid: number; url: string }
      return info.pid === proc.pid ? info.url : undefined
    } catch {
      return undefined
    }
  })
  return { proc, url }
}
