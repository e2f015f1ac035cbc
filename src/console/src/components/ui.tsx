import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../api.js'

// Small shared building blocks; pages compose them and keep no styling of their own beyond
// class names from styles.css.

export const ErrorBanner = ({ error, testId }: { error: unknown; testId?: string }) => {
  if (!error) return null
  const e = error instanceof ApiError ? error : undefined
  return (
    <div class="error-banner" role="alert" data-testid={testId} data-field={e?.details[0]?.field}>
      <strong>{e ? e.code : 'error'}</strong> {error instanceof Error ? error.message : String(error)}
      {e && e.details.length > 0 && (
        <ul>
          {e.details.map((d) => (
            <li key={d.field}>
              <code>{d.field}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** Copies `text`; says "Copied" for a moment. */
export const CopyButton = ({ text, label = 'Copy', class: cls }: { text: string; label?: string; class?: string }) => {
  const [done, setDone] = useState(false)
  return (
    <button
      type="button"
      class={`btn small ${cls ?? ''}`}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text)
        } catch {
          // Clipboard API needs a secure context; fall back to a selection copy.
          const area = document.createElement('textarea')
          area.value = text
          document.body.appendChild(area)
          area.select()
          document.execCommand('copy')
          area.remove()
        }
        setDone(true)
        setTimeout(() => setDone(false), 1200)
      }}
    >
      {done ? 'Copied' : label}
    </button>
  )
}

const openPanels: object[] = []

/** A side panel or dialog closed by Esc, its close button or (dialogs) a click outside. */
export const Panel = ({ title, onClose, children, kind = 'drawer', testId }: { title: ComponentChildren; onClose: () => void; children: ComponentChildren; kind?: 'drawer' | 'dialog'; testId?: string }) => {
  const ref = useRef<HTMLDivElement>(null)
  // The latest onClose, so a parent passing a new function each render neither re-runs the
  // effect nor moves the focus back to the panel while the user types in it.
  const close = useRef(onClose)
  close.current = onClose
  useEffect(() => {
    const self = {}
    openPanels.push(self)
    const onKey = (e: KeyboardEvent) => {
      // Esc closes the topmost panel only (a dialog opened from a drawer, not both).
      if (e.key === 'Escape' && openPanels[openPanels.length - 1] === self) {
        e.stopPropagation()
        close.current()
      }
    }
    addEventListener('keydown', onKey)
    // The field marked autoFocus when there is one (a dynamically shown one is not focused by
    // the browser), else the panel itself.
    ;(ref.current?.querySelector<HTMLElement>('[autofocus]') ?? ref.current)?.focus()
    return () => {
      removeEventListener('keydown', onKey)
      openPanels.splice(openPanels.indexOf(self), 1)
    }
  }, [])
  const body = (
    <div class={kind} ref={ref} tabIndex={-1} role="dialog" aria-label={typeof title === 'string' ? title : undefined} data-testid={testId}>
      <header class="panel-head">
        <h2>{title}</h2>
        <button type="button" class="btn ghost" aria-label="Close" onClick={onClose}>
          ✕
        </button>
      </header>
      <div class="panel-body">{children}</div>
    </div>
  )
  return kind === 'dialog' ? (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      {body}
    </div>
  ) : (
    body
  )
}

/** Asks before a destructive action; the user types `confirmText` when given. */
export const ConfirmDialog = ({ title, message, confirmLabel = 'Delete', confirmText, onConfirm, onClose }: { title: string; message: ComponentChildren; confirmLabel?: string; confirmText?: string; onConfirm: () => Promise<void>; onClose: () => void }) => {
  const [typed, setTyped] = useState('')
  const { busy, error, run } = useSubmit()
  return (
    <Panel kind="dialog" title={title} onClose={onClose} testId="confirm">
      {/* A form, so Enter in the confirmation field confirms. */}
      <form
        onSubmit={run(async () => {
          if (confirmText !== undefined && typed !== confirmText) return
          await onConfirm()
          onClose()
        })}
      >
        <p>{message}</p>
        {confirmText && (
          <label>
            Type <code>{confirmText}</code> to confirm
            <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoFocus data-testid="confirm-input" />
          </label>
        )}
        <ErrorBanner error={error} />
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn danger" data-testid="confirm-button" disabled={busy || (confirmText !== undefined && typed !== confirmText)}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </Panel>
  )
}

/**
 * A form's submit: `run(action)` is the form's onSubmit. It runs one action at a time, clears
 * the last error first and keeps the new one for the form to show (ErrorBanner, field errors).
 */
export const useSubmit = (): { busy: boolean; error: unknown; setError: (error: unknown) => void; run: (action: () => Promise<void>) => (e: Event) => Promise<void> } => {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>()
  const run = (action: () => Promise<void>) => async (e: Event) => {
    e.preventDefault()
    if (busy) return
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, setError, run }
}

/**
 * Data loaded for a page: reload() after a change; error shown by the page. While the deps
 * changed and their data is not in yet, `loading` is true from the very render that changed
 * them (not one effect later), so nothing shows old data as current.
 */
export const useLoad = <T,>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } => {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean; key?: string }>({ data: undefined, error: undefined, loading: true })
  const [tick, setTick] = useState(0)
  const key = JSON.stringify([...deps, tick])
  useEffect(() => {
    const ctl = new AbortController()
    setState((s) => ({ ...s, loading: true }))
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, error: undefined, loading: false, key }),
      (error) => !ctl.signal.aborted && setState((s) => ({ data: s.data, error, loading: false, key })),
    )
    return () => ctl.abort()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])
  return { data: state.data, error: state.error, loading: state.loading || state.key !== key, reload: () => setTick((t) => t + 1) }
}

export const formatTime = (iso: string): string => {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

export const formatCount = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n))

export const formatBytes = (n: number): string => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`)
