import { useEffect } from 'preact/hooks'
import { Alerts } from './pages/Alerts.js'
import { Audit } from './pages/Audit.js'
import { Explore } from './pages/explore/Explore.js'
import { Keys } from './pages/Keys.js'
import { Projects } from './pages/Projects.js'
import { signOut, useSession } from './session.js'
import { linkClick, useRoute } from './url-state.js'

interface NavItem {
  path: string
  label: string
  admin?: boolean
}
const NAV: NavItem[] = [
  { path: '/', label: 'Explore' },
  { path: '/projects', label: 'Projects' },
  { path: '/alerts', label: 'Alerts' },
  { path: '/keys', label: 'API keys', admin: true },
  { path: '/audit', label: 'Audit log', admin: true },
]

const pageOf = (path: string, isAdmin: boolean) => {
  if (path === '/' || path === '/explore') return <Explore />
  if (path.startsWith('/projects')) return <Projects />
  if (path.startsWith('/alerts')) return <Alerts />
  if (path.startsWith('/keys') && isAdmin) return <Keys />
  if (path.startsWith('/audit') && isAdmin) return <Audit />
  return (
    <main class="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>.
      </p>
    </main>
  )
}

/** The signed-in console: navigation, who is signed in, sign-out, and the page of the URL. */
export const Shell = ({ onSignedOut }: { onSignedOut: () => void }) => {
  const { session, isAdmin, canWrite } = useSession()
  const route = useRoute()
  // "/" focuses the query bar from anywhere (unless typing in a field).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return
      const q = document.getElementById('query-input')
      if (q) {
        e.preventDefault()
        q.focus()
      }
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [])
  const active = (item: NavItem) => (item.path === '/' ? route.path === '/' || route.path === '/explore' : route.path.startsWith(item.path))
  return (
    <div class="shell">
      <nav class="topnav" aria-label="Main">
        <span class="brand">Krafter Logs</span>
        {NAV.filter((n) => !n.admin || isAdmin).map((n) => (
          <a key={n.path} href={n.path} class={active(n) ? 'active' : ''} aria-current={active(n) ? 'page' : undefined} onClick={linkClick(n.path)}>
            {n.label}
          </a>
        ))}
        <span class="spacer" />
        {!canWrite && <span class="badge" title="This key has no logs:write scope">read-only</span>}
        <span class="who" data-testid="who">{session.key ? `${session.key.name} (${session.key.prefix}…)` : 'local admin'}</span>
        <button
          type="button"
          class="btn ghost"
          data-testid="sign-out"
          onClick={async () => {
            await signOut().catch(() => undefined)
            onSignedOut()
          }}
        >
          Sign out
        </button>
      </nav>
      {pageOf(route.path, isAdmin)}
    </div>
  )
}
