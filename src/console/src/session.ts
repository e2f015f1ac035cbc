import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import { api, setCsrfToken } from './api.js'

export type Scope = 'logs:read' | 'logs:write' | 'admin'

export interface Session {
  csrf_token: string
  expires_at: string
  scopes: Scope[]
  /** null: every project of the team */
  project_ids: string[] | null
  key: { id: string; name: string; prefix: string } | null
}

/** The signed-in session, or null when there is none (expired, logged out, never signed in). */
export const loadSession = async (): Promise<Session | null> => {
  try {
    const s = await api<Session>('GET', '/sessions/current')
    setCsrfToken(s.csrf_token)
    return s
  } catch {
    setCsrfToken(undefined)
    return null
  }
}

/** Exchanges a pasted team key for the session cookie; the key is not kept anywhere. */
export const signIn = async (apiKey: string): Promise<Session | null> => {
  const created = await api<{ csrf_token: string }>('POST', '/sessions', { body: { api_key: apiKey } })
  setCsrfToken(created.csrf_token)
  return loadSession()
}

export const signOut = async (): Promise<void> => {
  try {
    await api('DELETE', '/sessions/current')
  } finally {
    setCsrfToken(undefined)
  }
}

export const SessionContext = createContext<Session | null>(null)

export interface Abilities {
  session: Session
  canWrite: boolean
  isAdmin: boolean
}

export const useSession = (): Abilities => {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside a signed-in shell')
  return { session, canWrite: session.scopes.includes('logs:write'), isAdmin: session.scopes.includes('admin') }
}
