import type { ExploreState, Filters } from './state.js'

export interface FacetsProps {
  state: ExploreState
  filters: Filters
  /** Include (or exclude) a field value: the page toggles the clause in q (state.toggleClause). */
  onToggle: (field: string, value: string, exclude: boolean) => void
  /** The metadata paths to show besides level, service and stream (kept in the URL). */
  onFields: (fields: string[]) => void
}

/** The facets sidebar (stub: helper "facets" implements it). */
export const FacetsSidebar = (_props: FacetsProps) => <aside class="facets" data-testid="facets" />
