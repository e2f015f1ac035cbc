import { SseParser } from './sse.js'
import { AppError, errorMessage, UserError } from '../errors.js'
import { TailInput } from '../explore/tail.js'
import { compileFilters, type LogEntry } from '../logs/search.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'
import { projectByRef } from './projects.js'
import { readRuntime, type RuntimeInfo } from './runtime.js'
import { queryString, requestServer } from './server-client.js'

/** What the CLI passes: the filter flags of search that make sense for new entries (no range, no paging). */
export interface TailRequest {
  /** Project id or exact name. */
  project: string
  filters: {
    q?: string
    level?: string
    service?: string
    stream?: string
    trace_id?: string
    span_id?: string
  }
}

export interface TailHandlers {
  /** One new entry (`raw`: its JSON as serve sent it); answering false stops the tail (the reader went away). */
  entry(entry: LogEntry, raw: string): Promise<boolean>
  /** A sentence for the person watching (connected, connection lost, reconnected): not data. */
  note(text: string): void
}

export interface TailOptions {
  /** Aborted: the tail ends (SIGINT/SIGTERM). */
  signal: AbortSignal
  /** The first wait before reconnecting, doubled after each failed attempt up to maxDelayMs. */
  initialDelayMs?: number
  maxDelayMs?: number
  /** A stream silent for this long is taken as dead (serve sends a heartbeat at least every 15 s). */
  idleMs?: number
}

export interface TailSummary {
  entries: number
  reconnects: number
  /** Where a new tail would resume: the last entry's event id, or where serve started the tail; null before any connection. */
  last_event_id: string | null
  ended: 'stopped' | 'reader_gone'
}

const INITIAL_DELAY_MS = 500
const MAX_DELAY_MS = 5000
/** Three heartbeats missed at the longest interval serve can be configured to (tail.heartbeat_seconds ≤ 15). */
const IDLE_MS = 45_000

/** Why one connection ended, when it was not the end of the tail. */
type Outcome = { kind: 'stopped' } | { kind: 'reader_gone' } | { kind: 'overflow' } | { kind: 'dropped'; reason: string; connected: boolean }

/** Failures a later attempt can get past: serve unreachable or stopping (503), busy (429), a server fault. */
const retryable = (err: unknown): boolean =>
  err instanceof AppError && (err.code === 'engine_unavailable' || err.code === 'rate_limited' || err.code === 'internal_error')

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })

const seconds = (ms: number): string => `${(ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} s`

/**
 * `krafter-logs tail`: follows GET /logs/tail of the running serve (Server-Sent Events), entry by
 * entry, until `signal` aborts or the reader leaves. Only through serve: the tail reads up to
 * serve's watermark of stored entries, which only serve knows.
 *
 * It survives serve restarting: on a dropped stream, a refused connection, a 429/5xx or an
 * `overflow` it reconnects (overflow at once, otherwise after 0.5 s doubling to 5 s), reading
 * serve.json anew each time (a restarted serve has a new port and admin token) and sending the
 * last entry's event id as Last-Event-ID, so the entries in between come once each, none lost
 * and none twice. The id is taken from an entry only once it was handed on: a stream cut in the
 * middle of an event resumes before that event. Before the first entry it is the id serve opens
 * the stream with (where the tail started).
 */
