import dgram from 'node:dgram'
import net from 'node:net'
import type { Logger } from 'pino'
import type { Config, SyslogListenerConfig } from '../../config/config.js'
import { UserError, type FieldError } from '../../errors.js'
import { findProjectByName, getProject } from '../../meta/projects.js'
import { findLiveIngestToken, type TokenUseMeter } from '../../meta/ingest-tokens.js'
import type { Metrics } from '../../metrics/metrics.js'
import { tokenKind } from '../../security/tokens.js'
import type { IngestDeps } from '../pipeline.js'
import { DEFAULT_BATCH, SyslogBatches, type BatchOptions, type Item, type Outcome } from './batches.js'
import { decodeSyslog } from './decode.js'
import { SyslogFramer, type Frame } from './framing.js'

export interface SyslogDeps {
  config: Pick<Config, 'syslog' | 'server'>
  ingest: IngestDeps
  teamId: string
  metrics: Metrics
  logger?: Logger
  batch?: BatchOptions
  /** Records the last use of the ingest tokens messages carry. */
  tokenUse?: Pick<TokenUseMeter, 'touch'>
}

/** A listener as it is bound: tests send to `port`, metrics and logs name it by `label`. */
export interface ListenerAddress {
  protocol: 'tcp' | 'udp'
  host: string
  port: number
  /** `tcp://127.0.0.1:5514` */
  label: string
  projectId: string
}

/** What a listener's metric says became of a message. */
type Result = 'accepted' | 'refused' | 'malformed' | 'unauthorized' | 'no_project' | 'dropped' | 'failed'

/** A TCP connection stops reading while this many of its messages (or bytes) are not yet stored … */
const CONNECTION_MAX_PENDING = 1000
const CONNECTION_MAX_PENDING_BYTES = 1024 * 1024
/**
 * … and every TCP connection does while all of theirs together hold this many bytes (messages of
 * senders that have gone included), until half of it is stored: memory stays bounded however
 * many senders there are and however long the engine is down.
 */
const TCP_MAX_PENDING_BYTES = 64 * 1024 * 1024
/** A UDP listener cannot slow its senders: beyond this many outstanding messages or bytes, datagrams are dropped (counted). */
const UDP_MAX_PENDING = 10_000
const UDP_MAX_PENDING_BYTES = 16 * 1024 * 1024
const RETRY_FIRST_MS = 250
const RETRY_MAX_MS = 5000
const LOG_INTERVAL_MS = 60_000
const KEEPALIVE_MS = 60_000

/** At most one warn line per listener and kind of trouble per interval, with the count since the last. */
class ThrottledLog {
  private readonly last = new Map<string, { at: number; count: number }>()
  constructor(
    private readonly logger: Logger | undefined,
    private readonly now: () => number,
  ) {}

  warn(listener: string, kind: string, fields: Record<string, unknown>, message: string): void {
    const key = `${listener} ${kind}`
    const at = this.now()
    const entry = this.last.get(key) ?? { at: -Infinity, count: 0 }
    entry.count++
    if (at - entry.at >= LOG_INTERVAL_MS) {
      this.logger?.warn({ listener, count: entry.count, ...fields }, message)
      entry.at = at
      entry.count = 0
    }
    this.last.set(key, entry)
  }
}

const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host)

/**
 * serve's syslog listeners (API.md "Standard ingest protocols"): TCP and UDP, RFC 5424 and
 * RFC 3164 per message, every message through the shared ingest pipeline via SyslogBatches.
 * Started when the app is ready, closed (everything received stored or counted) before the
 * app's insert batcher drains.
 */
export class SyslogListeners {
  private readonly batches: SyslogBatches
  private readonly log: ThrottledLog
  private readonly listeners: Listener[] = []
  private closing: Promise<void> | undefined
  /** Bytes of TCP messages received and not yet settled, over all connections (TCP_MAX_PENDING_BYTES). */
  private tcpPendingBytes = 0
  /** Connections paused for the shared budget, resumed once it has room again. */
  private readonly starved = new Set<{ flow(): void }>()

