import type { z } from 'zod'
import { AppError, type FieldError } from './errors.js'

/**
 * What the converter needs of an issue: a zod issue as is, or the same fields carried by
 * another layer (fastify-type-provider-zod spreads them into `validation[]`: path from
 * `instancePath`, code as `keyword`, `keys` in `params`).
 */
export interface IssueLike {
  readonly path: readonly PropertyKey[]
  readonly code: string
  readonly message?: string
  readonly keys?: readonly string[]
}

/**
 * Zod issues → API.md's field errors: the dotted path of the field at fault (`whole` when the
 * issue is about the value as a whole); an unknown key is named itself, since that is what the
 * client has to remove.
 */
export const fieldErrorsOf = (issues: readonly IssueLike[], whole: string): FieldError[] =>
  issues.map((issue) => {
    const path = issue.path.map(String)
    if (issue.code === 'unrecognized_keys') {
      return { field: [...path, (issue.keys ?? []).join(',')].filter(Boolean).join('.'), message: 'is not a known field' }
    }
    return { field: path.join('.') || whole, message: issue.message ?? 'is invalid' }
  })

/** Validates input outside HTTP (the CLI) with the same schemas and the same error shape. */
export const parseInput = <S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.infer<S> => {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const details = fieldErrorsOf(result.error.issues, what)
  throw new AppError('validation_error', `Invalid ${what}: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, {
    details,
  })
}
