import { z } from 'zod'

/**
 * What every route file declares alike: who may call (read by plugins/auth.ts from the route
 * config) and the query of a paged listing (API.md "Pagination"), defined once so a scope or
 * a page limit cannot drift between routes.
 */
export const read = { auth: { kind: 'team', scope: 'logs:read' } } as const
/** A read of one project's entries that a viewer token may also make (routes/reads.ts scopes it). */
export const readOrViewer = { auth: { kind: 'team', scope: 'logs:read', viewer: true } } as const
export const write = { auth: { kind: 'team', scope: 'logs:write' } } as const
export const admin = { auth: { kind: 'team', scope: 'admin' } } as const
/** Admin over the whole team: keys limited to some projects are refused. */
export const teamWide = { auth: { kind: 'team', scope: 'admin', teamWide: true } } as const

/** The fields of a paged listing's query; a listing with filters spreads them into its own. */
export const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(512).optional(),
}
export const ListQuery = z.object(page).strict()
/** Routes that take no query still refuse one, so a typo is not silently ignored. */
export const NoQuery = z.object({}).strict()
