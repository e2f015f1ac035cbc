import { render } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import './styles.css'
import { setUnauthorizedHandler } from './api.js'
import { SignIn } from './pages/SignIn.js'
import { Shell } from './Shell.js'
import { loadSession, type Session, SessionContext } from './session.js'

const App = () => {
  const [session, setSession] = useState<Session | null | undefined>(undefined)
  const refresh = useCallback(() => void loadSession().then(setSession), [])
  useEffect(() => {
    refresh()
    setUnauthorizedHandler(() => setSession(null))
  }, [refresh])
  if (session === undefined) return <div class="boot" aria-busy="true" />
  if (session === null) return <SignIn onSignedIn={setSession} />
  return (
    <SessionContext.Provider value={session}>
      <Shell onSignedOut={() => setSession(null)} />
    </SessionContext.Provider>
  )
}

render(<App />, document.getElementById('app')!)
