import { randomBytes, randomUUID } from 'node:crypto'
import dgram from 'node:dgram'
import net from 'node:net'
import os from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rotateIngestToken } from '../../src/meta/projects.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { connectTcp, eventually, logger, octetCounted, sendTcp, startSyslogApp, startSyslogNg, type SyslogApp, type SyslogNg } from '../helpers/syslog.js'

let t: TestApp
let s: SyslogApp
let main: { id: string; name: string; ingest_token: string }
let other: { id: string; name: string; ingest_token: string }
let tokyo: { id: string; name: string; ingest_token: string }

const MAX_MESSAGE = 4096

beforeAll(async () => {
  t = await createTestApp()
  main = await t.project({ name: `syslog-main-${randomUUID().slice(0, 8)}` })
  other = await t.project({ name: `syslog-other-${randomUUID().slice(0, 8)}` })
  tokyo = await t.project({ name: `syslog-tokyo-${randomUUID().slice(0, 8)}` })
  s = await startSyslogApp(t, {
    max_message_bytes: MAX_MESSAGE,
    listeners: [
      { protocol: 'tcp', port: 0, project: main.name },
      { protocol: 'udp', port: 0, project: main.id },
      { protocol: 'udp', port: 0, project: tokyo.name, timezone: 'Asia/Tokyo' },
    ],
  })
})
afterAll(async () => {
  await s?.close()
  await t?.close()
})

const tcp = () => s.listeners[0]!
const udp = () => s.listeners[1]!
const udpTokyo = () => s.listeners[2]!

interface Row {
  message: string
  level: string
  service: string
  stream: string
  ts: string
  metadata: Record<string, any>
}

const rowsOf = async (projectId: string, message: string): Promise<Row[]> => {
  const rows = await t.rows<Omit<Row, 'metadata'> & { metadata: string }>(
    `SELECT message, level, service, stream, toString(timestamp) AS ts, toJSONString(metadata) AS metadata
     FROM krafter.log_entries WHERE project_id = {p:UUID} AND message = {m:String}`,
    { p: projectId, m: message },
  )
  return rows.map((r) => ({ ...r, metadata: JSON.parse(r.metadata) }))
}

/** The entry with this message once it is stored (polled, generous deadline). */
const stored = (projectId: string, message: string): Promise<Row> =>
  eventually(async () => (await rowsOf(projectId, message))[0], `"${message}" in ${projectId}`)

/** How many of these messages are stored in the project. */
const storedCount = async (projectId: string, messages: string[]): Promise<number> => {
  const [row] = await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID} AND message IN {m:Array(String)}', { p: projectId, m: messages })
  return Number(row!.n)
}

