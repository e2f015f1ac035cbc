import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { z } from 'zod'
import { UserError } from '../errors.js'
import { fieldErrorsOf } from '../validation.js'
import { TEMPLATES_DIR } from '../version.js'

const boolish = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean())
const port = z.coerce.number().int().min(0).max(65535)
/** ClickHouse identifiers we put into DDL: whitelisted characters only. */
export const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)')

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}
const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone name such as UTC or Europe/Berlin')

/** A JSON list in an environment variable (KRAFTER_SYSLOG_LISTENERS='[{"protocol":"udp",…}]'). */
const jsonText = (v: unknown): unknown => {
  if (typeof v !== 'string') return v
  try {
    return JSON.parse(v)
  } catch {
    return v
  }
}

/** CSP source expressions a header may carry: keywords, schemes, hosts (with * and a port), no ';' or quotes else. */
const FRAME_SOURCE = /^(?:'self'|'none'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::(?:\d{1,5}|\*))?(?:\/[A-Za-z0-9._~\/-]*)?)$/
const frameAncestors = z
  .string()
  .trim()
  .min(1)
  .max(1000)
  .regex(/^[\x21-\x7e ]+$/, 'must be printable ASCII and spaces (it becomes a header)')
  .refine((v) => v.split(/ +/).every((s) => FRAME_SOURCE.test(s)), "must be CSP frame-ancestors sources separated by spaces, e.g. 'self' https://grafana.example.com")
  .refine((v) => !v.split(/ +/).includes("'none'") || v.trim() === "'none'", "'none' cannot be combined with other sources")

export const SyslogListenerSchema = z
  .object({
    protocol: z.enum(['tcp', 'udp']),
    /** 0: any free port (tests read the bound one). */
    port,
    /** Default: server.host. */
    host: z.string().min(1).optional(),
    /** The project (id or name) messages are stored in, unless one names another by its ingest token. */
    project: z.string().min(1),
    /** The zone of RFC 3164 times from this listener's senders; default syslog.timezone. */
    timezone: timeZone.optional(),
  })
  .strict()

export type SyslogListenerConfig = z.infer<typeof SyslogListenerSchema>

export const ENGINE_MODES = ['embedded', 'managed', 'external'] as const
export type EngineMode = (typeof ENGINE_MODES)[number]

