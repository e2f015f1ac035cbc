import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { execa, type ResultPromise } from 'execa'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/api/app.js'
import { createLogger } from '../../src/api/logger.js'
import { parseConfig } from '../../src/config/config.js'
import type { ListenerAddress } from '../../src/ingest/syslog/listeners.js'
import { Metrics } from '../../src/metrics/metrics.js'
import type { TestApp } from './app.js'

export const SYSLOG_NG = '/usr/sbin/syslog-ng'

/** Polls an async probe until it gives a value (not undefined), with a generous deadline. */
export const eventually = async <T>(probe: () => Promise<T | undefined>, what: string, ms = 45_000, state?: () => Promise<string>): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state ? ` (${await state()})` : ''}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export interface SyslogApp {
  app: FastifyInstance
  metrics: Metrics
  /** The listeners as bound, in config order. */
  listeners: ListenerAddress[]
  logs: () => string
  close(): Promise<void>
}

/**
 * A second app over a test app's engine and metadata, built with `syslog` config: its
 * listeners bind when it is ready, as in serve, and name projects the test created first.
 */
export const startSyslogApp = async (t: TestApp, syslog: Record<string, unknown>): Promise<SyslogApp> => {
  let logText = ''
  const destination = new Writable({
    write(chunk, _enc, done) {
      logText += chunk.toString()
      done()
    },
  })
  const metrics = new Metrics()
  const config = parseConfig({ server: { host: '127.0.0.1' }, syslog }, 'test', {})
  const app = await buildApp({
    config,
    paths: t.paths,
    meta: t.meta,
    engine: t.engine,
    clock: t.clock.now,
    teamId: t.teamId,
    logger: createLogger({ level: 'info', destination }),
    metrics,
  })
  try {
    await app.ready()
  } catch (err) {
    await app.close()
    throw err
  }
  return { app, metrics, listeners: app.syslog.addresses(), logs: () => logText, close: () => app.close() }
}

/** A raw TCP client of a listener. */
export const connectTcp = async (port: number): Promise<net.Socket> => {
  const socket = net.connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return socket
}

export const sendTcp = async (port: number, data: string | Buffer): Promise<void> => {
  const socket = await connectTcp(port)
  await new Promise<void>((resolve) => socket.end(data, resolve))
  await new Promise<void>((resolve) => {
    if (socket.closed) resolve()
    else socket.once('close', () => resolve())
  })
}

/** `LEN SP MSG` (RFC 6587 octet counting). */
export const octetCounted = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`

export interface SyslogNg {
  dir: string
  /** The unix-dgram sockets of the sources, by name. */
  sockets: Record<string, string>
  proc: ResultPromise
  output: () => string
  stop(): Promise<void>
}

/**
 * Debian's syslog-ng in the foreground (-F) with a generated config in a temp dir: its own
 * persist file, pidfile and control socket, no system sources. `body` gets the sources' socket
 * paths; it is ready once every source socket exists.
 */
export const startSyslogNg = async (sources: string[], body: (sockets: Record<string, string>) => string): Promise<SyslogNg> => {
  if (!existsSync(SYSLOG_NG)) throw new Error(`${SYSLOG_NG} is missing: the syslog tests need Debian's syslog-ng (apt-get install syslog-ng-core)`)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krafter-syslog-ng-'))
  const sockets = Object.fromEntries(sources.map((name) => [name, path.join(dir, `${name}.sock`)]))
  const conf = path.join(dir, 'syslog-ng.conf')
  writeFileSync(conf, `@version: 3.38\n${body(sockets)}\n`)
  let output = ''
  const proc = execa(
    SYSLOG_NG,
    ['-F', '--no-caps', '-f', conf, '--persist-file', path.join(dir, 'persist'), '--pidfile', path.join(dir, 'pid'), '--control', path.join(dir, 'ctl')],
    { env: { TZ: 'UTC' }, reject: false, all: true, buffer: false },
  )
  proc.all?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const ready = Date.now() + 30_000
  while (!Object.values(sockets).every((s) => existsSync(s))) {
    if (proc.exitCode !== null || Date.now() > ready) {
      await proc
      throw new Error(`syslog-ng did not start: ${output}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  return {
    dir,
    sockets,
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM')
        await proc
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** util-linux logger, with a fixed TZ (RFC 3164 times are local). */
export const logger = (args: string[], tz = 'UTC') => execa('logger', args, { env: { TZ: tz } })
