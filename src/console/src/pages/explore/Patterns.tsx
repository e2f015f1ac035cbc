import type { Filters, LogEntry } from './state.js'

export interface PatternsProps {
  filters: Filters
  /** Opens a pattern's sample entry in the details panel. */
  onOpen: (entry: LogEntry) => void
}

/** The patterns view (stub: helper "facets" implements it). */
export const PatternsView = (_props: PatternsProps) => <section class="patterns" data-testid="patterns" />
