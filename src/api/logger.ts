import pino, { type Logger } from 'pino'

/** Every place a token can travel in a request; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.query.api_key',
  'api_key',
  'token',
  'ingest_token',
  'team_api_key',
  '*.api_key',
  '*.token',
  '*.ingest_token',
  '*.team_api_key',
]

/**
 * `?api_key=…`, a login link's and a viewer token's `?token=…` in a logged URL are replaced too:
 * the query string is part of `req.url`. So is an anonymous stream's token, a path segment
 * (`/streams/<token>/events`; `/streams/claim` has none).
 */
export const redactUrl = (url: string): string =>
  url.replace(/([?&](?:api_key|token)=)[^&#]*/gi, '$1[redacted]').replace(/(\/streams\/)(?!claim(?:[/?#]|$))[^/?#]+/gi, '$1[redacted]')

export interface LoggerOptions {
  level: string
  /** Human-readable output (pino-pretty); default: when stdout is a TTY. */
  pretty?: boolean
  destination?: pino.DestinationStream
}

export const createLogger = (options: LoggerOptions): Logger => {
  const base: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip,
      }),
    },
  }
  if (options.destination) return pino(base, options.destination)
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY)
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } })
  }
  return pino(base)
}
