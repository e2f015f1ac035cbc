import { useEffect, useState } from 'preact/hooks'
import { api } from '../../api.js'
import { CopyButton, ErrorBanner, formatTime, Panel } from '../../components/ui.js'
import { EntryRow } from './Results.js'
import { FILTERABLE_FIELDS, type LogEntry } from './state.js'

export interface EntryPanelProps {
  projectId: string
  id: string
  /** The entry as the list had it, shown at once while the full one loads. */
  initial?: LogEntry
  onClose: () => void
  /** Click-to-filter: include (or exclude) this field value in q. */
  onFilter: (field: string, value: string, exclude: boolean) => void
  /** Opens another entry (a neighbour in the context). */
  onOpen: (entry: LogEntry) => void
}

interface ContextAnswer {
  before: LogEntry[]
  entry: LogEntry
  after: LogEntry[]
}

const CONTEXT_SIZE = 25

/** Metadata leaves as `metadata.a.b` → value (arrays and objects below a leaf shown as JSON). */
const metadataLeaves = (value: unknown, path = 'metadata'): [string, unknown][] => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [[path, value]]
  const entries = Object.entries(value as Record<string, unknown>)
  if (!entries.length) return []
  return entries.flatMap(([k, v]) => (/^[A-Za-z0-9_-]+$/.test(k) ? metadataLeaves(v, `${path}.${k}`) : []))
}

const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v))

/**
 * An entry's details in a side panel (Esc closes): every field with click-to-filter, its full
 * JSON with copy buttons, and "show context": the entries just before and after it.
 */
export const EntryPanel = ({ projectId, id, initial, onClose, onFilter, onOpen }: EntryPanelProps) => {
  const [entry, setEntry] = useState<LogEntry | undefined>(initial?.id === id ? initial : undefined)
  const [error, setError] = useState<unknown>()
  const [context, setContext] = useState<ContextAnswer>()
  const [contextError, setContextError] = useState<unknown>()
  const [sameService, setSameService] = useState(false)
  const [showContext, setShowContext] = useState(false)

  useEffect(() => {
    const ctl = new AbortController()
    setShowContext(false)
    setContext(undefined)
    api<ContextAnswer>('GET', '/logs/context', { query: { project_id: projectId, id, before: 0, after: 0 }, signal: ctl.signal }).then(
      (a) => {
        setEntry(a.entry)
        setError(undefined)
      },
      (err) => !ctl.signal.aborted && setError(err),
    )
    return () => ctl.abort()
  }, [projectId, id])

  useEffect(() => {
    if (!showContext || !entry) return
    const ctl = new AbortController()
    api<ContextAnswer>('GET', '/logs/context', {
      query: { project_id: projectId, id, before: CONTEXT_SIZE, after: CONTEXT_SIZE, service: sameService && entry.service ? entry.service : undefined },
      signal: ctl.signal,
    }).then(
      (a) => {
        setContext(a)
        setContextError(undefined)
      },
      (err) => !ctl.signal.aborted && setContextError(err),
    )
    return () => ctl.abort()
  }, [showContext, sameService, projectId, id, entry])

  const fields: [string, unknown][] = entry
    ? [
        ['timestamp', entry.timestamp],
        ...FILTERABLE_FIELDS.map((f): [string, unknown] => [f, entry[f]]),
        ['message', entry.message],
        ...metadataLeaves(entry.metadata ?? {}),
        ...(entry.received_at ? [['received_at', entry.received_at] as [string, unknown]] : []),
        ['id', entry.id],
      ]
    : []
  const filterable = (field: string, value: unknown) =>
    value !== undefined && value !== null && value !== '' && (FILTERABLE_FIELDS.includes(field as (typeof FILTERABLE_FIELDS)[number]) || field === 'message' || field.startsWith('metadata.')) && typeof value !== 'object'

  return (
    <Panel title="Entry" onClose={onClose} testId="entry-panel">
      <ErrorBanner error={error} />
      {entry && (
        <>
          <div class="toolbar">
            <CopyButton text={JSON.stringify(entry, null, 2)} label="Copy JSON" />
            <CopyButton text={entry.message} label="Copy message" />
            <CopyButton text={entry.id} label="Copy id" />
            <span class="spacer" />
            <button type="button" class={`btn small${showContext ? ' active' : ''}`} data-testid="show-context" aria-pressed={showContext} onClick={() => setShowContext((s) => !s)}>
              Show context
            </button>
          </div>
          {showContext && (
            <section class="context" data-testid="context" aria-busy={!context}>
              <label class="inline hint">
                <input type="checkbox" checked={sameService} onChange={(e) => setSameService(e.currentTarget.checked)} /> same service only
              </label>
              <ErrorBanner error={contextError} />
              {context && (
                <div class="context-rows">
                  {context.before.map((e) => (
                    <EntryRow key={e.id} entry={e} testId="context-row" onOpen={onOpen} />
                  ))}
                  <EntryRow entry={context.entry} testId="context-entry" selected onOpen={() => undefined} />
                  {context.after.map((e) => (
                    <EntryRow key={e.id} entry={e} testId="context-row" onOpen={onOpen} />
                  ))}
                  {context.before.length + context.after.length === 0 && <p class="hint">No neighbours.</p>}
                </div>
              )}
            </section>
          )}
          <table class="grid fields" data-testid="entry-fields">
            <tbody>
              {fields.map(([field, value]) => (
                <tr key={field} data-testid="entry-field" data-field={field}>
                  <th class="mono">{field}</th>
                  <td class={`mono field-value${field === 'level' ? ` level level-${String(value)}` : ''}`}>
                    {field === 'timestamp' || field === 'received_at' ? `${formatTime(String(value))}  (${String(value)})` : value === undefined || value === null || value === '' ? <span class="hint">—</span> : asText(value)}
                  </td>
                  <td class="field-actions">
                    {filterable(field, value) && (
                      <>
                        <button type="button" class="btn small ghost" data-testid="filter-include" title={`Filter: ${field} is this`} aria-label={`Include ${field}`} onClick={() => onFilter(field, String(value), false)}>
                          +
                        </button>
                        <button type="button" class="btn small ghost" data-testid="filter-exclude" title={`Filter out: ${field} is this`} aria-label={`Exclude ${field}`} onClick={() => onFilter(field, String(value), true)}>
                          −
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3 class="hint">JSON</h3>
          <pre class="entry-json" data-testid="entry-json">
            {JSON.stringify(entry, null, 2)}
          </pre>
        </>
      )}
    </Panel>
  )
}
