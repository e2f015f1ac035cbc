import { cleanMsg, SyslogParseError, type SyslogMessage } from './message.js'
import { instantOf, isValidWallTime, rfc3339Of, wallTimeOf, type WallTime } from './time.js'

/**
 * RFC 3164 (BSD syslog, "observed behaviour"): `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`.
 * As the RFC tells a relay to (§4.3.2), a message whose TIMESTAMP cannot be read keeps all of
 * its text as the message and takes the time of receipt. Also read, as common senders write
 * them: an RFC 3339 timestamp instead of `Mmm dd hh:mm:ss` (rsyslog), fractional seconds, a
 * one-digit day with one space, and no HOSTNAME (a sender writing to a local socket).
 */

export interface Rfc3164Context {
  /** The listener's zone (IANA name): RFC 3164 times are the sender's local time, without a zone. */
  zone: string
  /** Time of receipt, epoch ms: the year comes from it. */
  nowMs: number
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

const BSD_TIME = /^([A-Za-z]{3}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?: +|$)/
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})?(?: +|$)/

/** How far ahead of receipt a yearless date may lie before it is taken to be last year's. */
export const YEAR_ROLLOVER_DAYS = 7

/**
 * The year of a yearless date: the latest of next, this and last year (in the zone) that puts
 * it at most a week ahead of receipt, so `Dec 31 23:59:59` received on Jan 1 is last year's and
 * `Jan  1 00:00:01` received a second before midnight on Dec 31 is next year's. None when the
 * date exists in none of them (Feb 30, or Feb 29 far from a leap year).
 */
const withYear = (fields: Omit<WallTime, 'year'>, ctx: Rfc3164Context): WallTime | undefined => {
  const thisYear = wallTimeOf(ctx.nowMs, ctx.zone).year
  for (const year of [thisYear + 1, thisYear, thisYear - 1]) {
    const w = { ...fields, year }
    if (isValidWallTime(w) && instantOf(w, ctx.zone).epochMs <= ctx.nowMs + YEAR_ROLLOVER_DAYS * 86_400_000) return w
  }
  return undefined
}

/** `Z`, `+hh:mm` or `+hhmm` → ms east of UTC. */
const offsetOf = (zone: string): number => {
  if (zone === 'Z' || zone === 'z') return 0
  const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2))
  return (zone[0] === '-' ? -minutes : minutes) * 60_000
}

/**
 * The timestamp at the start of `text` as RFC 3339 text and how long it is; 'invalid' for a
 * date that does not exist; null when there is none.
 */
const readTimestamp = (text: string, ctx: Rfc3164Context): { timestamp: string; length: number } | 'invalid' | null => {
  const bsd = BSD_TIME.exec(text)
  if (bsd) {
    const month = MONTHS.indexOf(bsd[1]!.toLowerCase()) + 1
    if (month === 0) return null
    const w = withYear({ month, day: Number(bsd[2]), hour: Number(bsd[3]), minute: Number(bsd[4]), second: Number(bsd[5]) }, ctx)
    if (!w) return 'invalid'
    return { timestamp: rfc3339Of(w, bsd[6] ?? '', instantOf(w, ctx.zone).offsetMs), length: bsd[0].length }
  }
  const iso = ISO_TIME.exec(text)
  if (iso) {
    const w = { year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]), hour: Number(iso[4]), minute: Number(iso[5]), second: Number(iso[6]) }
    if (!isValidWallTime(w)) return 'invalid'
    const offsetMs = iso[8] === undefined ? instantOf(w, ctx.zone).offsetMs : offsetOf(iso[8])
    return { timestamp: rfc3339Of(w, iso[7] ?? '', offsetMs), length: iso[0].length }
  }
  return null
}

// TAG: up to the first `[`, `:` or space; `[PID]` after it; then `:` (or, after a PID, a space).
const TAG = /^([^\s[\]:]{1,128})(?:\[([^\]\s]{0,128})\])?(?::(?: |$)|(?<=\]) |(?<=\])$)/

/** `tag:` or `tag[pid]:` as a whole word: then it is the TAG, not a HOSTNAME. */
const looksLikeTag = (word: string): boolean => /^[^\s[\]:]+(\[[^\]\s]*\])?:$/.test(word) || /^[^\s[\]:]+\[[^\]\s]*\]$/.test(word)

export const parseRfc3164 = (
  text: string,
  pri: { facility: SyslogMessage['facility']; severity: number; end: number },
  ctx: Rfc3164Context,
): SyslogMessage => {
  const base = { format: 'rfc3164' as const, facility: pri.facility, severity: pri.severity, structuredData: [] }
  let rest = text.slice(pri.end)
  const time = readTimestamp(rest, ctx)
  if (!time) {
    // §4.3.2: no TIMESTAMP, so no HOSTNAME either; everything after the PRI is the content.
    const msg = cleanMsg(rest)
    return { ...base, ...(msg !== undefined ? { msg } : {}) }
  }
  if (time === 'invalid') throw new SyslogParseError('the RFC 3164 TIMESTAMP names a date that does not exist', 'timestamp')
  rest = rest.slice(time.length)
  let hostname: string | undefined
  const space = rest.indexOf(' ')
  const word = space === -1 ? rest : rest.slice(0, space)
  if (word !== '' && !looksLikeTag(word)) {
    hostname = word
    rest = space === -1 ? '' : rest.slice(space + 1)
  }
  let appName: string | undefined
  let procId: string | undefined
  const tag = TAG.exec(rest)
  if (tag) {
    appName = tag[1]
    if (tag[2]) procId = tag[2]
    rest = rest.slice(tag[0].length)
  }
  const msg = cleanMsg(rest)
  return {
    ...base,
    timestamp: time.timestamp,
    ...(hostname ? { hostname } : {}),
    ...(appName !== undefined ? { appName } : {}),
    ...(procId !== undefined ? { procId } : {}),
    ...(msg !== undefined ? { msg } : {}),
  }
}
