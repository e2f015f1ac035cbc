import { z } from 'zod'
import { openInBrowser } from '../engine/managed/process.js'
import { UserError } from '../errors.js'
import type { OpsContext } from './context.js'
import { callServer } from './server-client.js'

const LoginLinkAnswer = z.object({ token: z.string(), path: z.string().startsWith('/login?'), expires_at: z.string() })

export interface OpenResult {
  /** The one-time login link: works once, until expires_at (5 minutes). */
  url: string
  expires_at: string
  /** Whether a browser was started with it. */
  opened: boolean
  /** Why not, when it was not. */
  not_opened_because: string | null
}

/** A desktop session to open a browser in: an X11 or Wayland display. */
export const desktopAvailable = (env: NodeJS.ProcessEnv): boolean => Boolean(env.DISPLAY || env.WAYLAND_DISPLAY)

/**
 * `open`: asks the running serve (as its local admin) for a one-time login link to the console
 * and, where a desktop is available and not told otherwise, opens it in the browser. The session
 * the link starts acts as the local admin: every scope, every project, for console.session_hours.
 */
export const openConsole = async (ctx: OpsContext, options: { open: boolean; env: NodeJS.ProcessEnv }): Promise<OpenResult> => {
  if (!ctx.runtime) {
    throw new UserError(`krafter-logs open signs a browser in to the console of a running serve, and none runs on ${ctx.paths.root}.`, {
      suggestions: ['Start it with `krafter-logs serve` (or `systemctl start krafter-logs`), then run open again.'],
    })
  }
  const link = await callServer(ctx.runtime, 'POST', '/sessions/login-links', LoginLinkAnswer)
  const url = new URL(link.path, ctx.runtime.url).toString()
  let notOpened: string | null = null
  if (!options.open) notOpened = '--no-open'
  else if (!desktopAvailable(options.env)) notOpened = 'no desktop here (DISPLAY and WAYLAND_DISPLAY are unset)'
  else {
    const started = await openInBrowser(url)
    if (!started.ok) notOpened = started.error
  }
  return { url, expires_at: link.expires_at, opened: notOpened === null, not_opened_because: notOpened }
}
