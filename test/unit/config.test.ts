import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig, parseConfig, writeConfigFromTemplate } from '../../src/config/config.js'
import { resolveDataDir } from '../../src/config/paths.js'
import { UserError } from '../../src/errors.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'krafter-config-'))

describe('config', () => {
  it('has a default for every setting', () => {
    const c = parseConfig({}, 'test', {})
    expect(c.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      body_limit_mb: 10,
      auth_failure_burst: 20,
      auth_failures_per_minute: 10,
      trust_proxy: false,
      request_timeout_ms: 60_000,
      headers_timeout_ms: 20_000,
      keep_alive_timeout_ms: 72_000,
      connection_timeout_ms: 600_000,
      max_connections: 1024,
    })
    expect(c.retention).toEqual({ run_at: '03:30', enabled: true })
    expect(c.alerts).toEqual({ evaluate_every_seconds: 60, webhook_timeout_ms: 10_000, delivery_retries: 3, retry_base_ms: 2000, allow_private_webhooks: false })
    expect(c.smtp).toMatchObject({ port: 587, secure: false, from: 'Krafter Logs <krafter-logs@localhost>' })
    expect(c.smtp.host).toBeUndefined()
    expect(c.engine).toMatchObject({ mode: 'embedded', database: 'krafter' })
    expect(c.log.level).toBe('info')
  })

  it('takes KRAFTER_<SECTION>_<KEY> overrides over the file', () => {
    const c = parseConfig({ server: { port: 9000 } }, 'test', { KRAFTER_SERVER_PORT: '9100', KRAFTER_LOG_LEVEL: 'debug', KRAFTER_LOG_PRETTY: 'false' })
    expect(c.server.port).toBe(9100)
    expect(c.log.level).toBe('debug')
    expect(c.log.pretty).toBe(false)
  })

  it('takes the connection limits from the file and the environment, headers timeout within the request timeout', () => {
    const c = parseConfig({ server: { request_timeout_ms: 5000 } }, 'test', { KRAFTER_SERVER_MAX_CONNECTIONS: '10', KRAFTER_SERVER_HEADERS_TIMEOUT_MS: '5000' })
    expect(c.server).toMatchObject({ request_timeout_ms: 5000, headers_timeout_ms: 5000, max_connections: 10 })
    expect(() => parseConfig({ server: { request_timeout_ms: 5000, headers_timeout_ms: 5001 } }, 'krafter.yaml', {})).toThrow(
      /server\.headers_timeout_ms: must not be longer than server\.request_timeout_ms/,
    )
    expect(() => parseConfig({ server: { max_connections: 0 } }, 'krafter.yaml', {})).toThrow(/server\.max_connections/)
  })

  it('fails fast naming the bad key', () => {
    expect(() => parseConfig({ server: { port: 70000 } }, 'krafter.yaml', {})).toThrow(/server\.port/)
    expect(() => parseConfig({ server: { prot: 1 } }, 'krafter.yaml', {})).toThrow(/prot/)
    expect(() => parseConfig({ server: { prot: 1 } }, 'krafter.yaml', {})).toThrow(/server\.prot: is not a known field/)
    expect(() => parseConfig({ engine: { database: 'x; DROP' } }, 'krafter.yaml', {})).toThrow(/engine\.database/)
    expect(() => parseConfig({}, 'env', { KRAFTER_SERVER_PORT: 'eighty' })).toThrow(/server\.port/)
    expect(() => parseConfig({ engine: { mode: 'cloud' } }, 'krafter.yaml', {})).toThrow(UserError)
  })

  it('writes krafter.yaml from the template, 0600, comments kept, never overwriting', () => {
    const file = path.join(dir, 'krafter.yaml')
    const config = writeConfigFromTemplate(file, { server: { port: 9999 } })
    expect(config.server.port).toBe(9999)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const text = readFileSync(file, 'utf8')
    expect(text).toContain('# Krafter Logs configuration')
    expect(text).toContain('port: 9999')
    expect(loadConfig(file, {}).server.port).toBe(9999)
    expect(() => writeConfigFromTemplate(file, {})).toThrow(/EEXIST/)
  })

  it('explains a missing or broken file', () => {
    expect(() => loadConfig(path.join(dir, 'missing', 'krafter.yaml'), {})).toThrow(/not initialised/)
    const broken = path.join(dir, 'broken.yaml')
    writeFileSync(broken, 'server: [unclosed')
    expect(() => loadConfig(broken, {})).toThrow(/not valid YAML/)
  })

  it('finds the data dir from the flag, then KRAFTER_HOME, then ~/.krafter-logs', () => {
    expect(resolveDataDir('/a/b', { KRAFTER_HOME: '/c' })).toBe('/a/b')
    expect(resolveDataDir(undefined, { KRAFTER_HOME: '/c' })).toBe('/c')
    expect(resolveDataDir(undefined, {})).toBe(path.join(os.homedir(), '.krafter-logs'))
  })
})
