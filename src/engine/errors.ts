import { AppError } from '../errors.js'
import type { QueryLimits } from './core.js'

/**
 * What an engine error means, by ClickHouse error code (the client's `ClickHouseError.code`),
 * not by message text: the data of one request (that request is at fault), the engine not
 * able to work now (clients retry: 503), or anything else (a bug in our SQL or schema).
 */
export type EngineErrorKind = 'data' | 'unavailable' | 'bug'

// Codes (src/Common/ErrorCodes.cpp in ClickHouse) for input the engine could not parse or convert: the rows are at fault.
const DATA_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  130, // CANNOT_READ_ARRAY_FROM_TEXT
])

// Codes for an engine that cannot take work now but will: overload, limits, restarts.
const UNAVAILABLE_CODES = new Set([
  3, // UNEXPECTED_END_OF_FILE (connection cut)
  159, // TIMEOUT_EXCEEDED
  164, // READONLY
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  243, // NOT_ENOUGH_SPACE
  252, // TOO_MANY_PARTS
  236, // ABORTED
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  204, // CANNOT_FSYNC
  265, // NO_AVAILABLE_REPLICA
  279, // ALL_CONNECTION_TRIES_FAILED
  285, // TOO_FEW_LIVE_REPLICAS
  999, // KEEPER_EXCEPTION
  173, // CANNOT_ALLOCATE_MEMORY
  439, // CANNOT_SCHEDULE_TASK
])

// Connection-level failures carry no ClickHouse code, only a Node error code (ours for a
// closed embedded engine, see embedded.ts).
export const ENGINE_CLOSED = 'ENGINE_CLOSED'
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  ENGINE_CLOSED,
])

/**
 * @clickhouse/client's request timeout is the one failure it raises with neither a ClickHouse
 * nor a Node code (socket_pool.js): recognised by its exact, fixed message, nothing looser.
 */
const CLIENT_TIMEOUT_MESSAGE = 'Timeout error.'

/**
 * The ClickHouse error code of `err`: the client's `ClickHouseError.code`, or for servers
 * whose error text the client does not parse (before 19.x: "Code: 6, e.displayText() = …")
 * the code that text starts with. Undefined for failures that never reached ClickHouse.
 */
export const clickhouseErrorCode = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code)
  if (typeof code === 'number') return code
  if (code === undefined && err instanceof Error) {
    const prefix = /^\s*Code: (\d+)[.,]/.exec(err.message)
    if (prefix) return Number(prefix[1])
  }
  return undefined
}

export const engineErrorKind = (err: unknown): EngineErrorKind => {
  const code = clickhouseErrorCode(err)
  if (code !== undefined) {
    if (DATA_CODES.has(code)) return 'data'
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable'
    return 'bug'
  }
  const errno = (err as { code?: unknown } | null)?.code
  if (typeof errno === 'string' && UNAVAILABLE_ERRNO.has(errno)) return 'unavailable'
  if (err instanceof Error && err.message === CLIENT_TIMEOUT_MESSAGE) return 'unavailable'
  return 'bug'
}

/** Seconds a client waits before retrying an engine that could not work. */
export const ENGINE_RETRY_AFTER_SECONDS = 1

/** 503 engine_unavailable for an engine failure of the 'unavailable' kind; nothing internal shown. */
export const engineUnavailable = (cause: unknown, message = 'The log engine is unavailable; retry shortly'): AppError =>
  new AppError('engine_unavailable', message, { cause, headers: { 'retry-after': String(ENGINE_RETRY_AFTER_SECONDS) } })

// A read that went past its limits (config `query`, set on every read by logs/search.ts).
const READ_TIMEOUT_CODES = new Set([
  159, // TIMEOUT_EXCEEDED (max_execution_time)
  158, // TOO_MANY_ROWS
  307, // TOO_MANY_BYTES
])
const READ_MEMORY_CODE = 241 // MEMORY_LIMIT_EXCEEDED

/**
 * The answer for a read stopped by its limits: too long → 400 naming the range to narrow (the
 * same read will fail again; a narrower one will not); too much memory → 503 with Retry-After
 * (the engine may have been short of memory for other work too), saying what to narrow.
 * undefined for any other failure.
 */
export const readLimitError = (err: unknown, limits: QueryLimits): AppError | undefined => {
  const code = clickhouseErrorCode(err)
  if (code !== undefined && READ_TIMEOUT_CODES.has(code)) {
    const seconds = limits.timeoutMs / 1000
    const message = `the query did not finish within the ${seconds} s limit (query.timeout_ms): narrow the time range (from, to) or make the query more selective`
    return new AppError('validation_error', `Query too expensive: ${message}`, { cause: err, details: [{ field: 'from', message }] })
  }
  if (code === READ_MEMORY_CODE) {
    const mb = Math.round(limits.maxMemoryBytes / 1024 / 1024)
    return engineUnavailable(err, `The query needed more than the ${mb} MiB of engine memory a read may use (query.max_memory_mb): narrow the time range or the query, or retry`)
  }
  return undefined
}
