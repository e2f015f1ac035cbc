import { useEffect, useRef, useState } from 'preact/hooks'
import { eventStreamUrl } from '../../api.js'
import { formatCount } from '../../components/ui.js'
import { EntryRow } from './Results.js'
import type { LogEntry } from './state.js'

export interface TailProps {
  projectId: string
  q?: string
  openId?: string
  onOpen: (entry: LogEntry) => void
}

/** Entries kept on screen (and, while paused, held back): older ones are let go, and counted. */
export const TAIL_BUFFER = 1000

type Status = 'connecting' | 'live' | 'reconnecting' | 'closed'

/**
 * Live tail over GET /logs/tail (Server-Sent Events; EventSource resumes by Last-Event-ID after a
 * drop, so nothing stored meanwhile is missed). Newest on top. Pause holds new entries back
 * (bounded) until resume; the buffer never grows without limit.
 */
export const Tail = ({ projectId, q, openId, onOpen }: TailProps) => {
  const [shown, setShown] = useState<LogEntry[]>([])
  const [held, setHeld] = useState<LogEntry[]>([])
  const [paused, setPaused] = useState(false)
  const [dropped, setDropped] = useState(0)
  const [status, setStatus] = useState<Status>('connecting')
  const pausedRef = useRef(paused)
  pausedRef.current = paused

  useEffect(() => {
    setShown([])
    setHeld([])
    setDropped(0)
    setStatus('connecting')
    const source = new EventSource(eventStreamUrl('/logs/tail', { project_id: projectId, q: q || undefined }))
    // Entries arrive in bursts: add them once per frame, not once per event.
    let pending: LogEntry[] = []
    let frame = 0
    const flush = () => {
      frame = 0
      const batch = pending.reverse()
      pending = []
      const into = (list: LogEntry[]) => {
        const next = [...batch, ...list]
        if (next.length > TAIL_BUFFER) setDropped((d) => d + next.length - TAIL_BUFFER)
        return next.slice(0, TAIL_BUFFER)
      }
      if (pausedRef.current) setHeld(into)
      else setShown(into)
    }
    source.addEventListener('open', () => setStatus('live'))
    source.addEventListener('entry', (e) => {
      try {
        pending.push(JSON.parse((e as MessageEvent<string>).data) as LogEntry)
      } catch {
        return
      }
      if (!frame) frame = requestAnimationFrame(flush)
    })
    source.addEventListener('error', () => setStatus(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'))
    return () => {
      if (frame) cancelAnimationFrame(frame)
      source.close()
    }
  }, [projectId, q])

  const resume = () => {
    setShown((s) => [...held, ...s].slice(0, TAIL_BUFFER))
    setHeld([])
    setPaused(false)
  }

  return (
    <section class="tail" aria-label="Live tail" data-testid="tail" data-status={status} data-paused={String(paused)}>
      <div class="toolbar tail-toolbar">
        <span class={`tail-status ${status}`} data-testid="tail-status">
          {status === 'live' ? (paused ? 'paused' : 'live') : status === 'closed' ? 'disconnected (reload to retry)' : status}
        </span>
        {paused ? (
          <button type="button" class="btn small primary" data-testid="tail-resume" onClick={resume}>
            Resume{held.length ? ` (${formatCount(held.length)} new)` : ''}
          </button>
        ) : (
          <button type="button" class="btn small" data-testid="tail-pause" onClick={() => setPaused(true)}>
            Pause
          </button>
        )}
        <button
          type="button"
          class="btn small ghost"
          onClick={() => {
            setShown([])
            setDropped(0)
          }}
        >
          Clear
        </button>
        <span class="hint" data-testid="tail-count" data-count={String(shown.length)} data-held={String(held.length)}>
          {shown.length} shown{dropped ? ` · ${formatCount(dropped)} older let go (keeps the newest ${TAIL_BUFFER})` : ''}
        </span>
      </div>
      <div class="rows tail-rows" role="table">
        {shown.length === 0 && <p class="empty hint">Waiting for new entries{q ? ' matching the query' : ''}…</p>}
        {shown.map((entry) => (
          <EntryRow key={entry.id} entry={entry} testId="tail-row" selected={entry.id === openId} onOpen={onOpen} />
        ))}
      </div>
    </section>
  )
}
