import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { api, downloadUrl } from '../../api.js'
import { ErrorBanner } from '../../components/ui.js'
import { navigate, patchQuery, useRoute } from '../../url-state.js'
import { EntryPanel } from './EntryPanel.js'
import { FacetsSidebar } from './Facets.js'
import { Histogram } from './Histogram.js'
import { PatternsView } from './Patterns.js'
import { QueryBar } from './QueryBar.js'
import { RangePicker } from './RangePicker.js'
import { Results } from './Results.js'
import { type ExploreState, filtersOf, type LogEntry, readState, stateQuery, toggleClause, type View } from './state.js'
import { Tail } from './Tail.js'
import './explore.css'

export interface ExplorerOptions {
  /** The console has facets, patterns and export; the embed viewer only search, list and tail. */
  facets: boolean
  patterns: boolean
  exportLinks: boolean
  /** Shown at the start of the toolbar (the project picker, or the viewer's locked project). */
  lead?: ComponentChildren
}

const VIEWS: { id: View; label: string; option?: keyof ExplorerOptions }[] = [
  { id: 'list', label: 'List' },
  { id: 'patterns', label: 'Patterns', option: 'patterns' },
  { id: 'tail', label: 'Live tail' },
]

/**
 * The explorer over the URL's state: query bar, range, volume histogram, facets, then the list,
 * patterns or live tail, and the open entry. Every change is a URL change (so Back works and a
 * link reproduces the view); the search filters are computed once per change or Enter, never
 * per render, so a relative range does not creep and nothing reloads by itself.
 */
export const Explorer = ({ state, options }: { state: ExploreState; options: ExplorerOptions }) => {
  const [run, setRun] = useState(0)
  const [searchError, setSearchError] = useState<unknown>()
  const [opened, setOpened] = useState<LogEntry>()
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const filters = useMemo(() => filtersOf(state), [state.project, state.q, state.range, state.from, state.to, run])

  const stateRef = useRef(state)
  stateRef.current = state
  const update = useCallback((patch: Partial<ExploreState>, replace = false) => patchQuery(stateQuery({ ...stateRef.current, ...patch }), { replace }), [])
  const toggle = useCallback((field: string, value: string, exclude: boolean) => update({ q: toggleClause(stateRef.current.q, field, value, exclude) }), [update])
  const open = useCallback((entry: LogEntry) => {
    setOpened(entry)
    update({ entry: entry.id })
  }, [update])
  const close = useCallback(() => update({ entry: undefined }), [update])

  return (
    <main class="page explore">
      <div class="explore-bar">
        {options.lead}
        <QueryBar
          value={state.q}
          error={searchError}
          filters={filters}
          onSubmit={(q) => {
            if (q !== state.q) update({ q })
            else setRun((r) => r + 1)
          }}
        />
        <RangePicker state={state} onChange={(patch) => update(patch)} />
        <div class="tabs" role="tablist" aria-label="View">
          {VIEWS.filter((v) => !v.option || options[v.option]).map((v) => (
            <button key={v.id} type="button" role="tab" class={`btn small${state.view === v.id ? ' active' : ''}`} aria-selected={state.view === v.id} data-testid={`view-${v.id}`} onClick={() => update({ view: v.id })}>
              {v.label}
            </button>
          ))}
        </div>
        {options.exportLinks && (
          <div class="export" data-testid="export">
            <a class="btn small" data-testid="export-csv" href={downloadUrl('/logs/export', { ...filters, format: 'csv' })} download>
              CSV
            </a>
            <a class="btn small" data-testid="export-json" href={downloadUrl('/logs/export', { ...filters, format: 'json' })} download>
              JSON
            </a>
          </div>
        )}
      </div>
      <Histogram filters={filters} onZoom={(from, to) => update({ range: 'custom', from, to })} />
      <div class="explore-body">
        {options.facets && <FacetsSidebar state={state} filters={filters} onToggle={toggle} onFields={(facets) => update({ facets })} />}
        {state.view === 'patterns' && options.patterns ? (
          <PatternsView filters={filters} onOpen={open} />
        ) : state.view === 'tail' ? (
          <Tail projectId={state.project} q={state.q || undefined} openId={state.entry} onOpen={open} />
        ) : (
          <Results filters={filters} openId={state.entry} onOpen={open} onError={setSearchError} />
        )}
      </div>
      {state.entry && <EntryPanel projectId={state.project} id={state.entry} initial={opened} onClose={close} onFilter={toggle} onOpen={open} />}
    </main>
  )
}

interface Project {
  id: string
  name: string
}

/** The console's explorer page: the project picker (first readable project by default) and the explorer. */
export const Explore = () => {
  const route = useRoute()
  const state = readState(route.query)
  const [projects, setProjects] = useState<Project[]>()
  const [error, setError] = useState<unknown>()
  useEffect(() => {
    api<Project[]>('GET', '/logs/projects', { query: { limit: 100 } }).then(setProjects, setError)
  }, [])
  useEffect(() => {
    if (!state.project && projects?.length) patchQuery({ project: projects[0]!.id }, { replace: true })
  }, [state.project, projects])

  if (error) return <main class="page"><ErrorBanner error={error} /></main>
  if (projects && projects.length === 0)
    return (
      <main class="page">
        <h1>No projects yet</h1>
        <p>
          Logs live in projects. <a href="/projects" onClick={(e) => (e.preventDefault(), navigate('/projects'))}>Create a project</a> and send entries with its ingest token.
        </p>
      </main>
    )
  const lead = (
    <select
      class="project-picker"
      data-testid="project-picker"
      aria-label="Project"
      value={state.project}
      onChange={(e) => patchQuery({ project: e.currentTarget.value, entry: undefined })}
    >
      {!projects && state.project && <option value={state.project}>…</option>}
      {projects?.map((p) => (
        <option key={p.id} value={p.id}>
          {p.name}
        </option>
      ))}
      {projects && state.project && !projects.some((p) => p.id === state.project) && <option value={state.project}>(unknown project)</option>}
    </select>
  )
  if (!state.project) return <main class="page explore" aria-busy="true" />
  return <Explorer state={state} options={{ facets: true, patterns: true, exportLinks: true, lead }} />
}
