import { cleanMsg, SyslogParseError, type SdElement, type SyslogMessage } from './message.js'

/**
 * RFC 5424 §6: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
 * STRUCTURED-DATA [SP MSG]`. `-` (NILVALUE) fields are absent. Lenient where it costs nothing
 * (lowercase `t`/`z`, up to 9 fraction digits, long header fields); strict where a guess would
 * store a wrong value (a timestamp without a zone, broken structured data).
 */

/** What follows the PRI in an RFC 5424 message: its VERSION and a space. */
export const RFC5424_VERSION = /^[1-9]\d{0,2} /

// TIME-SECFRAC is 1*6DIGIT; senders with nanoseconds exist and the entry rules take up to 9.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

const NIL = '-'

class Cursor {
  constructor(
    readonly text: string,
    public pos: number,
  ) {}

  /** The header field up to the next space, which is consumed. */
  field(name: string): string | undefined {
    const end = this.text.indexOf(' ', this.pos)
    if (end === -1 || end === this.pos) throw new SyslogParseError(`RFC 5424 header has no ${name} (fields are separated by single spaces)`)
    const value = this.text.slice(this.pos, end)
    this.pos = end + 1
    return value === NIL ? undefined : value
  }
}

export const parseRfc5424 = (text: string, pri: { facility: SyslogMessage['facility']; severity: number; end: number }): SyslogMessage => {
  const version = RFC5424_VERSION.exec(text.slice(pri.end, pri.end + 4))
  if (!version || version[0] !== '1 ') throw new SyslogParseError(`RFC 5424 VERSION ${version?.[0].trim() ?? '?'} is not supported (only 1)`)
  const c = new Cursor(text, pri.end + 2)
  const timestamp = c.field('TIMESTAMP')
  if (timestamp !== undefined && !TIMESTAMP.test(timestamp)) {
    throw new SyslogParseError('RFC 5424 TIMESTAMP must be RFC 3339 with a zone (2003-10-11T22:14:15.003Z) or -')
  }
  const hostname = c.field('HOSTNAME')
  const appName = c.field('APP-NAME')
  const procId = c.field('PROCID')
  // MSGID is followed by STRUCTURED-DATA, which may end the message.
  const msgIdEnd = text.indexOf(' ', c.pos)
  if (msgIdEnd === -1 || msgIdEnd === c.pos) throw new SyslogParseError('RFC 5424 header has no STRUCTURED-DATA after MSGID')
  const msgId = text.slice(c.pos, msgIdEnd)
  const sd = parseStructuredData(text, msgIdEnd + 1)
  let msg: string | undefined
  if (sd.end < text.length) {
    if (text.charCodeAt(sd.end) !== 0x20) {
      // Only a line end may follow directly (a frame's trailer): anything else is broken SD.
      if (cleanMsg(text.slice(sd.end)) !== undefined) throw new SyslogParseError('RFC 5424 STRUCTURED-DATA must be followed by a space and MSG')
    } else {
      msg = cleanMsg(text.slice(sd.end + 1))
    }
  }
  return {
    format: 'rfc5424',
    facility: pri.facility,
    severity: pri.severity,
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(appName !== undefined ? { appName } : {}),
    ...(procId !== undefined ? { procId } : {}),
    ...(msgId !== NIL ? { msgId } : {}),
    structuredData: sd.elements,
    ...(msg !== undefined ? { msg } : {}),
  }
}

// SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'. Longer names are kept (lenient).
const isNameChar = (code: number): boolean => code > 32 && code < 127 && code !== 0x3d && code !== 0x5d && code !== 0x22

const sdError = (what: string): SyslogParseError => new SyslogParseError(`RFC 5424 STRUCTURED-DATA: ${what}`)

/** `-` or one or more `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]` (§6.3), from `pos`. */
export const parseStructuredData = (text: string, pos: number): { elements: SdElement[]; end: number } => {
  if (text.charCodeAt(pos) === 0x2d /* - */) {
    const next = text.charCodeAt(pos + 1)
    // `-` is the whole field: end of message, a space before MSG, or a frame's line end.
    if (pos + 1 >= text.length || next === 0x20 || next === 0x0a || next === 0x0d || next === 0) return { elements: [], end: pos + 1 }
    throw sdError('must be - or start with [')
  }
  if (text.charCodeAt(pos) !== 0x5b /* [ */) throw sdError('must be - or start with [')
  const elements: SdElement[] = []
  let i = pos
  while (text.charCodeAt(i) === 0x5b) {
    const start = i
    i++
    const idStart = i
    while (i < text.length && isNameChar(text.charCodeAt(i))) i++
    if (i === idStart) throw sdError('an element has no SD-ID')
    const id = text.slice(idStart, i)
    const params: [string, string][] = []
    while (text.charCodeAt(i) === 0x20) {
      i++
      const nameStart = i
      while (i < text.length && isNameChar(text.charCodeAt(i))) i++
      if (i === nameStart) throw sdError(`a parameter of [${id}] has no name`)
      const name = text.slice(nameStart, i)
      if (text.charCodeAt(i) !== 0x3d || text.charCodeAt(i + 1) !== 0x22) throw sdError(`parameter ${name} of [${id}] must be name="value"`)
      i += 2
      // PARAM-VALUE: `"`, `\` and `]` are escaped with `\`; any other `\` is kept as it is (§6.3.3).
      let value = ''
      let chunk = i
      for (;;) {
        if (i >= text.length) throw sdError(`the value of ${name} in [${id}] has no closing quote`)
        const code = text.charCodeAt(i)
        if (code === 0x22) break
        if (code === 0x5c) {
          const next = text.charCodeAt(i + 1)
          if (next === 0x22 || next === 0x5c || next === 0x5d) {
            value += text.slice(chunk, i)
            chunk = i + 1
            i += 2
            continue
          }
        }
        i++
      }
      value += text.slice(chunk, i)
      i++
      params.push([name, value])
    }
    if (text.charCodeAt(i) !== 0x5d) throw sdError(`[${id}] must end with ]`)
    i++
    elements.push({ id, params, text: text.slice(start, i) })
  }
  return { elements, end: i }
}