const anywhere = async (message: string): Promise<number> => {
  const [row] = await t.rows<{ n: string }>('SELECT count() AS n FROM krafter.log_entries WHERE message = {m:String}', { m: message })
  return Number(row!.n)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
/** An RFC 3164 TIMESTAMP (UTC, the listener's zone) of now: within the project's retention window. */
const bsdNow = (): string => {
  const d = new Date()
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}
const epochMs = (ts: string): number => Date.parse(`${ts.replace(' ', 'T')}Z`)
const unique = (label: string): string => `${label}-${randomUUID()}`
const count = (listener: string, result: string): number => s.metrics.syslogMessages.get({ listener, result })
const rejected = (reason: string): number => s.metrics.recordsRejected.get({ protocol: 'syslog', reason })

/** Waits until the listener has settled at least `n` messages with this result. */
const counted = (listener: string, result: string, n: number) =>
  eventually(async () => (count(listener, result) >= n ? true : undefined), `${n} ${result} on ${listener}`)

describe('syslog-ng (Debian) → TCP listener, RFC 5424 with octet counting', () => {
  let ng: SyslogNg

  beforeAll(async () => {
    ng = await startSyslogNg(['plain', 'token'], (sock) => `
options { stats-freq(0); frac-digits(6); };
source s_plain { unix-dgram("${sock.plain}"); };
source s_token { unix-dgram("${sock.token}"); };
rewrite r_fields { set("test-host" value("HOST")); set("ID47" value("MSGID")); set("v1" value(".SDATA.exampleSDID@32473.iut")); };
rewrite r_token { set("${other.ingest_token}" value(".SDATA.krafter@32473.token")); };
destination d_krafter { syslog("127.0.0.1" port(${tcp().port}) transport("tcp")); };
log { source(s_plain); rewrite(r_fields); destination(d_krafter); };
log { source(s_token); rewrite(r_fields); rewrite(r_token); destination(d_krafter); };
`)
  })
  afterAll(async () => {
    await ng?.stop()
  })

  it('stores the message with every field mapped', async () => {
    const message = unique('from syslog-ng')
    const before = Math.floor(Date.now() / 1000) * 1000
    await logger(['-u', ng.sockets.plain!, '-t', 'myapp', '--id=4242', '-p', 'local3.err', message])
    const after = Date.now()
    const row = await stored(main.id, message)
    expect(row).toMatchObject({ message, level: 'error', service: 'myapp', stream: 'default' })
    expect(row.metadata.syslog).toEqual({ hostname: 'test-host', facility: 'local3', procid: '4242', msgid: 'ID47' })
    // syslog-ng's own [meta sequenceId] comes along; the @32473 suffix is gone from the path.
    expect(row.metadata.sd).toMatchObject({ exampleSDID: { iut: 'v1' }, meta: { sequenceId: expect.any(String) } })
    expect(epochMs(row.ts)).toBeGreaterThanOrEqual(before)
    expect(epochMs(row.ts)).toBeLessThanOrEqual(after + 1000)
    expect(count(tcp().label, 'accepted')).toBeGreaterThanOrEqual(1)
    expect(ng.output()).not.toMatch(/error/i)
  })

  it('a [krafter@32473 token] element stores the message in that token\'s project, and the token is not stored', async () => {
    const message = unique('token via syslog-ng')
    await logger(['-u', ng.sockets.token!, '-t', 'tokenapp', '-p', 'user.info', message])
    const row = await stored(other.id, message)
    expect(row).toMatchObject({ level: 'info', service: 'tokenapp' })
    expect(row.metadata.sd.krafter).toBeUndefined()
    expect(JSON.stringify(row)).not.toContain(other.ingest_token)
    expect(await rowsOf(main.id, message)).toEqual([])
  })
})

describe('logger (util-linux) → UDP listener', () => {
  it('RFC 3164: TAG[PID] → service and procid, severity → level, local time in the listener zone (UTC)', async () => {
    const message = unique('logger rfc3164')
    const before = Math.floor(Date.now() / 1000) * 1000
    await logger(['--udp', '--rfc3164', '-n', '127.0.0.1', '-P', String(udp().port), '-t', 'myapp', '--id=777', '-p', 'local0.warning', message])
    const after = Date.now()
    const row = await stored(main.id, message)
    expect(row).toMatchObject({ level: 'warn', service: 'myapp' })
    expect(row.metadata.syslog).toEqual({ hostname: os.hostname().split('.')[0], facility: 'local0', procid: '777' })
    expect(row.metadata.sd).toBeUndefined()
    expect(epochMs(row.ts)).toBeGreaterThanOrEqual(before)
    expect(epochMs(row.ts)).toBeLessThanOrEqual(after + 1000)
  })

  it("RFC 3164 local time in a listener's own zone (Asia/Tokyo) is the right instant", async () => {
    const message = unique('logger tokyo')
    const before = Math.floor(Date.now() / 1000) * 1000
    await logger(['--udp', '--rfc3164', '-n', '127.0.0.1', '-P', String(udpTokyo().port), '-t', 'jp', '-p', 'daemon.debug', message], 'Asia/Tokyo')
    const after = Date.now()
    const row = await stored(tokyo.id, message)
    expect(row).toMatchObject({ level: 'debug', service: 'jp', metadata: { syslog: { facility: 'daemon' } } })
    expect(epochMs(row.ts)).toBeGreaterThanOrEqual(before)
    expect(epochMs(row.ts)).toBeLessThanOrEqual(after + 1000)
  })

  it('RFC 5424 with structured data and a MSGID', async () => {
    const message = unique('logger rfc5424')
    await logger(['--udp', '--rfc5424', '-n', '127.0.0.1', '-P', String(udp().port), '-t', 'app5424', '--msgid', 'ID9', '--sd-id', 'order@32473', '--sd-param', 'id="42"', '--sd-param', 'tier="gold"', '-p', 'auth.crit', message])
    const row = await stored(main.id, message)
    expect(row).toMatchObject({ level: 'fatal', service: 'app5424' })
    expect(row.metadata.syslog).toMatchObject({ facility: 'auth', msgid: 'ID9' })
    expect(row.metadata.sd).toMatchObject({ order: { id: '42', tier: 'gold' }, timeQuality: { tzKnown: '1' } })
    // logger writes microseconds: kept.
    expect(row.ts).toMatch(/\.\d{6}$/)
  })

  it('the SD token also works over UDP', async () => {
    const message = unique('udp token')
    await logger(['--udp', '--rfc5424', '-n', '127.0.0.1', '-P', String(udp().port), '-t', 'a', '--sd-id', 'krafter@32473', '--sd-param', `token="${other.ingest_token}"`, message])
    const row = await stored(other.id, message)
    expect(row.metadata.sd.krafter).toBeUndefined()
    expect(JSON.stringify(row)).not.toContain(other.ingest_token)
  })
})

describe('raw TCP clients', () => {
  it('newline framing (LF, CRLF, NUL), mixed with octet counting on one connection', async () => {
    const [a, b, c, d] = [unique('raw lf'), unique('raw crlf'), unique('raw nul'), unique('raw counted')]
    await sendTcp(
      tcp().port,
      `<13>${bsdNow()} host1 app1[1]: ${a}\n<14>1 ${new Date().toISOString().slice(0, 19)}.123456Z host2 app2 - - - ${b}\r\n<15>1 - - app3 - - - ${c}\0` +
        octetCounted(`<12>1 - - app4 - - [x@1 k="v"] ${d}`),
    )
    expect(await stored(main.id, a)).toMatchObject({ service: 'app1', level: 'info', metadata: { syslog: { hostname: 'host1', procid: '1', facility: 'user' } } })
    expect(await stored(main.id, b)).toMatchObject({ service: 'app2', ts: expect.stringMatching(/\.123456$/) })
    expect(await stored(main.id, c)).toMatchObject({ service: 'app3', level: 'debug' })
    expect(await stored(main.id, d)).toMatchObject({ service: 'app4', level: 'warn', metadata: { sd: { x: { k: 'v' } } } })
  })

  it('malformed messages are counted and logged, and the connection keeps serving', async () => {
    const label = tcp().label
    const malformedBefore = count(label, 'malformed')
    const refusedBefore = count(label, 'refused')
    const invalidBefore = rejected('invalid')
    const good = unique('after garbage')
    const socket = await connectTcp(tcp().port)
    socket.write('no pri at all\n<999>bad pri\n<14>1 2026-13-45T99:00:00Z h a - - - bad time\n<14>1 - - - - - [unterminated\n')
    socket.write(`<13>${bsdNow()} h app: ${good}\n`)
    await stored(main.id, good)
    // Three cannot be read; the date that does not exist is the entry rules' to refuse.
    await counted(label, 'malformed', malformedBefore + 3)
    await counted(label, 'refused', refusedBefore + 1)
    expect(rejected('invalid')).toBeGreaterThanOrEqual(invalidBefore + 4)
    expect(s.logs()).toContain('ingest refused records')
    // Still the same connection.
    const again = unique('same connection')
    socket.write(`<13>${bsdNow()} h app: ${again}\n`)
    await stored(main.id, again)
    socket.destroy()
  })

  it('a timestamp outside the project window is refused by the entry rules (counted), not stored', async () => {
    const message = unique('too old')
    const before = count(tcp().label, 'refused')
    await sendTcp(tcp().port, `<14>1 1999-01-01T00:00:00Z h a - - - ${message}\n`)
    await counted(tcp().label, 'refused', before + 1)
    expect(await anywhere(message)).toBe(0)
  })

  it('random bytes on a connection never crash the listener', async () => {
    const socket = await connectTcp(tcp().port)
    for (let i = 0; i < 20; i++) socket.write(randomBytes(2048))
    await new Promise<void>((resolve) => socket.end(resolve))
    const message = unique('after random bytes')
    await sendTcp(tcp().port, `<13>${bsdNow()} h app: ${message}\n`)
    await stored(main.id, message)
  })

  it('a frame over syslog.max_message_bytes is refused and skipped; the next frame on the connection is stored', async () => {
    const label = tcp().label
    const before = count(label, 'malformed')
    const next = unique('after oversize')
    const huge = `<14>1 - - app - - - ${'x'.repeat(MAX_MESSAGE * 3)}`
    const socket = await connectTcp(tcp().port)
    socket.write(octetCounted(huge) + octetCounted(`<14>1 - - app - - - ${next}`))
    await stored(main.id, next)
    // Newline-framed: skipped to its line end.
    const afterLine = unique('after oversize line')
    socket.write(`<14>${'y'.repeat(MAX_MESSAGE * 2)}\n<14>1 - - app - - - ${afterLine}\n`)
    await stored(main.id, afterLine)
    await counted(label, 'malformed', before + 2)
    socket.destroy()
  })

  it('a sender stalled in the middle of a frame does not hold up another sender', async () => {
    const stalledMessage = unique('stalled')
    const frame = octetCounted(`<14>1 - - slow - - - ${stalledMessage}`)
    const slow = await connectTcp(tcp().port)
    slow.write(frame.slice(0, 20))
    const quick = unique('quick')
    await sendTcp(tcp().port, `<14>1 - - fast - - - ${quick}\n`)
    await stored(main.id, quick)
    expect(await anywhere(stalledMessage)).toBe(0)
    slow.write(frame.slice(20))
    await stored(main.id, stalledMessage)
    slow.destroy()
  })

  it('an unknown or revoked SD token refuses the message: counted, logged without the token, stored nowhere', async () => {
    const label = tcp().label
    const before = count(label, 'unauthorized')
    const fake = `krl_live_${'0'.repeat(32)}`
    const m1 = unique('fake token')
    await sendTcp(tcp().port, `<14>1 - - a - - [krafter@32473 token="${fake}"] ${m1}\n`)
    // A live token rotated away is refused too.
    const victim = await t.project({ name: `syslog-rotated-${randomUUID().slice(0, 8)}` })
    rotateIngestToken(t.meta, t.teamId, victim.id, 0, t.clock.now())
    const m2 = unique('rotated token')
    await sendTcp(tcp().port, `<14>1 - - a - - [krafter@32473 token="${victim.ingest_token}"] ${m2}\n`)
    const m3 = unique('not a token at all')
    await sendTcp(tcp().port, `<14>1 - - a - - [krafter token="hello"] ${m3}\n`)
    await counted(label, 'unauthorized', before + 3)
    // The next message of the listener's own is stored: nothing is stuck.
    const ok = unique('after bad tokens')
    await sendTcp(tcp().port, `<14>1 - - a - - - ${ok}\n`)
    await stored(main.id, ok)
    for (const m of [m1, m2, m3]) expect(await anywhere(m)).toBe(0)
    expect(s.logs()).toContain('is not a live ingest token')
    expect(s.logs()).not.toContain(fake)
    expect(s.logs()).not.toContain(victim.ingest_token)
  })

  it('a valid SD token over TCP overrides the listener project', async () => {
    const message = unique('raw token')
    await sendTcp(tcp().port, `<14>1 - h a - - [origin ip="10.0.0.1"][krafter@32473 token="${other.ingest_token}"] ${message}\n`)
    const row = await stored(other.id, message)
    expect(row.metadata.sd).toEqual({ origin: { ip: '10.0.0.1' } })
  })

  it('many messages on many connections are all stored, grouped into few pipeline calls', async () => {
    const prefix = unique('bulk')
    const requestsBefore = s.app.syslog.deps.ingest.batcher.stats.requests
    const connections = 5
    const perConnection = 400
    await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        let data = ''
        for (let i = 0; i < perConnection; i++) data += `<14>1 - - bulk - - - ${prefix} ${c}-${i}\n`
        await sendTcp(tcp().port, data)
      }),
    )
    const total = connections * perConnection
    await eventually(async () => {
      const [row] = await t.rows<{ n: string }>(
        'SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID} AND startsWith(message, {m:String})',
        { p: main.id, m: prefix },
      )
      return Number(row!.n) === total ? true : undefined
    }, `${total} bulk rows`)
    // One pipeline call per message would be 2000; grouping makes it a handful.
    expect(s.app.syslog.deps.ingest.batcher.stats.requests - requestsBefore).toBeLessThan(200)
  })
})

