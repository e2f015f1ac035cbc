import { z } from 'zod'

/**
 * The OTLP/HTTP answers (API.md "Standard ingest protocols"): ExportLogsServiceResponse in the
 * request's encoding. This is its OTLP JSON form (lowerCamelCase names, int64 as a decimal
 * string); a protobuf request gets the same message as application/x-protobuf. Errors (400,
 * 401, 413, 415, 429, 503) are the API's error envelope, whatever the request's encoding.
 */
export const OtlpPartialSuccess = z
  .object({
    rejectedLogRecords: z.string().meta({ description: 'How many log records were refused (int64, as a decimal string)' }),
    errorMessage: z.string().meta({ description: 'Each refused record (the first 100) by its place in the request, with the field at fault and why' }),
  })
  .meta({ id: 'OtlpExportLogsPartialSuccess' })

export const OtlpExportLogsResponse = z
  .object({
    partialSuccess: OtlpPartialSuccess.optional().meta({ description: 'Present only when records were refused; the others are stored' }),
  })
  .meta({
    id: 'OtlpExportLogsServiceResponse',
    description: 'OTLP ExportLogsServiceResponse (JSON for a JSON request; a protobuf request gets it as application/x-protobuf)',
  })
