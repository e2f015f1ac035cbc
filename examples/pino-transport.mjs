/**
 * A pino transport that ships logs to Krafter Logs (POST /api/v1/logs/ingest/batch).
 *
 *   import pino from 'pino'
 *   const logger = pino({
 *     transport: {
 *       target: '/absolute/path/to/pino-transport.mjs', // or a path relative to the calling file
 *       options: { url: 'http://127.0.0.1:8080', token: process.env.KRAFTER_INGEST_TOKEN },
 *     },
 *   })
 *
 * It runs in pino's worker thread. Each pino line becomes one Krafter entry:
 *   level 10/20/30/40/50/60 → debug/debug/info/warn/error/fatal, `msg` → message,
 *   `time` (epoch ms, or an ISO string) → timestamp, string `service`, `stream`, `trace_id` and
 *   `span_id` fields → the entry fields of the same name, everything else (pid, hostname, err,
 *   your own fields) → metadata.
 * Entries are sent as NDJSON in batches of up to `batchSize` entries, or after `flushIntervalMs`,
 * one request at a time (in order). 429 rate_limited, 503 and other transient failures are
 * retried up to `maxRetries` times, honouring Retry-After. When the transport closes (logger
 * end, process exit) the buffer is sent and the close waits for that last request, within
 * `closeTimeoutMs`: pino gives a transport at most 10 s to finish.
 * Problems (dropped or rejected entries) are reported on stderr, never with the token.
 *
 * Options: url (required; the server's base URL, with or without /api/v1), token (required; a
 * project ingest token), batchSize = 500 (max 10,000), flushIntervalMs = 1000, maxRetries = 5,
 * timeoutMs = 30000 (per request), closeTimeoutMs = 8000, service, stream (defaults for entries
 * that do not carry their own), messageKey = 'msg' (if you changed pino's messageKey).
 */
import build from 'pino-abstract-transport'

const INGEST_PATH = '/api/v1/logs/ingest/batch'
// Server limits (docs/api.md, "Ingest"): 10,000 entries and 10 MiB per request, message
// ≤ 256 KiB, metadata ≤ 64 KiB encoded and nested ≤ 16 levels, service/stream ≤ 200 chars,
// trace_id/span_id ≤ 128 chars.
const MAX_BATCH_ENTRIES = 10_000
const MAX_BATCH_BYTES = 8 * 1024 * 1024
const MAX_MESSAGE_BYTES = 256 * 1024
const MAX_METADATA_BYTES = 64 * 1024
const MAX_METADATA_DEPTH = 16
const PROMOTED = { service: 200, stream: 200, trace_id: 128, span_id: 128 }
const LEVEL_NAMES = {
  trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn',
  error: 'error', err: 'error', fatal: 'fatal', critical: 'fatal',
}

/** pino level (number, or a label if `formatters.level` changed it) → Krafter level. */
export const levelOf = (level) => {
  if (typeof level === 'number') {
    if (level >= 60) return 'fatal'
    if (level >= 50) return 'error'
    if (level >= 40) return 'warn'
    if (level >= 30) return 'info'
    return 'debug'
  }
  if (typeof level === 'string') return LEVEL_NAMES[level.toLowerCase()] ?? 'info'
  return 'info'
}

const truncateUtf8 = (text, maxBytes) => {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  // A cut inside a character decodes to one U+FFFD (3 bytes), hence the margin.
  return bytes.subarray(0, maxBytes - 3).toString('utf8')
}

const depthOf = (value, depth = 1) => {
  if (depth > MAX_METADATA_DEPTH) return depth
  let max = depth
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    if (v !== null && typeof v === 'object') max = Math.max(max, depthOf(v, depth + 1))
    if (max > MAX_METADATA_DEPTH) break
  }
  return max
}

