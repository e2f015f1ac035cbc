import type { z } from 'zod'
import { AppError } from './errors.js'

/** Validates input outside HTTP (the CLI) with the same schemas and the same error shape. */
export const parseInput = <S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.infer<S> => {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const details = result.error.issues.map((issue) => ({
    field:
      issue.code === 'unrecognized_keys'
        ? [...issue.path, issue.keys.join(',')].join('.')
        : issue.path.join('.') || what,
    message: issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message,
  }))
  throw new AppError('validation_error', `Invalid ${what}: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, {
    details,
  })
}
