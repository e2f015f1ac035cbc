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
])

// Connection-level failures carry no ClickHouse code, only a Node error code.
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET'])

const clickhouseCode = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code)
  if (typeof code === 'number') return code
  return undefined
}

export const engineErrorKind = (err: unknown): EngineErrorKind => {
  const code = clickhouseCode(err)
  if (code !== undefined) {
    if (DATA_CODES.has(code)) return 'data'
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable'
    return 'bug'
  }
  const errno = (err as { code?: unknown } | null)?.code
  if (typeof errno === 'string' && UNAVAILABLE_ERRNO.has(errno)) return 'unavailable'
  // The client's own failures (socket hang up, request timeout, closed client) name no code.
  const message = err instanceof Error ? err.message : String(err)
  if (/socket hang up|timeout|closed|not connected|ECONN|EPIPE/i.test(message)) return 'unavailable'
  return 'bug'
}
