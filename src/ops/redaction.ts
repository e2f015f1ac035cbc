import { hashText } from '../redaction/redact.js'
import {
  listRedactionRules,
  RedactionRegistry,
  RedactionTestInput,
  testRedaction,
  type RedactionTestResult,
} from '../redaction/rules.js'
import type { RedactionRule } from '../redaction/types.js'
import { parseInput } from '../validation.js'
import type { OpsContext } from './context.js'
import { projectByRef, projectIdOf } from './projects.js'

/*
 * Redaction from the CLI, directly on the data dir (rules and the hash key live in meta.sqlite,
 * so no serve is needed, and with one running the answers are the ones it gives: same rules,
 * same key).
 */

/** `redaction list`: the rules in effect for a project (id or exact name), or every rule of the team. */
export const redactionRules = (ctx: OpsContext, projectRef?: string): RedactionRule[] =>
  listRedactionRules(ctx, ctx.team.id, { projectId: projectIdOf(ctx, projectRef) })

export interface RedactionTestRequest {
  /** Project id or exact name. */
  project: string
  entries: unknown[]
  hash_values?: string[]
}

/** Only hashes asked for: the same validation of the values as POST /redaction/test. */
const HashOnlyInput = RedactionTestInput.pick({ project_id: true, hash_values: true })

/**
 * `redaction test`: POST /redaction/test on this machine (nothing is stored or counted). Without
 * entries, only the hash texts of `hash_values` (the API requires an entry; the CLI need not).
 */
export const testRedactionNow = (ctx: OpsContext, request: RedactionTestRequest): RedactionTestResult => {
  const project_id = projectByRef(ctx, request.project).id
  // Creates the install's hash key if nothing has used it yet, as serve would.
  const redaction = new RedactionRegistry(ctx.meta)
  if (request.entries.length === 0) {
    const input = parseInput(HashOnlyInput, { project_id, hash_values: request.hash_values }, 'redaction test')
    const hashes: Record<string, string> = {}
    // defineProperty: a value "__proto__" is a key like any other.
    for (const v of input.hash_values ?? []) Object.defineProperty(hashes, v, { value: hashText(redaction.key, v), enumerable: true })
    return { entries: [], hashes }
  }
  const input = parseInput(RedactionTestInput, { project_id, entries: request.entries, hash_values: request.hash_values }, 'redaction test')
  return testRedaction({ meta: ctx.meta, clock: ctx.clock, redaction }, ctx.team.id, input)
}