export const runTail = async (ctx: OpsContext, request: TailRequest, handlers: TailHandlers, options: TailOptions): Promise<TailSummary> => {
  const project = projectByRef(ctx, request.project)
  const raw: Record<string, unknown> = { project_id: project.id }
  for (const [key, value] of Object.entries(request.filters)) if (value !== undefined) raw[key] = value
  const input = parseInput(TailInput, raw, 'tail')
  // A malformed q or level is exit 2 here, with its position, before any connection.
  compileFilters(input, ctx.clock())
  if (!ctx.runtime) {
    throw new UserError(`krafter-logs tail follows new entries through a running serve, and none runs on ${ctx.paths.root}.`, {
      suggestions: ['Start it with `krafter-logs serve` (or `systemctl start krafter-logs`), then run tail again; `krafter-logs search` reads stored entries without it.'],
    })
  }
  const { signal } = options
  const initialDelay = options.initialDelayMs ?? INITIAL_DELAY_MS
  const maxDelay = options.maxDelayMs ?? MAX_DELAY_MS
  const idleMs = options.idleMs ?? IDLE_MS
  const path = `/logs/tail?${queryString(input as Record<string, string | undefined>)}`
  const summary: TailSummary = { entries: 0, reconnects: 0, last_event_id: null, ended: 'stopped' }

  /** One connection, read until it ends. Errors a retry cannot mend (400, 401, 403, 404) are thrown. */
  const follow = async (runtime: RuntimeInfo, onOpen: () => void): Promise<Outcome> => {
    const connection = new AbortController()
    let idleTimer: NodeJS.Timeout | undefined
    let idle = false
    const arm = () => {
      clearTimeout(idleTimer)
      idleTimer = setTimeout(() => {
        idle = true
        connection.abort()
      }, idleMs)
    }
    const stop = () => connection.abort()
    signal.addEventListener('abort', stop)
    arm()
    try {
      let response: Response
      try {
        response = await requestServer(runtime, 'GET', path, {
          signal: connection.signal,
          headers: { accept: 'text/event-stream', ...(summary.last_event_id === null ? {} : { 'last-event-id': summary.last_event_id }) },
        })
      } catch (err) {
        if (signal.aborted) return { kind: 'stopped' }
        if (idle) return { kind: 'dropped', reason: `no answer for ${seconds(idleMs)}`, connected: false }
        if (retryable(err)) return { kind: 'dropped', reason: errorMessage(err), connected: false }
        throw err
      }
      onOpen()
      if (!response.body) return { kind: 'dropped', reason: 'serve answered without a stream', connected: true }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      const parser = new SseParser()
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>
        try {
          chunk = await reader.read()
        } catch (err) {
          if (signal.aborted) return { kind: 'stopped' }
          return { kind: 'dropped', reason: idle ? `nothing, not even a heartbeat, for ${seconds(idleMs)}` : errorMessage(err), connected: true }
        }
        if (chunk.done) return { kind: 'dropped', reason: 'serve ended the stream', connected: true }
        // Time spent waiting for our own reader (a full pipe) is not the server's silence.
        clearTimeout(idleTimer)
        for (const event of parser.push(chunk.value)) {
          if (event.type === 'overflow') return { kind: 'overflow' }
          if (event.type !== 'entry') continue // heartbeat, or an event type of a newer serve
          let entry: LogEntry
          try {
            entry = JSON.parse(event.data) as LogEntry
          } catch {
            throw new UserError(`The running serve (version ${runtime.version}) sent a tail entry that is not JSON.`, {
              suggestions: ['This is a bug of krafter-logs: please report it with this message.'],
            })
          }
          if (!(await handlers.entry(entry, event.data))) return { kind: 'reader_gone' }
          summary.entries++
          if (event.lastEventId !== '') summary.last_event_id = event.lastEventId
          if (signal.aborted) return { kind: 'stopped' }
        }
        // Every event of the chunk is handed on: an id set without an entry (serve's opening `id:`,
        // where this tail starts) is the resume point too, so a drop before the first entry loses nothing.
        if (parser.lastEventId !== '') summary.last_event_id = parser.lastEventId
        arm()
      }
    } finally {
      clearTimeout(idleTimer)
      signal.removeEventListener('abort', stop)
      // Closes the connection whatever ended the read (serve sees the tail leave).
      connection.abort()
    }
  }

  let runtime: RuntimeInfo | null = ctx.runtime
  let delay = initialDelay
  let connections = 0
  /** Since when the tail is without a stream (one note per outage, not per attempt). */
  let outage = false
  while (!signal.aborted) {
    runtime ??= readRuntime(ctx.paths)
    if (!runtime) {
      if (!outage) handlers.note(`serve is not running on ${ctx.paths.root}; waiting for it to start (Ctrl-C stops)…`)
      outage = true
    } else {
      const current = runtime
      const outcome = await follow(current, () => {
        connections++
        if (connections === 1) handlers.note(`Following project "${project.name}" through serve at ${current.url} (Ctrl-C stops).`)
        else {
          summary.reconnects++
          handlers.note(`Reconnected to serve at ${current.url}; resuming after the last entry.`)
        }
        outage = false
        delay = initialDelay
      })
      if (outcome.kind === 'stopped' || outcome.kind === 'reader_gone') {
        summary.ended = outcome.kind
        return summary
      }
      // A restarted serve has another port and token: read serve.json again before the next attempt.
      runtime = null
      if (outcome.kind === 'overflow') {
        handlers.note('The tail fell behind (serve sent overflow); resuming at once after the last entry.')
        continue
      }
      if (!outage) handlers.note(`${outcome.connected ? 'Lost the stream from serve' : 'Could not reach serve'} (${outcome.reason}); reconnecting…`)
      outage = true
    }
    await sleep(delay, signal)
    delay = Math.min(delay * 2, maxDelay)
  }
  return summary
}
