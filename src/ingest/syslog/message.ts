/**
 * A syslog message as both formats carry it, before it becomes a log entry. RFC 5424 and
 * RFC 3164 are told apart per message by what follows the PRI (`<34>1 2003-…` is 5424).
 */

/** RFC 5424 §6.2.1 table 1, by number; names as syslog-ng and rsyslog spell them. */
export const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const

export type Facility = (typeof FACILITIES)[number]

export interface SdElement {
  /** As sent, `exampleSDID@32473`. */
  id: string
  params: [name: string, value: string][]
  /** The element's text as sent (`[id a="1"]`), for a message that has no MSG. */
  text: string
}

export interface SyslogMessage {
  format: 'rfc5424' | 'rfc3164'
  facility: Facility
  /** 0 emergency … 7 debug. */
  severity: number
  /** RFC 3339 text; absent when the header has none (the entry then takes the time of receipt). */
  timestamp?: string
  hostname?: string
  appName?: string
  procId?: string
  msgId?: string
  structuredData: SdElement[]
  /** MSG without a leading BOM or the frame's trailing line end; absent when there is none. */
  msg?: string
}

/** Why a message could not be read; the listener passes it on as a refused record naming `field`. */
export class SyslogParseError extends Error {
  constructor(
    message: string,
    readonly field = 'syslog',
  ) {
    super(message)
  }
}

/** `<PRI>` at the start: the facility, the severity and where the rest begins. */
export const parsePri = (text: string): { facility: Facility; severity: number; end: number } => {
  if (text.charCodeAt(0) !== 0x3c) throw new SyslogParseError('does not start with a <PRI> (e.g. <13>)')
  const close = text.indexOf('>', 1)
  const digits = close === -1 ? '' : text.slice(1, close)
  // PRIVAL = 1*3DIGIT, 0..191; a leading zero only for 0 itself (RFC 5424 §6.2.1).
  if (!/^(0|[1-9]\d{0,2})$/.test(digits) || Number(digits) > 191) {
    throw new SyslogParseError('has no valid <PRI> (a number from 0 to 191 in angle brackets)')
  }
  const value = Number(digits)
  return { facility: FACILITIES[value >> 3]!, severity: value & 7, end: close + 1 }
}

const TRAILING_LINE_END = /[\r\n\0]+$/

/** MSG as stored: without the UTF-8 BOM RFC 5424 puts before UTF-8 text, nor a trailing line end. */
export const cleanMsg = (msg: string): string | undefined => {
  let m = msg.charCodeAt(0) === 0xfeff ? msg.slice(1) : msg
  m = m.replace(TRAILING_LINE_END, '')
  return m === '' ? undefined : m
}