describe('when the engine cannot take messages', () => {
  const insertRequests = () => s.app.syslog.deps.ingest.batcher.stats.requests

  it('TCP stops reading and retries: nothing is dropped, everything is stored once the engine is back', async () => {
    const label = tcp().label
    const droppedBefore = count(label, 'dropped')
    const messages = Array.from({ length: 50 }, (_, i) => unique(`outage ${i}`))
    let up = false
    t.engine.available = () => up
    try {
      const requestsBefore = insertRequests()
      const socket = await connectTcp(tcp().port)
      socket.write(messages.map((m) => `<14>1 - - outage - - - ${m}\n`).join(''))
      // All received and held, and the engine has refused them at least once.
      await eventually(async () => (s.app.syslog.pending() === messages.length && insertRequests() > requestsBefore ? true : undefined), 'a refused insert')
      expect(await anywhere(messages[0]!)).toBe(0)
      up = true
      // One wait for all 50; if it times out, the error says what the listener made of them.
      await eventually(async () => ((await storedCount(main.id, messages)) === messages.length ? true : undefined), 'all 50 held messages stored', 30_000, async () => {
        const results = ['accepted', 'refused', 'malformed', 'dropped', 'failed'].map((r) => `${r}=${count(label, r)}`).join(' ')
        return `${await storedCount(main.id, messages)} of 50 stored; ${results}; pending ${s.app.syslog.pending()}; retries ${s.metrics.syslogRetries.get({ listener: label })}`
      })
      socket.destroy()
    } finally {
      delete t.engine.available
    }
    expect(count(label, 'dropped')).toBe(droppedBefore)
    for (const m of messages) expect(await anywhere(m)).toBe(1)
  })

  it('a connection is not read further while too many of its messages wait (backpressure, bounded memory)', async () => {
    const total = 3000
    const prefix = unique('backpressure')
    let up = false
    t.engine.available = () => up
    try {
      const retriesBefore = s.metrics.syslogRetries.get({ listener: tcp().label })
      const socket = await connectTcp(tcp().port)
      let data = ''
      for (let i = 0; i < total; i++) data += `<14>1 - - bp - - - ${prefix} ${i}\n`
      socket.write(data)
      // A refused insert, then its retry after the backoff: by then an unpaused socket would
      // long have been read to the end.
      await eventually(async () => (s.metrics.syslogRetries.get({ listener: tcp().label }) > retriesBefore ? true : undefined), 'a retry')
      const held = s.app.syslog.pending()
      expect(held).toBeGreaterThanOrEqual(1000)
      expect(held).toBeLessThan(total)
      up = true
      await eventually(async () => {
        const [row] = await t.rows<{ n: string }>(
          'SELECT count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID} AND startsWith(message, {m:String})',
          { p: main.id, m: prefix },
        )
        return Number(row!.n) === total ? true : undefined
      }, `${total} rows after the outage`)
      socket.destroy()
    } finally {
      delete t.engine.available
    }
  })

  it('UDP counts what it cannot store as dropped', async () => {
    const label = udp().label
    const before = count(label, 'dropped')
    t.engine.available = () => false
    try {
      const message = unique('udp during outage')
      const sock = dgram.createSocket('udp4')
      await new Promise<void>((resolve, reject) => sock.send(`<14>1 - - a - - - ${message}`, udp().port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
      sock.close()
      await counted(label, 'dropped', before + 1)
      expect(s.logs()).toContain('dropped messages the log engine could not take')
    } finally {
      delete t.engine.available
    }
  })

  it('serve stopping gives held messages a last try and resolves only once they are stored', async () => {
    const app2 = await startSyslogApp(t, { listeners: [{ protocol: 'tcp', port: 0, project: main.id }] })
    const messages = Array.from({ length: 20 }, (_, i) => unique(`at close ${i}`))
    let up = false
    t.engine.available = () => up
    try {
      const socket = await connectTcp(app2.listeners[0]!.port)
      socket.write(messages.map((m) => `<14>1 - - close - - - ${m}\n`).join(''))
      await eventually(async () => (app2.app.syslog.pending() === messages.length ? true : undefined), 'messages held for retry')
      up = true
      await app2.close()
      // No polling: close resolved after the engine had them.
      for (const m of messages) expect(await anywhere(m)).toBe(1)
      expect(app2.metrics.syslogMessages.get({ listener: app2.listeners[0]!.label, result: 'accepted' })).toBe(messages.length)
      socket.destroy()
    } finally {
      delete t.engine.available
      await app2.close()
    }
  })

  it('serve stopping while the engine is still down counts the held messages as dropped', async () => {
    const app2 = await startSyslogApp(t, { listeners: [{ protocol: 'tcp', port: 0, project: main.id }] })
    const message = unique('dropped at close')
    t.engine.available = () => false
    try {
      const socket = await connectTcp(app2.listeners[0]!.port)
      socket.write(`<14>1 - - close - - - ${message}\n`)
      await eventually(async () => (app2.app.syslog.pending() === 1 ? true : undefined), 'a held message')
      await app2.close()
      expect(app2.metrics.syslogMessages.get({ listener: app2.listeners[0]!.label, result: 'dropped' })).toBe(1)
      expect(app2.logs()).toContain('dropped messages the log engine could not take')
      socket.destroy()
    } finally {
      delete t.engine.available
      await app2.close()
    }
    expect(await anywhere(message)).toBe(0)
  })
})

describe('startup and limits', () => {
  it('a port in use fails startup with a UserError naming the listener', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      await expect(startSyslogApp(t, { listeners: [{ protocol: 'udp', port: 0, project: main.id }, { protocol: 'tcp', port, project: main.id }] })).rejects.toMatchObject({
        name: 'UserError',
        message: expect.stringMatching(new RegExp(`syslog\\.listeners\\[1\\] \\(tcp 127\\.0\\.0\\.1:${port}\\): port ${port} is already in use`)),
      })
    } finally {
      blocker.close()
    }
  })

  it('an unknown project fails startup naming the key', async () => {
    await expect(startSyslogApp(t, { listeners: [{ protocol: 'tcp', port: 0, project: 'no-such-project' }] })).rejects.toMatchObject({
      name: 'UserError',
      message: expect.stringContaining('syslog.listeners[0].project: there is no project "no-such-project"'),
    })
  })

  it("a listener whose project was deleted counts and logs what it can no longer store", async () => {
    const doomed = await t.project({ name: `syslog-doomed-${randomUUID().slice(0, 8)}` })
    const app2 = await startSyslogApp(t, { listeners: [{ protocol: 'udp', port: 0, project: doomed.name }] })
    try {
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/logs/projects/${doomed.id}`, headers: { authorization: `Bearer ${t.teamKey}` } })
      expect(res.statusCode).toBe(204)
      const message = unique('to a deleted project')
      await logger(['--udp', '--rfc3164', '-n', '127.0.0.1', '-P', String(app2.listeners[0]!.port), '-t', 'a', message])
      const label = app2.listeners[0]!.label
      await eventually(async () => (app2.metrics.syslogMessages.get({ listener: label, result: 'no_project' }) === 1 ? true : undefined), 'no_project')
      expect(app2.logs()).toContain("the listener's project was deleted")
      expect(await anywhere(message)).toBe(0)
    } finally {
      await app2.close()
    }
  })

  it('connections beyond syslog.max_connections are closed at once and counted', async () => {
    const limited = await startSyslogApp(t, { max_connections: 1, listeners: [{ protocol: 'tcp', port: 0, project: main.id }] })
    try {
      const [listener] = limited.listeners
      const first = await connectTcp(listener!.port)
      const second = net.connect({ host: '127.0.0.1', port: listener!.port })
      second.on('error', () => undefined)
      await new Promise<void>((resolve) => second.once('close', () => resolve()))
      expect(limited.metrics.syslogConnectionsRefused.get({ listener: listener!.label })).toBe(1)
      // The first still works.
      const message = unique('within the connection limit')
      await new Promise<void>((resolve) => first.end(`<14>1 - - a - - - ${message}\n`, resolve))
      await stored(main.id, message)
    } finally {
      await limited.close()
    }
  })
})