/** Keeps what fits of a metadata object the server would refuse whole, and says what was left out. */
const fitMetadata = (fields) => {
  const out = {}
  const dropped = []
  let size = 2
  for (const [key, value] of Object.entries(fields)) {
    const part = Buffer.byteLength(JSON.stringify(key) + JSON.stringify(value), 'utf8') + 2
    const fits = size + part <= MAX_METADATA_BYTES - 4096
    if (fits && (value === null || typeof value !== 'object' || depthOf(value, 2) <= MAX_METADATA_DEPTH)) {
      out[key] = value
      size += part
    } else {
      dropped.push(key)
    }
  }
  out.krafter_dropped_fields = dropped
  return out
}

/** One parsed pino line → one Krafter log entry (an object for POST /logs/ingest/batch). */
export const toEntry = (record, options = {}) => {
  const { level, time, [options.messageKey ?? 'msg']: msg, ...fields } = record
  let message = typeof msg === 'string' ? msg : msg == null ? '' : String(msg)
  if (message === '' && typeof fields.err?.message === 'string') message = fields.err.message
  if (message === '') message = '(no message)'
  const entry = { message: truncateUtf8(message, MAX_MESSAGE_BYTES), level: levelOf(level) }
  if (typeof time === 'number' || (typeof time === 'string' && time !== '')) entry.timestamp = time
  for (const [key, max] of Object.entries(PROMOTED)) {
    const value = fields[key]
    if (typeof value === 'string' && value.length > 0 && value.length <= max) {
      entry[key] = value
      delete fields[key]
    } else if (value === undefined && typeof options[key] === 'string' && options[key] !== '') {
      entry[key] = options[key]
    }
  }
  if (Object.keys(fields).length > 0) {
    const fits =
      Buffer.byteLength(JSON.stringify(fields), 'utf8') <= MAX_METADATA_BYTES && depthOf(fields) <= MAX_METADATA_DEPTH
    entry.metadata = fits ? fields : fitMetadata(fields)
  }
  return entry
}

const retryAfterMs = (header) => {
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

const errorOf = (text) => {
  try {
    return JSON.parse(text).error ?? {}
  } catch {
    return {}
  }
}

const intOption = (value, fallback, min, max) => {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`krafter pino transport: option must be an integer from ${min} to ${max} (got ${value})`)
  }
  return value
}