  constructor(readonly deps: SyslogDeps) {
    this.batches = new SyslogBatches(deps.ingest, deps.teamId, deps.batch ?? DEFAULT_BATCH, deps.logger)
    this.log = new ThrottledLog(deps.logger, () => deps.ingest.clock().getTime())
  }

  get closed(): boolean {
    return this.closing !== undefined
  }

  /** Binds every configured listener; a port in use (or any other failure) is a UserError naming the listener. */
  async start(): Promise<void> {
    const { syslog, server } = this.deps.config
    try {
      for (const [index, cfg] of syslog.listeners.entries()) {
        const host = cfg.host ?? server.host
        const projectId = this.resolveProject(cfg, index)
        const listener = cfg.protocol === 'tcp' ? new TcpListener(this, cfg, host, projectId) : new UdpListener(this, cfg, host, projectId)
        await listener.listen(index)
        this.listeners.push(listener)
      }
    } catch (err) {
      await this.close()
      throw err
    }
    if (this.listeners.length > 0) {
      this.deps.logger?.info({ listeners: this.addresses().map((a) => ({ listener: a.label, project_id: a.projectId })) }, 'syslog listening')
    }
  }

  addresses(): ListenerAddress[] {
    return this.listeners.map((l) => l.address)
  }

  /** Messages received and not yet stored or counted (waiting for their group, the engine, or a retry). */
  pending(): number {
    let n = 0
    for (const l of this.listeners) n += l.pending()
    return n
  }

  /** Stops receiving, stores (or counts) every message already received, then closes the connections. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await Promise.all(this.listeners.map((l) => l.stop()))
      await this.batches.drain()
      for (const l of this.listeners) l.destroy()
    })())
  }

  private resolveProject(cfg: SyslogListenerConfig, index: number): string {
    const { meta } = this.deps.ingest
    const project = getProject(meta, this.deps.teamId, cfg.project) ?? findProjectByName(meta, this.deps.teamId, cfg.project)
    if (!project) {
      throw new UserError(`syslog.listeners[${index}].project: there is no project "${cfg.project}" (give its id or name).`, {
        suggestions: ['List the projects with `krafter-logs project list`, or create it first.'],
      })
    }
    return project.id
  }

  /** TCP bytes received (positive) or settled (negative); resumes the starved connections once half the budget is free. */
  tcpPending(bytes: number): void {
    this.tcpPendingBytes += bytes
    if (bytes < 0 && this.starved.size > 0 && this.tcpPendingBytes <= TCP_MAX_PENDING_BYTES / 2) {
      const waiting = [...this.starved]
      this.starved.clear()
      for (const c of waiting) c.flow()
    }
  }

  /** Whether a connection may read now; if not, it is called back (flow()) once it may. */
  tcpMayRead(connection: { flow(): void }): boolean {
    if (this.tcpPendingBytes < TCP_MAX_PENDING_BYTES && this.starved.size === 0) return true
    this.starved.add(connection)
    return false
  }

  count(listener: string, result: Result, by = 1): void {
    this.deps.metrics.syslogMessages.inc({ listener, result }, by)
  }

  warn(listener: string, kind: string, fields: Record<string, unknown>, message: string): void {
    this.log.warn(listener, kind, fields, message)
  }

  submit(projectId: string, item: Item): Promise<Outcome> {
    return this.batches.submit(projectId, item)
  }
}

/** What a listener does with one frame or datagram, whichever transport brought it. */
abstract class Listener {
  address!: ListenerAddress
  protected readonly zone: string
  protected readonly maxBytes: number

  constructor(
    readonly owner: SyslogListeners,
    protected readonly cfg: SyslogListenerConfig,
    protected readonly host: string,
    protected readonly projectId: string,
  ) {
    this.zone = cfg.timezone ?? owner.deps.config.syslog.timezone
    this.maxBytes = owner.deps.config.syslog.max_message_bytes
  }

