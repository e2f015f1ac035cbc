import { useEffect, useState } from 'preact/hooks'

// The URL holds the whole view (page in the path, everything else in the query string), so a
// copied link reproduces it. Pages read with useRoute() and write with navigate()/patchQuery().

export interface Route {
  path: string
  query: URLSearchParams
}

const current = (): Route => ({ path: location.pathname, query: new URLSearchParams(location.search) })
const listeners = new Set<() => void>()
const notify = (): void => listeners.forEach((fn) => fn())
addEventListener('popstate', notify)

export const navigate = (path: string, query: Record<string, string | undefined> | URLSearchParams = {}, options: { replace?: boolean } = {}): void => {
  const params = query instanceof URLSearchParams ? query : new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''))
  const s = params.toString()
  const url = `${path}${s ? `?${s}` : ''}`
  if (url === `${location.pathname}${location.search}`) return
  if (options.replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  notify()
}

/** Sets (or, with undefined/'', removes) query parameters of the current page. */
export const patchQuery = (patch: Record<string, string | undefined>, options: { replace?: boolean } = {}): void => {
  const params = new URLSearchParams(location.search)
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === '') params.delete(k)
    else params.set(k, v)
  }
  navigate(location.pathname, params, options)
}

export const useRoute = (): Route => {
  const [route, setRoute] = useState(current)
  useEffect(() => {
    const fn = () => setRoute(current())
    listeners.add(fn)
    return () => void listeners.delete(fn)
  }, [])
  return route
}

/** Links that navigate in-app (plain left click) and still open in a new tab otherwise. */
export const linkClick = (path: string, query?: Record<string, string | undefined>) => (e: MouseEvent) => {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  navigate(path, query)
}
