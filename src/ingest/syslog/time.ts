/**
 * Wall-clock times in a named time zone, for RFC 3164 timestamps (`Oct 11 22:14:15`: no year,
 * no zone). Offsets come from the platform's IANA database (Intl), so DST is the zone's own.
 */

const formatters = new Map<string, Intl.DateTimeFormat>()

const formatterOf = (zone: string): Intl.DateTimeFormat => {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(zone, f)
  }
  return f
}

export interface WallTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const offsetCache = new Map<string, number>()
const OFFSET_CACHE_MAX = 50_000

/**
 * The zone's offset from UTC at an instant, in ms (east positive). Offsets change only on whole
 * minutes (tzdb transitions), so each zone and minute is asked of Intl once: a listener's
 * messages mostly share a few minutes, and formatToParts costs microseconds.
 */
const offsetAt = (epochMs: number, zone: string): number => {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0
  const minute = Math.floor(epochMs / 60_000) * 60_000
  const key = `${zone}|${minute}`
  let offset = offsetCache.get(key)
  if (offset === undefined) {
    const parts: Record<string, number> = {}
    for (const p of formatterOf(zone).formatToParts(new Date(minute))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value)
    }
    offset = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - minute
    if (offsetCache.size >= OFFSET_CACHE_MAX) offsetCache.clear()
    offsetCache.set(key, offset)
  }
  return offset
}

/** The wall-clock fields of an instant (epoch ms) in the zone. */
export const wallTimeOf = (epochMs: number, zone: string): WallTime => {
  const d = new Date(epochMs + offsetAt(epochMs, zone))
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  }
}

/** Whether the fields name a date and time that exist (no Feb 30, no 25:00). */
export const isValidWallTime = (w: WallTime): boolean => {
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.hour > 23 || w.minute > 59 || w.second > 59) return false
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day))
  return d.getUTCFullYear() === w.year && d.getUTCMonth() === w.month - 1 && d.getUTCDate() === w.day
}

/**
 * The instant (epoch ms, whole seconds) a wall-clock time in the zone names, and the zone's
 * offset then. A time in a DST gap gets the offset before the change (it lands just after the
 * gap); one in an overlap gets the offset after it (its second occurrence).
 */
export const instantOf = (w: WallTime, zone: string): { epochMs: number; offsetMs: number } => {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
  const offsetMs = offsetAt(asUtc - offsetAt(asUtc, zone), zone)
  return { epochMs: asUtc - offsetMs, offsetMs }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/**
 * RFC 3339 text for a wall-clock time with the zone's offset (`2026-10-11T22:14:15.5+02:00`):
 * what the entry rules take, so they check the date and the window as for every protocol.
 */
export const rfc3339Of = (w: WallTime, fraction: string, offsetMs: number): string => {
  const minutes = Math.round(Math.abs(offsetMs) / 60_000)
  const sign = offsetMs < 0 ? '-' : '+'
  return (
    `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    `${fraction ? `.${fraction}` : ''}${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
  )
}
