import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/cli.js'

/*
 * What `npm publish` would ship, installed the way a user installs it: `npm pack`, then
 * `npm install <tarball>` into an empty prefix, then the installed bin. Packed with
 * --ignore-scripts: `prepare` would rebuild dist/ while other e2e files run the CLI from it,
 * and `npm test` has just built it anyway.
 *
 * The install needs nothing the repo's own install did not: dependencies come from npm's cache
 * first (--prefer-offline), the configured registry only for what is missing there, and
 * better-sqlite3's native binary, which its install script would fetch from GitHub, from this
 * checkout's build (a local prebuild). An unreachable registry fails with a message saying so.
 */

const repo = path.resolve('.')
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { name: string; version: string }
const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-pack-'))
const prefix = path.join(root, 'prefix')
const dataDir = path.join(root, 'data')
const bin = path.join(prefix, 'node_modules', '.bin', 'krafter-logs')
// As a user's shell would have it: npm keeps its proxy and registry settings, but no KRAFTER_*
// setting of the test run and not vitest's NODE_ENV=test (oclif then looks for TypeScript).
const env: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(KRAFTER_|VITEST|NODE_ENV$)/.test(e[0])),
  ),
  KRAFTER_LOG_LEVEL: 'info',
}
const run = { env, extendEnv: false, cwd: root } as const

const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b|network request to/

/**
 * better-sqlite3's binary as the prebuild its install script looks for in a local directory
 * before downloading (prebuild-install's <package>_local_prebuilds), made from the binary
 * this checkout's own install built for this very Node.
 */
const localPrebuilds = async (): Promise<string> => {
  const dir = path.join(root, 'prebuilds')
  mkdirSync(dir)
  const moduleDir = path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'))
  const { version } = JSON.parse(readFileSync(path.join(moduleDir, 'package.json'), 'utf8')) as { version: string }
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  await execa('tar', ['-czf', path.join(dir, name), '-C', moduleDir, 'build/Release/better_sqlite3.node'])
  return dir
}

let files: string[] = []
let tarball = ''
let installLog = ''

/** Sources newer than their build: the tarball would pair old code with new templates. */
const staleBuild = (): string[] => {
  const stale: string[] = []
  for (const dir of ['src', 'commands']) {
    for (const file of readdirSync(path.join(repo, dir), { recursive: true, encoding: 'utf8' })) {
      if (!/\.(ts|tsx|css|html)$/.test(file)) continue
      // The console (src/console) is bundled by Vite: its build is dist/console/index.html.
      const bundled = file.startsWith(`console${path.sep}`)
      if (!bundled && !file.endsWith('.ts')) continue
      const built = bundled ? path.join(repo, 'dist', 'console', 'index.html') : path.join(repo, 'dist', dir, file.replace(/\.ts$/, '.js'))
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(path.join(repo, dir, file)).mtimeMs) stale.push(path.join(dir, file))
    }
  }
  return stale
}

beforeAll(async () => {
  const stale = staleBuild()
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.slice(0, 5).join(', ')}: run \`npm run build\` first (npm test does).`)
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { ...run, cwd: repo, timeout: 120_000 })
  const info = (JSON.parse(packed.stdout) as { filename: string; size: number; files: { path: string }[] }[])[0]!
  files = info.files.map((f) => f.path)
  tarball = path.join(root, info.filename)

  const started = performance.now()
  const installEnv = { ...env, npm_config_better_sqlite3_local_prebuilds: await localPrebuilds() }
  // At warn level: an EBADENGINE warning (a dependency that needs a newer Node) must not appear.
  const installed = await execa(
    'npm',
    // One quick retry per fetch: an unreachable registry is then reported soon, not in minutes.
    ['install', '--prefix', prefix, '--prefer-offline', '--fetch-retries', '1', '--fetch-retry-mintimeout', '1000', '--fetch-retry-maxtimeout', '2000',
      '--no-audit', '--no-fund', '--loglevel', 'warn', tarball],
    { ...run, env: installEnv, reject: false, timeout: 300_000 },
  )
  installLog = `${installed.stdout}\n${installed.stderr}`
  if (installed.exitCode !== 0) {
    const registry = (await execa('npm', ['config', 'get', 'registry'], { ...run, reject: false })).stdout.trim()
    const cause = installed.timedOut ? 'no answer within 300 s' : installLog.split('\n').find((line) => NETWORK_ERROR.test(line))
    if (cause !== undefined) {
      throw new Error(
        `npm install of the packed tarball could not reach the registry ${registry} for a dependency missing from npm's cache ` +
          `(${cause.trim()}). This test needs only that registry, the one the repo's own install uses: connect to it, or ` +
          'fill the cache with `npm ci` in the repo first.',
      )
    }
    throw new Error(`npm install of the packed tarball failed (exit ${installed.exitCode}):\n${installLog}`)
  }
  const seconds = (performance.now() - started) / 1000
  console.log(`npm pack: ${path.basename(tarball)} ${(statSync(tarball).size / 1024).toFixed(1)} KiB, ${files.length} files; npm install into a fresh prefix: ${seconds.toFixed(1)} s`)
}, 420_000)

afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('the npm package', () => {
  it('holds what runs and nothing of the repo besides', () => {
    for (const needed of ['bin/run.js', 'dist/commands/init.js', 'dist/commands/serve.js', 'dist/src/version.js', 'templates/krafter.yaml', 'templates/krafter-logs.service', 'README.md', 'package.json', 'examples/README.md', 'examples/pino-transport.mjs', 'dist/console/index.html', 'dist/console/embed.html']) {
      expect(files).toContain(needed)
    }
    for (const file of files) {
      expect(file).not.toMatch(/^(test|bench|\.ci|node_modules|src|commands|dist\/test|dist\/bench)\//)
      expect(file).not.toMatch(/(^|\/)(meta\.sqlite(-wal|-shm)?|serve\.json)$|\.tgz$/)
    }
  })

  it('installs on this Node without an EBADENGINE warning', () => {
    expect(installLog).not.toContain('EBADENGINE')
    const cookie = JSON.parse(readFileSync(path.join(prefix, 'node_modules', 'cookie', 'package.json'), 'utf8')) as { version: string }
    // cookie 2.x needs Node 22; light-my-request 6.6.0 (pinned) takes cookie 1.x.
    expect(cookie.version).toMatch(/^1\./)
  })

  it('installs a krafter-logs bin that prints the package version', async () => {
    const res = await execa(bin, ['--version'], { ...run, reject: false })
    expect(res.exitCode, res.stderr).toBe(0)
    expect(res.stdout).toContain(`${pkg.name}/${pkg.version}`)
  })

  it('runs init and serve from the installed package, and stops on SIGTERM', async () => {
    const init = await execa(bin, ['init', '--data-dir', dataDir, '--port', '0', '--json'], { ...run, reject: false, timeout: 60_000 })
    expect(init.exitCode, `${init.stdout}\n${init.stderr}`).toBe(0)
    expect(JSON.parse(init.stdout).team_api_key).toMatch(/^kr_live_[a-z0-9]{32}$/)

    const serve = execa(bin, ['serve', '--data-dir', dataDir], { ...run, reject: false })
    try {
      const url = await waitFor(() => {
        if (serve.exitCode !== null) throw new Error(`serve exited early: ${serve.exitCode}`)
        try {
          const info = JSON.parse(readFileSync(path.join(dataDir, 'serve.json'), 'utf8')) as { pid: number; url: string }
          return info.url
        } catch {
          return undefined
        }
      })
      const health = await fetch(`${url}/healthz`)
      expect(health.status).toBe(200)
      expect(((await health.json()) as { status: string }).status).toBe('ok')
      // The console comes built in the tarball: the installed serve answers / and its assets.
      const page = await fetch(`${url}/`)
      expect(page.status).toBe(200)
      const html = await page.text()
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
      expect(script).toBeDefined()
      expect((await fetch(`${url}${script}`)).status).toBe(200)
    } finally {
      serve.kill('SIGTERM')
    }
    const stopped = await serve
    expect(stopped.exitCode, stopped.stderr).toBe(0)
  })
})
