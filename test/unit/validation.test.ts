import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AppError } from '../../src/errors.js'
import { fieldErrorsOf, parseInput } from '../../src/validation.js'

const Shape = z.strictObject({ name: z.string().min(1), target: z.strictObject({ url: z.url() }) })

describe('fieldErrorsOf', () => {
  it('names the dotted path of each field at fault, and each unknown key itself', () => {
    const result = Shape.safeParse({ name: '', target: { url: 'nope', extra: 1 }, colour: 'red' })
    expect(result.success).toBe(false)
    const fields = fieldErrorsOf(result.error!.issues, 'body')
    expect(fields).toContainEqual({ field: 'target.extra', message: 'is not a known field' })
    expect(fields).toContainEqual({ field: 'colour', message: 'is not a known field' })
    expect(fields.map((f) => f.field)).toEqual(expect.arrayContaining(['name', 'target.url']))
  })

  it('names the whole value when the issue has no path', () => {
    const result = Shape.safeParse('a string')
    expect(fieldErrorsOf(result.error!.issues, 'alert rule')).toEqual([{ field: 'alert rule', message: result.error!.issues[0]!.message }])
  })

  it('gives parseInput the same details, in a validation_error', () => {
    let caught: unknown
    try {
      parseInput(Shape, { name: 'x', target: { url: 'https://example.com' }, colour: 1 }, 'alert rule')
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(AppError)
    expect((caught as AppError).code).toBe('validation_error')
    expect((caught as AppError).details).toEqual([{ field: 'colour', message: 'is not a known field' }])
  })
})