  abstract listen(index: number): Promise<void>
  abstract pending(): number
  abstract stop(): Promise<void>
  abstract destroy(): void

  protected bound(port: number): void {
    this.address = {
      protocol: this.cfg.protocol,
      host: this.host,
      port,
      label: `${this.cfg.protocol}://${bracketed(this.host)}:${port}`,
      projectId: this.projectId,
    }
  }

  protected startupError(err: unknown, index: number): UserError {
    const where = `syslog.listeners[${index}] (${this.cfg.protocol} ${bracketed(this.host)}:${this.cfg.port})`
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'EADDRINUSE'
        ? `port ${this.cfg.port} is already in use`
        : code === 'EACCES'
          ? `not allowed to listen on port ${this.cfg.port} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? `${this.host} is not an address of this machine`
            : (err as Error).message
    return new UserError(`Cannot start the syslog listener ${where}: ${reason}.`, {
      suggestions: ['Pick another port or host for it in krafter.yaml (syslog.listeners), or stop what uses the port.'],
      cause: err,
    })
  }

  /**
   * A frame → the project and the item for the pipeline: an entry, or a refusal it counts
   * (malformed, oversize). undefined when the message names a project by a token that is not
   * live: it is refused here (counted, logged without the token), the listener's project is
   * not charged for it.
   */
  itemOf(frame: Frame, peer: string): { projectId: string; item: Item } | undefined {
    if (frame.kind !== 'message') {
      const refused: FieldError =
        frame.kind === 'oversize'
          ? { field: 'message', message: `is ${frame.bytes} bytes or more, over syslog.max_message_bytes (${this.maxBytes}); skipped (from ${peer})` }
          : { field: 'syslog', message: `the connection ended inside an octet-counted frame (from ${peer})` }
      return { projectId: this.projectId, item: { refused, bytes: 0 } }
    }
    const { ingest, teamId, tokenUse } = this.owner.deps
    const now = ingest.clock()
    const decoded = decodeSyslog(frame.bytes, { zone: this.zone, nowMs: now.getTime() })
    if ('refused' in decoded) {
      return { projectId: this.projectId, item: { refused: { ...decoded.refused, message: `${decoded.refused.message} (from ${peer})` }, bytes: frame.bytes.length } }
    }
    let projectId = this.projectId
    if (decoded.token !== undefined) {
      const live = tokenKind(decoded.token) === 'ingest' ? findLiveIngestToken(ingest.meta, decoded.token, now) : undefined
      if (!live || live.project.team_id !== teamId) {
        this.owner.count(this.address.label, 'unauthorized')
        this.owner.warn(this.address.label, 'unauthorized', { peer }, 'syslog: refused a message whose [krafter@32473 token] is not a live ingest token')
        return undefined
      }
      tokenUse?.touch(live.tokenId, now)
      projectId = live.project.id
    }
    return { projectId, item: { value: decoded.value, bytes: frame.bytes.length } }
  }

  /** A message that was cut off by serve stopping. */
  dropped(peer: string): void {
    this.owner.count(this.address.label, 'dropped')
    this.owner.warn(this.address.label, 'dropped', { peer }, 'syslog: dropped a message cut off by serve stopping')
  }

  /** Counts a settled message under the listener's metric; problems are logged (throttled). */
  settled(item: Item, outcome: Outcome | 'dropped', peer: string): void {
    const label = this.address.label
    const result: Result = outcome === 'unavailable' ? 'dropped' : outcome === 'refused' && item.refused ? 'malformed' : outcome
    this.owner.count(label, result)
    if (result === 'dropped') {
      this.owner.warn(label, 'dropped', { peer }, 'syslog: dropped messages the log engine could not take (or that arrived faster than it stores them)')
    } else if (result === 'no_project') {
      this.owner.warn(label, 'no_project', { project_id: this.projectId }, "syslog: dropped messages: the listener's project was deleted")
    }
  }
}

class TcpListener extends Listener {
  private server: net.Server | undefined
  private readonly connections = new Set<TcpConnection>()

  async listen(index: number): Promise<void> {
    const server = net.createServer({ pauseOnConnect: false }, (socket) => this.accept(socket))
    server.maxConnections = this.owner.deps.config.syslog.max_connections
    this.server = server
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error) => reject(this.startupError(err, index))
      server.once('error', failed)
      server.listen({ host: this.host, port: this.cfg.port }, () => {
        server.off('error', failed)
        resolve()
      })
    })
    server.on('error', (err) => this.owner.deps.logger?.error({ err, listener: this.address?.label }, 'syslog: TCP listener error'))
    this.bound((server.address() as net.AddressInfo).port)
    server.on('drop', (data) => {
      this.owner.deps.metrics.syslogConnectionsRefused.inc({ listener: this.address.label })
      this.owner.warn(this.address.label, 'max_connections', { peer: data?.remoteAddress, max_connections: server.maxConnections }, 'syslog: refusing new connections: syslog.max_connections reached')
    })
  }

  private accept(socket: net.Socket): void {
    if (this.owner.closed) {
      socket.destroy()
      return
    }
    const connection = new TcpConnection(this, socket, this.maxBytes)
    this.connections.add(connection)
    this.owner.deps.metrics.syslogConnections.add(1, { listener: this.address.label })
    socket.once('close', () => {
      this.owner.deps.metrics.syslogConnections.add(-1, { listener: this.address.label })
    })
  }

  pending(): number {
    let n = 0
    for (const c of this.connections) n += c.pending
    return n
  }

  forget(connection: TcpConnection): void {
    this.connections.delete(connection)
  }

  async stop(): Promise<void> {
    // No new connections; the open ones stop reading, and what they hold goes to the pipeline.
    this.server?.close()
    for (const c of this.connections) c.stop()
  }

  destroy(): void {
    for (const c of this.connections) c.destroy()
  }
}

/**
 * One TCP sender. Its frames are read as they come (a sender that stalls mid-frame holds only
 * its own buffer), and it stops being read while too many of its messages (or of all
 * connections') wait for the engine: the kernel's buffers fill and the sender slows down,
 * instead of this process buffering without bound. Messages the engine could not take are
 * tried again, with backoff, while the socket stays paused — also after the sender has gone.
 */
class TcpConnection {
  private readonly framer: SyslogFramer
  private readonly peer: string
  pending = 0
  private pendingBytes = 0
  private retry: { projectId: string; item: Item }[] = []
  private retryTimer: NodeJS.Timeout | undefined
  private retryMs = RETRY_FIRST_MS
  private paused = false
  private ended = false
  private stopped = false

  constructor(
    private readonly listener: TcpListener,
    private readonly socket: net.Socket,
    maxBytes: number,
  ) {
    this.framer = new SyslogFramer(maxBytes)
    this.peer = `${bracketed(socket.remoteAddress ?? '?')}:${socket.remotePort ?? '?'}`
    socket.setKeepAlive(true, KEEPALIVE_MS)
    socket.on('data', (chunk: Buffer) => this.frames(this.framer.push(chunk)))
    socket.on('end', () => this.end())
    // A reset or a broken pipe ends this sender only; 'close' follows.
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.end()
      this.forgetIfDone()
    })
    // While the shared budget is spent, a new sender is not read at all.
    this.flow()
  }

  private get owner(): SyslogListeners {
    return this.listener.owner
  }

  private end(): void {
    if (this.ended) return
    this.ended = true
    if (!this.stopped) this.frames(this.framer.end())
  }

  private frames(frames: Frame[]): void {
    for (const frame of frames) {
      const next = this.listener.itemOf(frame, this.peer)
      if (!next) continue
      this.pending++
      this.pendingBytes += next.item.bytes
      this.owner.tcpPending(next.item.bytes)
      this.send(next.projectId, next.item)
    }
    this.flow()
  }

  private send(projectId: string, item: Item): void {
    void this.owner.submit(projectId, item).then((outcome) => this.settle(projectId, item, outcome))
  }

  private settle(projectId: string, item: Item, outcome: Outcome): void {
    if (outcome === 'unavailable' && !this.owner.closed) {
      this.retry.push({ projectId, item })
      this.scheduleRetry()
      this.flow()
      return
    }
    if (outcome === 'accepted') this.retryMs = RETRY_FIRST_MS
    this.pending--
    this.pendingBytes -= item.bytes
    this.listener.settled(item, outcome, this.peer)
    this.owner.tcpPending(-item.bytes)
    this.flow()
    this.forgetIfDone()
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.retry.length === 0) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.resend()
    }, this.retryMs)
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS)
  }

  private resend(): void {
    const entries = this.retry
    this.retry = []
    this.owner.deps.metrics.syslogRetries.inc({ listener: this.listener.address.label }, entries.length)
    for (const { projectId, item } of entries) this.send(projectId, item)
  }

  /** Reads while few enough messages are outstanding (its own and all connections') and none of its own waits for a retry. */
  flow(): void {
    if (this.stopped || this.socket.destroyed) return
    const hold =
      this.retry.length > 0 ||
      this.pending >= CONNECTION_MAX_PENDING ||
      this.pendingBytes >= CONNECTION_MAX_PENDING_BYTES ||
      !this.owner.tcpMayRead(this)
    if (hold && !this.paused) {
      this.paused = true
      this.socket.pause()
    } else if (!hold && this.paused) {
      this.paused = false
      this.socket.resume()
    }
  }

  /** serve stops: read no more; a frame cut off here is counted as dropped; held messages get a last try. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.socket.pause()
    if (!this.ended && this.framer.buffered > 0) this.listener.dropped(this.peer)
    if (this.retryTimer) {
      clearTimeout(this.retryTimer)
      this.retryTimer = undefined
    }
    this.resend()
  }

  destroy(): void {
    this.socket.destroy()
  }

  private forgetIfDone(): void {
    if (this.socket.destroyed && this.pending === 0) this.listener.forget(this)
  }
}

class UdpListener extends Listener {
  private socket: dgram.Socket | undefined
  private outstanding = 0
  private outstandingBytes = 0

  async listen(index: number): Promise<void> {
    const socket = dgram.createSocket({ type: net.isIPv6(this.host) ? 'udp6' : 'udp4' })
    this.socket = socket
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error) => {
        socket.close()
        reject(this.startupError(err, index))
      }
      socket.once('error', failed)
      socket.bind({ address: this.host, port: this.cfg.port }, () => {
        socket.off('error', failed)
        resolve()
      })
    })
    socket.on('error', (err) => this.owner.deps.logger?.error({ err, listener: this.address?.label }, 'syslog: UDP listener error'))
    this.bound(socket.address().port)
    socket.on('message', (datagram, rinfo) => this.datagram(datagram, `${bracketed(rinfo.address)}:${rinfo.port}`))
  }

  /** One datagram, one message (RFC 5426). */
  private datagram(datagram: Buffer, peer: string): void {
    if (this.owner.closed) {
      this.owner.count(this.address.label, 'dropped')
      return
    }
    const frame: Frame = datagram.length > this.maxBytes ? { kind: 'oversize', bytes: datagram.length } : { kind: 'message', bytes: datagram }
    const next = this.itemOf(frame, peer)
    if (!next) return
    if (this.outstanding >= UDP_MAX_PENDING || this.outstandingBytes >= UDP_MAX_PENDING_BYTES) {
      this.settled(next.item, 'dropped', peer)
      return
    }
    this.outstanding++
    this.outstandingBytes += next.item.bytes
    void this.owner.submit(next.projectId, next.item).then((outcome) => {
      this.outstanding--
      this.outstandingBytes -= next.item.bytes
      this.settled(next.item, outcome, peer)
    })
  }

  async stop(): Promise<void> {
    const socket = this.socket
    if (!socket) return
    this.socket = undefined
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve())
      } catch {
        resolve()
      }
    })
  }

  pending(): number {
    return this.outstanding
  }

  destroy(): void {}
}
