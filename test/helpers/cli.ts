import { readFileSync } from 'node:fs'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'

/** The built CLI (npm test builds before running). */
export const BIN = path.resolve('bin/run.js')

export const waitFor = async <T>(probe: () => T | undefined, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
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
