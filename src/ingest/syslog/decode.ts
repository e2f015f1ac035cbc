import type { FieldError } from '../../errors.js'
import { parsePri, SyslogParseError, type SyslogMessage } from './message.js'
import { parseRfc3164, type Rfc3164Context } from './rfc3164.js'
import { parseRfc5424, RFC5424_VERSION } from './rfc5424.js'

const TRAILING_LINE_END = /[\r\n\0]+$/

/**
 * One syslog message (a TCP frame or a UDP datagram) → its fields, RFC 5424 or RFC 3164 by
 * what follows the PRI. Throws SyslogParseError for what cannot be read. Text is UTF-8; bytes
 * that are not (MSG-ANY may be any charset) become U+FFFD rather than lose the message.
 */
export const parseSyslog = (bytes: Buffer, ctx: Rfc3164Context): SyslogMessage => {
  const text = bytes.toString('utf8').replace(TRAILING_LINE_END, '')
  if (text === '') throw new SyslogParseError('is empty')
  const pri = parsePri(text)
  if (RFC5424_VERSION.test(text.slice(pri.end, pri.end + 4))) return parseRfc5424(text, pri)
  return parseRfc3164(text, pri, ctx)
}

/** The SD-ID whose element names the project by its ingest token (API.md); never stored. */
export const TOKEN_SD_ID = 'krafter'

/** `exampleSDID@32473` → `exampleSDID`: the path is the same whoever's enterprise number it carries. */
const baseId = (id: string): string => id.replace(/@\d+$/, '')

export interface SyslogEntry {
  /** API.md's entry shape, for the pipeline's entry rules. */
  value: { message: string; level: number; timestamp?: string; service?: string; metadata: Record<string, unknown> }
  /** From `[krafter@32473 token="krl_live_…"]`: the project to store the message in instead of the listener's. */
  token?: string
}

/**
 * The mapping of API.md: severity → level (the entry rules map syslog's 0–7), APP-NAME →
 * service, MSG → message, header time → timestamp; hostname, facility, procid and msgid →
 * metadata.syslog; structured data → metadata.sd.<id>.<param> (a repeated parameter becomes a
 * list). A message without MSG keeps its structured data as its text, so it is not lost.
 */
export const entryOf = (m: SyslogMessage): SyslogEntry => {
  const syslog: [string, string][] = []
  if (m.hostname !== undefined) syslog.push(['hostname', m.hostname])
  syslog.push(['facility', m.facility])
  if (m.procId !== undefined) syslog.push(['procid', m.procId])
  if (m.msgId !== undefined) syslog.push(['msgid', m.msgId])
  let token: string | undefined
  // Maps, then Object.fromEntries: names from the wire (even `__proto__`) stay plain own keys.
  const sd = new Map<string, Map<string, string | string[]>>()
  const kept: string[] = []
  for (const element of m.structuredData) {
    const id = baseId(element.id)
    if (id === TOKEN_SD_ID) {
      token ??= element.params.find(([name]) => name === 'token')?.[1]
      continue
    }
    kept.push(element.text)
    let params = sd.get(id)
    if (!params) sd.set(id, (params = new Map()))
    for (const [name, value] of element.params) {
      const previous = params.get(name)
      params.set(name, previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value])
    }
  }
  const metadata: Record<string, unknown> = { syslog: Object.fromEntries(syslog) }
  if (sd.size > 0) metadata.sd = Object.fromEntries([...sd].map(([id, params]) => [id, Object.fromEntries(params)]))
  return {
    value: {
      message: m.msg ?? kept.join(''),
      level: m.severity,
      ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
      ...(m.appName !== undefined ? { service: m.appName } : {}),
      metadata,
    },
    ...(token !== undefined ? { token } : {}),
  }
}

/** A frame → the entry it holds, or why it is refused (a FieldError, as the pipeline counts refusals). */
export const decodeSyslog = (bytes: Buffer, ctx: Rfc3164Context): SyslogEntry | { refused: FieldError } => {
  try {
    return entryOf(parseSyslog(bytes, ctx))
  } catch (err) {
    if (err instanceof SyslogParseError) return { refused: { field: err.field, message: err.message } }
    throw err
  }
}