export default async function krafterTransport(opts = {}) {
  if (typeof opts.url !== 'string' || opts.url === '') throw new Error('krafter pino transport: options.url is required')
  if (typeof opts.token !== 'string' || opts.token === '') throw new Error('krafter pino transport: options.token is required')
  const batchSize = intOption(opts.batchSize, 500, 1, MAX_BATCH_ENTRIES)
  const flushIntervalMs = intOption(opts.flushIntervalMs, 1000, 1, 3_600_000)
  const maxRetries = intOption(opts.maxRetries, 5, 0, 100)
  const timeoutMs = intOption(opts.timeoutMs, 30_000, 100, 600_000)
  const closeTimeoutMs = intOption(opts.closeTimeoutMs, 8000, 100, 600_000)
  const endpoint = opts.url.replace(/\/+$/, '').replace(/\/api\/v1$/, '') + INGEST_PATH
  const headers = {
    authorization: `Bearer ${opts.token}`,
    'content-type': 'application/x-ndjson',
    'user-agent': 'krafter-pino-transport',
  }
  const entryOptions = { messageKey: opts.messageKey, service: opts.service, stream: opts.stream }
  const highWater = Math.max(batchSize * 20, MAX_BATCH_ENTRIES)
  const warn = (text) => process.stderr.write(`[krafter pino transport] ${text}\n`)

  let source
  let lines = []
  let lineBytes = 0
  let pending = 0 // entries buffered or waiting to be sent
  let timer = null
  let queue = Promise.resolve()
  let deadline = Infinity
  const closing = new AbortController()
  const sleepers = new Map() // wake function → when the sleep ends

  const sleep = (ms) =>
    new Promise((resolve) => {
      const wake = () => {
        clearTimeout(handle)
        sleepers.delete(wake)
        resolve()
      }
      const handle = setTimeout(wake, ms)
      sleepers.set(wake, Date.now() + ms)
    })

  /** POSTs one batch, retrying transient failures; never throws. */
  const send = async (batch) => {
    const body = batch.join('\n') + '\n'
    for (let attempt = 0; ; attempt++) {
      let problem
      let wait
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal])
        const res = await fetch(endpoint, { method: 'POST', headers, body, signal })
        const text = await res.text()
        if (res.status === 202) {
          let data = {}
          try {
            data = JSON.parse(text).data ?? {}
          } catch {
            // Stored all the same: 202 means durable.
          }
          if (data.rejected > 0) {
            const first = (data.errors ?? []).slice(0, 3).map((e) => `entry ${e.line} ${e.field}: ${e.message}`)
            warn(`${data.rejected} of ${batch.length} entries rejected (${first.join('; ')})`)
          }
          return
        }
        const error = errorOf(text)
        if (res.status === 413 && batch.length > 1) {
          const half = Math.ceil(batch.length / 2)
          await send(batch.slice(0, half))
          await send(batch.slice(half))
          return
        }
        problem = `HTTP ${res.status} ${error.code ?? ''}: ${error.message ?? text.slice(0, 200)}`
        const transient =
          res.status === 408 || res.status === 500 || res.status === 502 || res.status === 503 || res.status === 504 ||
          (res.status === 429 && error.code !== 'daily_limit_exceeded')
        if (!transient) {
          warn(`dropped ${batch.length} entries: ${problem}`)
          return
        }
        wait = retryAfterMs(res.headers.get('retry-after'))
      } catch (err) {
        problem = `request failed: ${err?.cause?.message ?? err?.message ?? err}`
      }
      const delay = Math.min(wait ?? 250 * 2 ** attempt, 60_000)
      if (attempt >= maxRetries || Date.now() + delay >= deadline) {
        warn(`dropped ${batch.length} entries after ${attempt + 1} attempt(s): ${problem}`)
        return
      }
      await sleep(delay)
    }
  }

  const flush = () => {
    if (timer) {
      clearTimeout(timer)
      timer = null
    }
    if (lines.length === 0) return queue
    const batch = lines
    lines = []
    lineBytes = 0
    queue = queue
      .then(() => send(batch))
      .catch((err) => warn(`dropped ${batch.length} entries: ${err?.message ?? err}`))
      .then(() => {
        pending -= batch.length
        if (source.isPaused() && pending < highWater / 2) source.resume()
      })
    return queue
  }

  const add = (entry) => {
    const line = JSON.stringify(entry)
    const bytes = Buffer.byteLength(line, 'utf8') + 1
    if (lines.length > 0 && lineBytes + bytes > MAX_BATCH_BYTES) flush()
    lines.push(line)
    lineBytes += bytes
    pending++
    if (lines.length >= batchSize) flush()
    else timer ??= setTimeout(flush, flushIntervalMs)
    // Backpressure: stop reading from pino while the server is far behind.
    if (pending >= highWater && !source.isPaused()) source.pause()
  }

  return build(
    (stream) => {
      source = stream
      stream.on('data', (record) => add(toEntry(record, entryOptions)))
      // A line that is not JSON (pino writes only JSON, but a custom destination may not).
      stream.on('unknown', (line) => {
        if (typeof line === 'string' && line.trim() !== '') add({ message: truncateUtf8(line, MAX_MESSAGE_BYTES) })
      })
    },
    {
      // Called once pino has written its last line: send what is left and wait for it.
      async close() {
        deadline = Date.now() + closeTimeoutMs
        const stop = setTimeout(() => closing.abort(), closeTimeoutMs)
        // A retry that would wait past the deadline gets one last attempt now instead.
        for (const [wake, until] of [...sleepers]) if (until >= deadline) wake()
        await flush()
        clearTimeout(stop)
      },
    },
  )
}
