import { compileFilters, searchLogs, SearchInput, type LogEntry } from '../logs/search.js'
import { parseInput } from '../validation.js'
import { SearchPageAnswer } from './answers.js'
import type { OpsContext } from './context.js'
import { viaServerOrEngine, type Via } from './engine-access.js'
import { projectByRef } from './projects.js'
import { callServerAnswer, queryString } from './server-client.js'
import type { FilterText } from './filter-text.js'

/** What the CLI passes: the filter flags as given (strings), validated here with SearchInput. */
export interface SearchRequest {
  /** Project id or exact name. */
  project: string
  filters: FilterText & { limit?: string; order?: string }
  /** Follow the cursors to the last page (`--all`); otherwise one page of `limit` entries. */
  all: boolean
}

export interface SearchSummary {
  entries: number
  pages: number
  /** More entries match than were printed (one page without --all, or a reader that left). */
  has_more: boolean
  cursor: string | null
  via: Via
}

/** Takes one page of entries as it arrives; answering false stops the search (the reader went away). */
export type PageSink = (entries: LogEntry[]) => Promise<boolean | void>

interface Page {
  entries: LogEntry[]
  has_more: boolean
  cursor: string | null
}

/**
 * `krafter-logs search`: GET /logs/search of the running serve, or the engine itself when serve
 * does not run. Pages go to `onPage` one at a time and are not kept, so `--all` over millions of
 * entries holds one page in memory. `to` is fixed once (now, unless given), so every page of an
 * `--all` covers the same range.
 */
export const runSearch = async (ctx: OpsContext, request: SearchRequest, onPage: PageSink): Promise<SearchSummary> => {
  const project = projectByRef(ctx, request.project)
  const now = ctx.clock()
  const raw: Record<string, unknown> = { project_id: project.id, to: String(now.getTime()) }
  for (const [key, value] of Object.entries(request.filters)) if (value !== undefined) raw[key] = value
  const input = parseInput(SearchInput, raw, 'search')
  // from/to, level and q checked before any server call or engine start (a bad q names its position).
  compileFilters(input, now)

  const follow = async (fetchPage: (cursor: string | undefined) => Promise<Page>) => {
    let cursor: string | undefined
    let entries = 0
    let pages = 0
    for (;;) {
      const page = await fetchPage(cursor)
      pages++
      entries += page.entries.length
      const reading = (await onPage(page.entries)) !== false
      if (!request.all || !reading || !page.has_more || !page.cursor) return { entries, pages, has_more: page.has_more, cursor: page.cursor }
      cursor = page.cursor
    }
  }

  const { result, via } = await viaServerOrEngine(ctx, {
    server: (runtime) =>
      follow(async (cursor) => {
        const answer = await callServerAnswer(runtime, 'GET', `/logs/search?${queryString({ ...input, cursor })}`, SearchPageAnswer)
        return { entries: answer.data, has_more: answer.has_more, cursor: answer.cursor }
      }),
    direct: (engine) => follow((cursor) => searchLogs(engine, { ...input, cursor }, now)),
  })
  return { ...result, via }
}
