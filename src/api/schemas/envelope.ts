import { z } from 'zod'
import { STATUS_BY_CODE, type ErrorCode } from '../../errors.js'

/**
 * The envelopes of API.md. Routes serialize their answers through these (the zod type provider
 * parses before it stringifies), so a field missing here would be dropped from the answer:
 * each schema names every field its payload has (checked at compile time in resources.ts).
 */
export const RequestId = z.string().meta({ description: 'The request id, also sent as X-Request-Id' })

export const envelope = <S extends z.ZodType>(data: S) => z.object({ data, request_id: RequestId })

export const pageEnvelope = <S extends z.ZodType>(item: S) =>
  z.object({
    data: z.array(item),
    has_more: z.boolean(),
    cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page' }),
    request_id: RequestId,
  })

export const FieldError = z.object({ field: z.string(), message: z.string() }).meta({ id: 'FieldError' })

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(STATUS_BY_CODE) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.array(FieldError).optional(),
    }),
    request_id: RequestId,
  })
  .meta({ id: 'Error' })

/** Every route may answer any client error or 500/503 in the error envelope. */
export const errorResponses = { '4xx': ErrorEnvelope, '5xx': ErrorEnvelope } as const

/** 204: no body at all. */
export const NoContent = z.undefined().meta({ description: 'No content' })