export const ConfigSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        body_limit_mb: z.coerce.number().int().min(1).max(1024).default(10),
        /** Failed authentications a client address may make at once, then per minute; beyond: 429. */
        auth_failure_burst: z.coerce.number().int().min(1).max(100_000).default(20),
        auth_failures_per_minute: z.coerce.number().int().min(1).max(100_000).default(10),
        /** Behind a reverse proxy: take the client address from X-Forwarded-For (Fastify trustProxy). */
        trust_proxy: boolish.default(false),
        /** Slow clients cannot hold a connection: the whole request (headers and body) must arrive in this time. */
        request_timeout_ms: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
        headers_timeout_ms: z.coerce.number().int().min(50).max(3_600_000).default(20_000),
        /** An idle keep-alive connection is closed after this long. */
        keep_alive_timeout_ms: z.coerce.number().int().min(50).max(3_600_000).default(72_000),
        /** A socket without any traffic (also while its request is being handled) is closed after this long. */
        connection_timeout_ms: z.coerce.number().int().min(50).max(86_400_000).default(600_000),
        /** Connections beyond this many are closed at once, unanswered. */
        max_connections: z.coerce.number().int().min(1).max(1_000_000).default(1024),
      })
      .strict()
      .refine((s) => s.headers_timeout_ms <= s.request_timeout_ms, {
        message: 'must not be longer than server.request_timeout_ms',
        path: ['headers_timeout_ms'],
      })
      .prefault({}),
    engine: z
      .object({
        mode: z.enum(ENGINE_MODES).default('embedded'),
        database: identifier.default('krafter'),
        url: z.string().url().optional(),
        user: z.string().optional(),
        password: z.string().optional(),
        cluster: identifier.optional(),
        clickhouse_binary: z.string().optional(),
        /** Managed mode: loopback ports of the supervised clickhouse server. */
        http_port: port.default(18123),
        tcp_port: port.default(19000),
        request_timeout_ms: z.coerce.number().int().min(100).default(30_000),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        /** log_ingest bucket per ingest token: sustained requests per second and burst size. */
        rate_per_second: z.coerce.number().positive().default(1000),
        burst: z.coerce.number().int().positive().default(2000),
        /** How long a lone request may wait for others to share its engine insert. */
        flush_window_ms: z.coerce.number().int().min(0).max(1000).default(2),
        /** Under load: how long the next insert may wait for the clients the last one answered. */
        refill_wait_ms: z.coerce.number().int().min(0).max(1000).default(8),
        /** Largest engine insert the batcher builds from queued requests. */
        max_batch_rows: z.coerce.number().int().min(1).default(100_000),
        /**
         * When a 202 is given: `engine`, once the engine has the rows (readable at once); `spool`,
         * once they are fsynced to the local ingest spool, the engine taking them in large
         * inserts afterwards (docs/operations.md "Ingest commit").
         */
        commit: z.enum(['engine', 'spool']).default('engine'),
        /** The spool's bound: beyond it requests get a 503 until the engine catches up. */
        spool_max_mb: z.coerce.number().int().min(1).default(1024),
        /** How long the spool's open segment takes appends before the free engine inserts it. */
        spool_seal_ms: z.coerce.number().int().min(0).max(10_000).default(1000),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        /** serve runs the per-project retention cleanup every day at this UTC time. */
        run_at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a UTC time HH:MM').default('03:30'),
        enabled: boolish.default(true),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        /** How often serve evaluates the enabled alert rules. */
        evaluate_every_seconds: z.coerce.number().int().min(5).max(3600).default(60),
        /** A webhook that has not answered after this long counts as a failed attempt. */
        webhook_timeout_ms: z.coerce.number().int().min(100).max(120_000).default(10_000),
        /** Further attempts after a failed delivery, with exponential backoff from retry_base_ms. */
        delivery_retries: z.coerce.number().int().min(0).max(10).default(3),
        retry_base_ms: z.coerce.number().int().min(10).max(600_000).default(2_000),
        /** Webhooks to loopback, link-local and private addresses: off, so rule writers cannot probe them (SSRF). */
        allow_private_webhooks: boolish.default(false),
      })
      .strict()
      .prefault({}),
    smtp: z
      .object({
        host: z.string().min(1).optional(),
        port: port.default(587),
        /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
        secure: boolish.default(false),
        user: z.string().min(1).optional(),
        password: z.string().optional(),
        from: z.string().min(3).default('Krafter Logs <krafter-logs@localhost>'),
        timeout_ms: z.coerce.number().int().min(100).max(120_000).default(10_000),
      })
      .strict()
      .prefault({}),
    syslog: z
      .object({
        /** Syslog listeners (API.md "Standard ingest protocols"): none unless configured. */
        listeners: z.preprocess(jsonText, z.array(SyslogListenerSchema).max(64)).default([]),
        /** RFC 3164 times carry no zone: the senders' zone, unless a listener says its own. */
        timezone: timeZone.default('UTC'),
        /** Larger messages are refused (counted) and skipped; RFC 5424 receivers must take 480 bytes, entries hold 256 KiB of message. */
        max_message_bytes: z.coerce.number().int().min(480).max(1024 * 1024).default(64 * 1024),
        /** Open TCP connections per listener; beyond, new ones are closed at once (logged). */
        max_connections: z.coerce.number().int().min(1).max(100_000).default(1024),
      })
      .strict()
      .prefault({}),
    query: z
      .object({
        /**
         * Every read of the entries (search, stats, export, facets, patterns, context, tail, alert
         * checks) stops after this long and answers 400 saying to narrow it, instead of holding
         * the engine (which answers one query at a time on the embedded engine).
         */
        timeout_ms: z.coerce.number().int().min(1).max(3_600_000).default(10_000),
        /**
         * The memory one read may use in the engine; beyond it the read answers 503 (retry, or narrow
         * it). Facets of a path with 300,000 distinct values in the range need more than 1 GiB.
         */
        max_memory_mb: z.coerce.number().int().min(1).max(1_048_576).default(2048),
      })
      .strict()
      .prefault({}),
    tail: z
      .object({
        /** Live tails (GET /logs/tail) open at once; beyond, 429 until one closes. */
        max_subscribers: z.coerce.number().int().min(1).max(10_000).default(100),
        /** How often serve reads newly stored entries for the open tails. */
        poll_ms: z.coerce.number().int().min(50).max(5000).default(250),
        /** A heartbeat event when nothing else was sent for this long. */
        heartbeat_seconds: z.coerce.number().int().min(1).max(15).default(15),
        /** A consumer with more than this unread (KiB) is sent an overflow event and closed. */
        max_buffered_kb: z.coerce.number().int().min(16).max(65_536).default(1024),
        /**
         * How long after receipt an entry written by another process is taken as stored (an
         * external server shared by several serve processes); this process's own entries are
         * tracked exactly. Default: 0, or 500 on the external engine.
         */
        settle_ms: z.coerce.number().int().min(0).max(60_000).optional(),
      })
      .strict()
      .prefault({}),
    console: z
      .object({
        /** How long a browser session (POST /sessions, a login link) lasts, in hours; it ends sooner when its key does. */
        session_hours: z.coerce.number().int().min(1).max(24 * 30).default(12),
      })
      .strict()
      .prefault({}),
    viewer: z
      .object({
        /**
         * Who may frame /embed: the CSP frame-ancestors sources, space-separated ('self', 'none',
         * https://grafana.example.com, *.example.com). Every other page may not be framed at all.
         */
        frame_ancestors: frameAncestors.default("'self'"),
      })
      .strict()
      .prefault({}),
    anonymous_streams: z
      .object({
        /** POST /streams/:token/events, GET /streams/:token/info and POST /streams/claim; off: 404. */
        enabled: boolish.default(true),
        /** Caps per stream: events and bytes_in stored, and its lifetime from creation. */
        max_events: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
        max_mb: z.coerce.number().int().min(1).max(1024).default(10),
        lifetime_hours: z.coerce.number().int().min(1).max(24 * 30).default(24),
        /** Requests to events and info per client address: sustained per minute, and burst. */
        rate_per_minute: z.coerce.number().int().min(1).max(1_000_000).default(120),
        burst: z.coerce.number().int().min(1).max(1_000_000).default(60),
        /** How often serve removes expired streams' events (and resumes a claim a crash interrupted). */
        cleanup_every_minutes: z.coerce.number().int().min(1).max(1440).default(10),
        /** A claimed or expired stream's row (what info and the 410 answer from) is kept this long, then forgotten. */
        keep_finished_days: z.coerce.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        pretty: boolish.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export type Config = z.infer<typeof ConfigSchema>

/** KRAFTER_<SECTION>_<KEY> overrides, for every key the schema knows. */
const envOverrides = (env: NodeJS.ProcessEnv): Record<string, Record<string, string>> => {
  const out: Record<string, Record<string, string>> = {}
  for (const [section, schema] of Object.entries(ConfigSchema.shape)) {
    const inner = (schema as unknown as { def: { innerType: z.ZodObject } }).def.innerType
    for (const key of Object.keys(inner.shape)) {
      const value = env[`KRAFTER_${section.toUpperCase()}_${key.toUpperCase()}`]
      if (value !== undefined) (out[section] ??= {})[key] = value
    }
  }
  return out
}

export const parseConfig = (raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): Config => {
  const base = (raw ?? {}) as Record<string, Record<string, unknown>>
  if (typeof base !== 'object' || Array.isArray(base)) throw new UserError(`${source}: the config must be a YAML mapping`)
  const merged: Record<string, unknown> = { ...base }
  for (const [section, values] of Object.entries(envOverrides(env))) {
    merged[section] = { ...(base[section] ?? {}), ...values }
  }
  const result = ConfigSchema.safeParse(merged)
  if (!result.success) {
    const problems = fieldErrorsOf(result.error.issues, '(top level)').map((e) => `${e.field}: ${e.message}`)
    throw new UserError(`Invalid configuration in ${source}: ${problems.join('; ')}`, {
      suggestions: ['Fix the key named above in krafter.yaml or its KRAFTER_<SECTION>_<KEY> environment variable.'],
    })
  }
  return result.data
}

export const loadConfig = (configPath: string, env: NodeJS.ProcessEnv = process.env): Config => {
  let text: string
  try {
    text = readFileSync(configPath, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`No krafter.yaml in ${path.dirname(configPath)}: this data dir is not initialised.`, {
        suggestions: ['Run `krafter-logs init` (or pass --data-dir / set KRAFTER_HOME to the right directory).'],
      })
    }
    throw err
  }
  let raw: unknown
  try {
    raw = YAML.parse(text)
  } catch (err) {
    throw new UserError(`${configPath} is not valid YAML: ${(err as Error).message}`)
  }
  return parseConfig(raw, configPath, env)
}

/**
 * Writes krafter.yaml from templates/krafter.yaml (keeping its comments) with the given
 * values set, mode 0600 because it may hold engine credentials.
 */
export const writeConfigFromTemplate = (configPath: string, values: Record<string, Record<string, unknown>>): Config => {
  const doc = YAML.parseDocument(readFileSync(path.join(TEMPLATES_DIR, 'krafter.yaml'), 'utf8'))
  for (const [section, entries] of Object.entries(values)) {
    for (const [key, value] of Object.entries(entries)) {
      if (value !== undefined) doc.setIn([section, key], value)
    }
  }
  const text = doc.toString()
  const config = parseConfig(doc.toJS(), configPath, {})
  writeFileSync(configPath, text, { mode: 0o600, flag: 'wx' })
  chmodSync(configPath, 0o600)
  return config
}
