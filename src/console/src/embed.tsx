import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import './styles.css'
import { setBearerToken, setUnauthorizedHandler } from './api.js'
import { Explorer } from './pages/explore/Explore.js'
import { readState } from './pages/explore/state.js'
import { useRoute } from './url-state.js'

// /embed?token=<viewer token>: a read-only explorer (search, list, live tail) for an iframe,
// locked to the token's project and fixed filter. The server enforces both on every call; the
// page only reads the token's claims to say what it shows. The token is sent as a bearer
// header (and as ?token= for the tail's EventSource), and is never put in browser storage.
const token = new URLSearchParams(location.search).get('token') ?? ''
setBearerToken(token)

interface Claims {
  project: string
  q?: string
  exp: number
}

/** The claims part of the JWT, unverified (the server verifies it on every request). */
const claimsOf = (jwt: string): Claims | undefined => {
  try {
    const part = jwt.split('.')[1] ?? ''
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    return typeof json.project === 'string' && typeof json.exp === 'number' ? json : undefined
  } catch {
    return undefined
  }
}

const Message = ({ title, children }: { title: string; children: string }) => (
  <main class="page" data-testid="embed-message">
    <h1>{title}</h1>
    <p>{children}</p>
  </main>
)

const Embed = () => {
  const route = useRoute()
  const claims = claimsOf(token)
  const [expired, setExpired] = useState(() => !!claims && claims.exp * 1000 <= Date.now())
  useEffect(() => {
    setUnauthorizedHandler(() => setExpired(true))
    if (!claims) return
    const t = setTimeout(() => setExpired(true), Math.max(0, claims.exp * 1000 - Date.now()))
    return () => clearTimeout(t)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])
  // "/" focuses the query here too.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null
      if (e.key !== '/' || (t && ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return
      e.preventDefault()
      document.getElementById('query-input')?.focus()
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [])

  if (!claims) return <Message title="No viewer token">This viewer needs a link with a valid viewer token (?token=…). Ask for a new link.</Message>
  if (expired) return <Message title="This viewer link is not valid">It has expired or was changed: viewer links are valid for a limited time. Ask for a new link.</Message>
  const state = { ...readState(route.query), project: claims.project }
  if (state.view === 'patterns') state.view = 'list'
  const lead = (
    <span class="viewer-lock hint" data-testid="viewer-lock" title="This viewer is limited to one project and filter">
      🔒 read-only{claims.q ? <>, always <code data-testid="viewer-filter">{claims.q}</code></> : null}
    </span>
  )
  return <Explorer state={state} options={{ facets: false, patterns: false, exportLinks: false, lead }} />
}

document.body.classList.add('embed')
render(<Embed />, document.getElementById('app')!)
