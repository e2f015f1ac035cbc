import { useState } from 'preact/hooks'
import { ErrorBanner, useSubmit } from '../components/ui.js'
import { type Session, signIn } from '../session.js'

/** Paste a team key; it is sent once to POST /sessions and then forgotten (only the cookie stays). */
export const SignIn = ({ onSignedIn }: { onSignedIn: (s: Session | null) => void }) => {
  const [key, setKey] = useState('')
  const { busy, error, run } = useSubmit()
  return (
    <main class="signin">
      <form
        class="card"
        onSubmit={run(async () => {
          const s = await signIn(key.trim())
          setKey('')
          onSignedIn(s)
        })}
      >
        <h1>Krafter Logs</h1>
        <label>
          Team API key
          <input name="api_key" type="password" autoComplete="off" placeholder="kr_live_…" value={key} onInput={(e) => setKey(e.currentTarget.value)} autoFocus required />
        </label>
        <p class="hint">
          Or run <code>krafter-logs open</code> on the server for a one-time login link.
        </p>
        <ErrorBanner error={error} />
        <button class="btn primary" type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
    </main>
  )
}
