import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'

const parse = (syslog: unknown, env: NodeJS.ProcessEnv = {}) => parseConfig({ syslog }, 'test', env)

describe('syslog config', () => {
  it('is off unless configured, with sane limits', () => {
    expect(parseConfig({}, 'test', {}).syslog).toEqual({ listeners: [], timezone: 'UTC', max_message_bytes: 65536, max_connections: 1024 })
  })

  it('takes listeners with a protocol, a port, a project and optionally a host and a zone', () => {
    const c = parse({
      timezone: 'Europe/Berlin',
      listeners: [
        { protocol: 'udp', port: 514, project: 'web' },
        { protocol: 'tcp', port: '6514', host: '0.0.0.0', project: '8f1c…', timezone: 'America/New_York' },
      ],
    })
    expect(c.syslog.listeners).toEqual([
      { protocol: 'udp', port: 514, project: 'web' },
      { protocol: 'tcp', port: 6514, host: '0.0.0.0', project: '8f1c…', timezone: 'America/New_York' },
    ])
    expect(c.syslog.timezone).toBe('Europe/Berlin')
  })

  it('refuses what is wrong, naming the key', () => {
    const bad: [unknown, RegExp][] = [
      [{ listeners: [{ protocol: 'sctp', port: 514, project: 'p' }] }, /syslog\.listeners\.0\.protocol/],
      [{ listeners: [{ protocol: 'tcp', port: 70000, project: 'p' }] }, /syslog\.listeners\.0\.port/],
      [{ listeners: [{ protocol: 'tcp', port: 514 }] }, /syslog\.listeners\.0\.project/],
      [{ listeners: [{ protocol: 'tcp', port: 514, project: 'p', tls: true }] }, /syslog\.listeners\.0/],
      [{ listeners: [{ protocol: 'tcp', port: 514, project: 'p', timezone: 'Mars/Olympus' }] }, /syslog\.listeners\.0\.timezone: must be an IANA time zone/],
      [{ timezone: 'CEST+2' }, /syslog\.timezone/],
      [{ max_message_bytes: 100 }, /syslog\.max_message_bytes/],
      [{ max_connections: 0 }, /syslog\.max_connections/],
      [{ listeners: 'udp:514' }, /syslog\.listeners/],
      [{ port: 514 }, /syslog/],
    ]
    for (const [syslog, message] of bad) expect(() => parse(syslog), JSON.stringify(syslog)).toThrow(message)
  })

  it('KRAFTER_SYSLOG_* environment overrides, the listeners as JSON', () => {
    const c = parse({}, {
      KRAFTER_SYSLOG_LISTENERS: '[{"protocol":"udp","port":5514,"project":"web"}]',
      KRAFTER_SYSLOG_TIMEZONE: 'Asia/Tokyo',
      KRAFTER_SYSLOG_MAX_MESSAGE_BYTES: '8192',
    })
    expect(c.syslog).toMatchObject({ listeners: [{ protocol: 'udp', port: 5514, project: 'web' }], timezone: 'Asia/Tokyo', max_message_bytes: 8192 })
    expect(() => parse({}, { KRAFTER_SYSLOG_LISTENERS: 'udp:514' })).toThrow(/syslog\.listeners/)
  })
})
