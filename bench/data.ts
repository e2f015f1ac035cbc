import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs'
import path from 'node:path'

/** Small deterministic PRNG (mulberry32): the same data set on every run. */
export const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const SERVICES = ['api-gateway', 'checkout', 'payments', 'search', 'notifications']
const LEVELS = ['debug', 'info', 'info', 'info', 'info', 'info', 'warn', 'warn', 'error', 'fatal']
const PATHS = ['/v1/orders', '/v1/cart', '/v1/users/me', '/v1/search', '/v1/payments/charge', '/healthz']
const WORDS = 'request completed handled user order payment cache miss hit retry timeout upstream database query slow connection reset accepted queued'.split(' ')
const TEMPLATES = [
  (r: () => number, w: () => string) => `GET ${PATHS[Math.floor(r() * PATHS.length)]} completed in ${Math.floor(r() * 900)}ms with status ${r() < 0.9 ? 200 : 500}`,
  (r: () => number, w: () => string) => `${w()} ${w()} for user ${Math.floor(r() * 100000)}: ${w()} ${w()} ${w()}`,
  (r: () => number, w: () => string) => `database query took ${Math.floor(r() * 2000)}ms rows=${Math.floor(r() * 500)} table=${w()}`,
  (r: () => number, w: () => string) => `upstream ${w()} returned ${r() < 0.5 ? 'connection reset' : 'timeout'} after ${Math.floor(r() * 30)}s, retry ${Math.floor(r() * 5)}`,
]

/** One realistic entry (~300 bytes of NDJSON) at a time around `baseMs`. */
export const makeEntryFactory = (seed = 42, baseMs = Date.now() - 3_600_000) => {
  const r = prng(seed)
  const w = () => WORDS[Math.floor(r() * WORDS.length)]!
  let i = 0
  return () => {
    i++
    const service = SERVICES[Math.floor(r() * SERVICES.length)]!
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('')
    const traced = r() < 0.6
    return {
      timestamp: new Date(baseMs + i * 3).toISOString(),
      level: LEVELS[Math.floor(r() * LEVELS.length)],
      service,
      stream: r() < 0.7 ? 'app' : 'access',
      message: TEMPLATES[Math.floor(r() * TEMPLATES.length)]!(r, w),
      ...(traced ? { trace_id: hex(32), span_id: hex(16) } : {}),
      metadata: {
        user: { id: Math.floor(r() * 100000), plan: r() < 0.2 ? 'pro' : 'free' },
        http: { method: r() < 0.7 ? 'GET' : 'POST', status: r() < 0.9 ? 200 : 503, duration_ms: Math.floor(r() * 1500) },
        region: r() < 0.5 ? 'eu-west-1' : 'us-east-1',
      },
    }
  }
}

/**
 * Writes (cached under .bench/ for a day) an NDJSON file of `count` entries; returns its path.
 * Its timestamps start an hour before it was written, and the server refuses entries older
 * than a project's retention, so a file older than a day is written anew.
 */
export const ensureDataSet = async (count: number, dir = path.resolve('.bench')): Promise<string> => {
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `entries-${count}.ndjson`)
  if (existsSync(file) && statSync(file).size > count * 100 && statSync(file).mtimeMs > Date.now() - 86_400_000) return file
  const next = makeEntryFactory()
  const out = createWriteStream(file)
  let chunk = ''
  for (let i = 0; i < count; i++) {
    chunk += JSON.stringify(next()) + '\n'
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()))
      chunk = ''
    }
  }
  out.end(chunk)
  await new Promise<void>((r) => out.on('finish', () => r()))
  return file
}
