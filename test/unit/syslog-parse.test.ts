import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeSyslog, parseSyslog } from '../../src/ingest/syslog/decode.js'
import { FACILITIES } from '../../src/ingest/syslog/message.js'

const BOM = '\uFEFF'
// Received on 2026-12-02 08:00 UTC (RFC 3164 dates take their year from the time of receipt).
const NOW = Date.parse('2026-12-02T08:00:00Z')
const utc = { zone: 'UTC', nowMs: NOW }

const decode = (text: string | Buffer, ctx = utc) => decodeSyslog(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, ctx)
const entry = (text: string | Buffer, ctx = utc) => {
  const d = decode(text, ctx)
  if ('refused' in d) throw new Error(`refused: ${d.refused.message}`)
  return d
}
const refusal = (text: string | Buffer, ctx = utc) => {
  const d = decode(text, ctx)
  if (!('refused' in d)) throw new Error(`accepted: ${JSON.stringify(d)}`)
  return d.refused
}

describe('RFC 5424 §6.5 examples', () => {
  it('example 1: no structured data, a BOM before the UTF-8 MSG', () => {
    const e = entry(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`)
    expect(e).toEqual({
      value: {
        message: "'su root' failed for lonvick on /dev/pts/8",
        level: 2,
        timestamp: '2003-10-11T22:14:15.003Z',
        service: 'su',
        metadata: { syslog: { hostname: 'mymachine.example.com', facility: 'auth', msgid: 'ID47' } },
      },
    })
  })

  it('example 2: a zone offset, microseconds, a PROCID, no MSGID', () => {
    const e = entry("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.")
    expect(e.value).toEqual({
      message: "%% It's time to make the do-nuts.",
      level: 5,
      timestamp: '2003-08-24T05:14:15.000003-07:00',
      service: 'myproc',
      metadata: { syslog: { hostname: '192.0.2.1', facility: 'local4', procid: '8710' } },
    })
  })

  it('example 3: structured data under metadata.sd, the SD-ID without its @number', () => {
    const e = entry(
      `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`,
    )
    expect(e.value.message).toBe('An application event log entry...')
    expect(e.value.service).toBe('evntslog')
    expect(e.value.metadata).toEqual({
      syslog: { hostname: 'mymachine.example.com', facility: 'local4', msgid: 'ID47' },
      sd: { exampleSDID: { iut: '3', eventSource: 'Application', eventID: '1011' } },
    })
  })

  it('example 4: two elements and no MSG: the structured data is the message text', () => {
    const sd = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]'
    const e = entry(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ${sd}`)
    expect(e.value.message).toBe(sd)
    expect(e.value.metadata.sd).toEqual({ exampleSDID: { iut: '3', eventSource: 'Application', eventID: '1011' }, examplePriority: { class: 'high' } })
  })

  it('§6.3.5 example 3 (a space between elements) leaves the second one in MSG', () => {
    const e = entry('<165>1 2003-10-11T22:14:15.003Z host app - - [exampleSDID@32473 iut="3"] [examplePriority@32473 class="high"]')
    expect(e.value.metadata.sd).toEqual({ exampleSDID: { iut: '3' } })
    expect(e.value.message).toBe('[examplePriority@32473 class="high"]')
  })

  it('§6.3.5 example 4 (a space after [) is malformed', () => {
    expect(refusal('<165>1 2003-10-11T22:14:15.003Z host app - - [ exampleSDID@32473 iut="3"] x').message).toMatch(/no SD-ID/)
  })

  it('§6.2.3 timestamps: the valid ones pass, one without a zone is refused', () => {
    for (const ts of ['1985-04-12T23:20:50.52Z', '1985-04-12T19:20:50.52-04:00', '2003-10-11T22:14:15.003Z', '2003-08-24T05:14:15.000003-07:00']) {
      expect(entry(`<13>1 ${ts} h a - - - m`).value.timestamp).toBe(ts)
    }
    expect(refusal('<13>1 1985-04-12T23:20:50.52 h a - - - m')).toMatchObject({ field: 'syslog', message: expect.stringMatching(/TIMESTAMP/) })
    expect(refusal('<13>1 2003-10-11 h a - - - m').field).toBe('syslog')
  })

  it('every header field may be nil: absent, not "-"', () => {
    const e = entry('<14>1 - - - - - - just text')
    expect(e.value).toEqual({ message: 'just text', level: 6, metadata: { syslog: { facility: 'user' } } })
  })

  it('PARAM-VALUE escapes \\" \\\\ \\] and keeps any other backslash (§6.3.3)', () => {
    const e = entry('<14>1 - - - - - [x@1 a="q\\"b\\\\s\\]e\\n" b=""] m')
    expect(e.value.metadata.sd).toEqual({ x: { a: 'q"b\\s]e\\n', b: '' } })
  })

  it('a repeated parameter becomes a list; the same SD-ID under two numbers is one path', () => {
    const e = entry('<14>1 - - - - - [tags@1 t="a" t="b"][tags@2 t="c" u="d"] m')
    expect(e.value.metadata.sd).toEqual({ tags: { t: ['a', 'b', 'c'], u: 'd' } })
  })

  it('the [krafter@32473 token] element is taken out, never kept in metadata or the message', () => {
    const e = entry('<14>1 - h a - - [krafter@32473 token="krl_live_abc"][origin ip="10.0.0.1"] hello')
    expect(e.token).toBe('krl_live_abc')
    expect(e.value.metadata.sd).toEqual({ origin: { ip: '10.0.0.1' } })
    expect(JSON.stringify(e.value)).not.toContain('krl_live_abc')
    const bare = entry('<14>1 - h a - - [krafter@32473 token="krl_live_abc"]')
    expect(bare.token).toBe('krl_live_abc')
    expect(bare.value.message).toBe('')
    expect(bare.value.metadata.sd).toBeUndefined()
  })

  it('wire names such as __proto__ stay plain keys', () => {
    const e = entry('<14>1 - - - - - [__proto__ polluted="yes"] m')
    const sd = e.value.metadata.sd as Record<string, unknown>
    expect(Object.keys(sd)).toEqual(['__proto__'])
    expect(JSON.parse(JSON.stringify(e.value.metadata))).toEqual({ syslog: { facility: 'user' }, sd: { ['__proto__']: { polluted: 'yes' } } })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('the frame trailer (LF, CRLF, NUL) is not part of MSG', () => {
    expect(entry('<14>1 - - - - - - hello\n').value.message).toBe('hello')
    expect(entry('<14>1 - - - - - - hello\r\n').value.message).toBe('hello')
    expect(entry('<14>1 - - - - - -\n').value.message).toBe('')
    expect(entry('<14>1 - - - - - [a b="c"]\0').value.metadata.sd).toEqual({ a: { b: 'c' } })
  })

  it('bytes that are not UTF-8 become U+FFFD instead of losing the message', () => {
    const e = entry(Buffer.concat([Buffer.from('<14>1 - - - - - - caf'), Buffer.from([0xe9]), Buffer.from(' ok')]))
    expect(e.value.message).toBe('caf\uFFFD ok')
  })

  it('malformed headers are refused naming what is wrong', () => {
    expect(refusal('<14>2 - - - - - - m').message).toMatch(/VERSION 2/)
    expect(refusal('<14>1 - - - - -').message).toMatch(/STRUCTURED-DATA/)
    expect(refusal('<14>1  - - - - - m').message).toMatch(/TIMESTAMP/)
    expect(refusal('<14>1 - - - - - [a b="c').message).toMatch(/closing quote/)
    expect(refusal('<14>1 - - - - - [a b="c"').message).toMatch(/must end with \]/)
    expect(refusal('<14>1 - - - - - [a b="c" m').message).toMatch(/name="value"/)
    expect(refusal('<14>1 - - - - - [a b=c] m').message).toMatch(/name="value"/)
    expect(refusal('<14>1 - - - - - [a b="c"]m').message).toMatch(/followed by a space/)
    expect(refusal('<14>1 - - - - - x m').message).toMatch(/must be - or start with \[/)
    expect(refusal('<14>1 - - - - - -x m').message).toMatch(/must be - or start with \[/)
  })
})

describe('PRI', () => {
  it('facility by name and severity for every PRI value', () => {
    for (let pri = 0; pri <= 191; pri++) {
      const e = entry(`<${pri}>1 - - - - - - m`)
      expect(e.value.level).toBe(pri & 7)
      expect(e.value.metadata.syslog).toEqual({ facility: FACILITIES[pri >> 3] })
    }
    expect(FACILITIES.slice(0, 16)).toEqual(['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron'])
    expect(FACILITIES.slice(16)).toEqual(['local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'])
  })

  it('a missing, out-of-range or malformed PRI is refused', () => {
    for (const bad of ['hello', '<192>1 - - - - - - m', '<>x', '<1a>x', '<007>x', '<1234>x', '<13', ' <13>x']) {
      expect(refusal(bad)).toMatchObject({ field: 'syslog', message: expect.stringMatching(/PRI/) })
    }
    expect(refusal('').message).toMatch(/empty/)
    expect(refusal('\r\n').message).toMatch(/empty/)
  })
})

describe('RFC 3164 §5.4 examples', () => {
  it('example 1: hostname, TAG and content; the year is the current one, the zone the listener\'s', () => {
    const e = entry("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    expect(e.value).toEqual({
      message: "'su root' failed for lonvick on /dev/pts/8",
      level: 2,
      timestamp: '2026-10-11T22:14:15+00:00',
      service: 'su',
      metadata: { syslog: { hostname: 'mymachine', facility: 'auth' } },
    })
  })

  it('example 2: a relayed message without a TAG keeps its whole content', () => {
    const e = entry('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!')
    expect(e.value).toEqual({
      message: 'Use the BFG!',
      level: 5,
      timestamp: '2026-02-05T17:32:18+00:00',
      metadata: { syslog: { hostname: '10.0.0.99', facility: 'user' } },
    })
  })

  it('example 3: "CST" is the HOSTNAME, as the RFC says, and the rest is content', () => {
    const text =
      "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%"
    const e = entry(text)
    expect(e.value.metadata.syslog).toEqual({ hostname: 'CST', facility: 'local4' })
    expect(e.value.message).toBe(text.slice(text.indexOf('1987')))
    expect(e.value.timestamp).toBe('2026-08-24T05:34:00+00:00')
  })

  it('example 4: no valid TIMESTAMP: all after the PRI is the message, the time is the receipt (§4.3.2)', () => {
    const e = entry("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
    expect(e.value).toEqual({
      message: "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
      level: 0,
      metadata: { syslog: { facility: 'kern' } },
    })
  })

  it('example 4 as relayed (§5.4): the relay\'s header in front', () => {
    const e = entry("<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
    expect(e.value.metadata.syslog).toEqual({ hostname: 'scapegoat', facility: 'kern' })
    expect(e.value.timestamp).toBe('2026-10-22T10:52:12+00:00')
    expect(e.value.message).toMatch(/^1990 Oct 22/)
  })
})

describe('RFC 3164 as senders write it', () => {
  it('TAG[PID]: gives service and procid; a TAG without a HOSTNAME (a local socket) is still the TAG', () => {
    expect(entry('<30>Oct  9 22:33:20 web1 nginx[1787]: GET /').value).toMatchObject({
      service: 'nginx',
      message: 'GET /',
      metadata: { syslog: { hostname: 'web1', facility: 'daemon', procid: '1787' } },
    })
    expect(entry('<13>Oct 11 22:14:15 myapp: hello').value).toMatchObject({ service: 'myapp', message: 'hello', metadata: { syslog: { facility: 'user' } } })
    expect(entry('<13>Oct 11 22:14:15 myapp[7]: hello').value).toMatchObject({ service: 'myapp', metadata: { syslog: { procid: '7' } } })
    expect(entry('<13>Oct 11 22:14:15 host postfix/smtpd[99]: connect').value).toMatchObject({ service: 'postfix/smtpd', message: 'connect' })
    expect(entry('<13>Oct 11 22:14:15 host app[5] no colon').value).toMatchObject({ service: 'app', message: 'no colon', metadata: { syslog: { procid: '5' } } })
  })

  it('a one-digit day with one space, fractional seconds, an RFC 3339 time (rsyslog)', () => {
    expect(entry('<13>Jan 5 15:33:03 h root[8539]: i am foobar').value.timestamp).toBe('2026-01-05T15:33:03+00:00')
    expect(entry('<13>Oct 11 22:14:15.123456 h a: m').value.timestamp).toBe('2026-10-11T22:14:15.123456+00:00')
    expect(entry('<13>2003-08-24T05:14:15Z localhost snarf?').value).toMatchObject({ timestamp: '2003-08-24T05:14:15+00:00', message: 'snarf?', metadata: { syslog: { hostname: 'localhost' } } })
    expect(entry('<13>2012-08-16T14:34:03-0800 127.0.0.1 test: shnap!').value).toMatchObject({ timestamp: '2012-08-16T14:34:03-08:00', service: 'test', message: 'shnap!' })
  })

  it("the listener's zone, with its DST", () => {
    const berlin = { zone: 'Europe/Berlin', nowMs: NOW }
    expect(entry('<13>Jul  1 12:00:00 h a: m', berlin).value.timestamp).toBe('2026-07-01T12:00:00+02:00')
    expect(entry('<13>Nov 30 12:00:00 h a: m', berlin).value.timestamp).toBe('2026-11-30T12:00:00+01:00')
    expect(entry('<13>2026-07-01T12:00:00 h a: m', berlin).value.timestamp).toBe('2026-07-01T12:00:00+02:00')
    const ny = { zone: 'America/New_York', nowMs: NOW }
    expect(entry('<13>Dec  1 23:30:00 h a: m', ny).value.timestamp).toBe('2026-12-01T23:30:00-05:00')
    expect(entry('<13>Mar 29 01:59:59 h a: m', berlin).value.timestamp).toBe('2026-03-29T01:59:59+01:00')
    expect(entry('<13>Mar 29 03:00:00 h a: m', berlin).value.timestamp).toBe('2026-03-29T03:00:00+02:00')
    // In the spring-forward gap: the offset before the change (01:30Z, just after the gap);
    // in the autumn overlap: the second occurrence.
    expect(entry('<13>Mar 29 02:30:00 h a: m', berlin).value.timestamp).toBe('2026-03-29T02:30:00+01:00')
    expect(entry('<13>Oct 25 02:30:00 h a: m', berlin).value.timestamp).toBe('2026-10-25T02:30:00+01:00')
  })

  it('the year around New Year: a date more than a week ahead is last year\'s, a little ahead is next year\'s', () => {
    const jan1 = { zone: 'UTC', nowMs: Date.parse('2027-01-01T00:00:05Z') }
    expect(entry('<13>Dec 31 23:59:58 h a: m', jan1).value.timestamp).toBe('2026-12-31T23:59:58+00:00')
    expect(entry('<13>Jan  1 00:00:01 h a: m', jan1).value.timestamp).toBe('2027-01-01T00:00:01+00:00')
    const dec31 = { zone: 'UTC', nowMs: Date.parse('2026-12-31T23:59:59Z') }
    expect(entry('<13>Jan  1 00:00:10 h a: m', dec31).value.timestamp).toBe('2027-01-01T00:00:10+00:00')
    expect(entry('<13>Dec 31 23:59:50 h a: m', dec31).value.timestamp).toBe('2026-12-31T23:59:50+00:00')
    // Early December: a date in five days is this year's (the entry rules then judge the window); in ten, last year's.
    expect(entry('<13>Dec  7 08:00:00 h a: m').value.timestamp).toBe('2026-12-07T08:00:00+00:00')
    expect(entry('<13>Dec 12 08:00:00 h a: m').value.timestamp).toBe('2025-12-12T08:00:00+00:00')
    // The year is the zone's: 23:30 on Dec 31 in UTC is already Jan 1 in Tokyo.
    const tokyo = { zone: 'Asia/Tokyo', nowMs: Date.parse('2026-12-31T23:30:00Z') }
    expect(entry('<13>Jan  1 08:29:00 h a: m', tokyo).value.timestamp).toBe('2027-01-01T08:29:00+09:00')
  })

  it('Feb 29 takes the leap year; a date that exists in no year near is refused naming the timestamp', () => {
    const march2027 = { zone: 'UTC', nowMs: Date.parse('2027-03-01T00:00:00Z') }
    expect(refusal('<13>Feb 29 10:00:00 h a: m', march2027)).toMatchObject({ field: 'timestamp' })
    const march2028 = { zone: 'UTC', nowMs: Date.parse('2028-03-01T00:00:00Z') }
    expect(entry('<13>Feb 29 10:00:00 h a: m', march2028).value.timestamp).toBe('2028-02-29T10:00:00+00:00')
    expect(refusal('<13>Feb 30 10:00:00 h a: m')).toMatchObject({ field: 'timestamp' })
    expect(refusal('<13>Oct 11 24:00:00 h a: m')).toMatchObject({ field: 'timestamp' })
    expect(refusal('<13>2026-02-30T10:00:00Z h a: m')).toMatchObject({ field: 'timestamp' })
  })

  it('a word that is not a month is no timestamp: the content is kept whole', () => {
    expect(entry('<13>Foo 11 22:14:15 h a: m').value).toEqual({ message: 'Foo 11 22:14:15 h a: m', level: 5, metadata: { syslog: { facility: 'user' } } })
    expect(entry('<13>plain text').value.message).toBe('plain text')
  })

  it('a header without content is an empty message (the entry rules refuse it)', () => {
    expect(entry('<13>Oct 11 22:14:15 host app:').value.message).toBe('')
    expect(entry('<13>Oct 11 22:14:15').value.message).toBe('')
  })
})

describe('robustness', () => {
  it('random bytes never throw, and give an entry or a refusal', () => {
    for (let i = 0; i < 3000; i++) {
      const prefix = ['', '<13>', '<165>1 ', '<34>Oct 11 22:14:15 ', '<14>1 - - - - - ['][i % 5]!
      const bytes = Buffer.concat([Buffer.from(prefix), randomBytes(i % 200)])
      const d = decodeSyslog(bytes, utc)
      if ('refused' in d) expect(typeof d.refused.message).toBe('string')
      else expect(typeof d.value.message).toBe('string')
    }
  })

  it('random printable headers never throw', () => {
    const alphabet = '<>[]="\\ -:.0123456789TZabc@\n'
    for (let i = 0; i < 3000; i++) {
      let s = '<14>1 '
      for (let j = 0; j < (i % 60); j++) s += alphabet[Math.floor(Math.random() * alphabet.length)]
      expect(() => decodeSyslog(Buffer.from(s), utc)).not.toThrow()
    }
  })

  it('parseSyslog tells the formats apart per message', () => {
    expect(parseSyslog(Buffer.from('<13>1 - - - - - - m'), utc).format).toBe('rfc5424')
    expect(parseSyslog(Buffer.from('<13>Oct 11 22:14:15 h a: m'), utc).format).toBe('rfc3164')
    expect(parseSyslog(Buffer.from('<13>2003-08-24T05:14:15Z h m'), utc).format).toBe('rfc3164')
  })
})
