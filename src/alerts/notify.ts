import { createHmac } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import nodemailer, { type Transporter } from 'nodemailer'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { errorMessage } from '../errors.js'
import { recordDelivery, type Channel } from '../meta/alerts.js'
import type { MetaDb } from '../meta/db.js'
import { VERSION } from '../version.js'
import type { Metrics } from '../metrics/metrics.js'
import { PRIVATE_WEBHOOK_HINT, privateTargetReason, publicOnly, WebhookTargetRefused } from './webhook-target.js'
import { htmlBody, subjectOf, textBody, webhookPayload, type Notification } from './messages.js'

export interface NotifierDeps {
  meta: MetaDb
  config: Pick<Config, 'alerts' | 'smtp'>
  clock: () => Date
  logger?: Logger
  /** Resolves webhook hosts (default: the system's resolver); tests pass their own names. */
  lookup?: LookupFunction
  /** Waits between attempts; tests pass one that records the delays instead of sleeping. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  metrics?: Metrics
}

/** The outcome of one channel of a notification, after its last attempt. */
export interface DeliveryResult {
  channel: Channel['type']
  target: string
  ok: boolean
  attempts: number
  status_code: number | null
  error: string | null
  duration_ms: number
}

interface AttemptOutcome {
  ok: boolean
  status_code: number | null
  error: string | null
  /** false: trying again cannot help (a 4xx answer, missing SMTP settings). */
  retryable: boolean
}

export const signatureOf = (secret: string, rawBody: string): string =>
  `sha256=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`

const realSleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => undefined)

const targetOf = (channel: Channel): string => (channel.type === 'email' ? channel.to.join(', ') : channel.url)

/**
 * Sends alert notifications by email (nodemailer over the SMTP settings of krafter.yaml) and
 * webhook (signed JSON POST). Every attempt is recorded in alert_deliveries; failures are
 * retried with exponential backoff. The evaluator hands notifications over with `dispatch`
 * and never waits for them, so a slow receiver cannot hold up the next evaluation.
 */
export class Notifier {
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly abort = new AbortController()
  private transport?: Transporter

  constructor(private readonly deps: NotifierDeps) {}

  /** Sends on every channel at once and resolves with each channel's final result. */
  async send(n: Notification, options: { retries?: number } = {}): Promise<DeliveryResult[]> {
    const retries = options.retries ?? this.deps.config.alerts.delivery_retries
    return Promise.all(n.rule.channels.map((channel) => this.deliver(n, channel, retries)))
  }

  /** Sends in the background; `drain` waits for everything handed over so far. */
  dispatch(n: Notification): void {
    const task = this.send(n)
      .then((results) => {
        const failed = results.filter((r) => !r.ok)
        if (failed.length > 0) {
          this.deps.logger?.warn({ rule_id: n.rule.id, kind: n.kind, failed: failed.map((f) => ({ channel: f.channel, error: f.error })) }, 'alert notification failed')
        }
      })
      .catch((err) => this.deps.logger?.error({ err, rule_id: n.rule.id }, 'alert notification crashed'))
      .finally(() => this.inflight.delete(task))
    this.inflight.add(task)
  }

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
  }

  /** Cuts waits and attempts short (shutdown), lets recording finish, closes the SMTP pool. */
  async close(): Promise<void> {
    this.abort.abort()
    await this.drain()
    this.transport?.close()
  }

  private async deliver(n: Notification, channel: Channel, retries: number): Promise<DeliveryResult> {
    const { alerts } = this.deps.config
    const sleep = this.deps.sleep ?? realSleep
    let outcome: AttemptOutcome = { ok: false, status_code: null, error: 'not attempted', retryable: false }
    let attempt = 0
    let duration = 0
    while (attempt <= retries) {
      if (attempt > 0) {
        await sleep(alerts.retry_base_ms * 2 ** (attempt - 1), this.abort.signal)
        if (this.abort.signal.aborted) break
      }
      attempt++
      const started = performance.now()
      outcome = await (channel.type === 'email' ? this.sendEmail(n, channel) : this.postWebhook(n, channel)).catch(
        (err): AttemptOutcome => ({ ok: false, status_code: null, error: errorMessage(err), retryable: true }),
      )
      duration = Math.round((performance.now() - started) * 10) / 10
      this.deps.metrics?.alertDeliveries.inc({ channel: channel.type, result: outcome.ok ? 'ok' : 'failed' })
      recordDelivery(this.deps.meta, {
        rule_id: n.rule.id,
        event_id: n.event?.id ?? null,
        notification_id: n.id,
        kind: n.kind,
        channel: channel.type,
        target: targetOf(channel),
        attempt,
        ok: outcome.ok,
        status_code: outcome.status_code,
        duration_ms: duration,
        error: outcome.error,
        attempted_at: this.deps.clock().toISOString(),
      })
      if (outcome.ok || !outcome.retryable) break
    }
    return {
      channel: channel.type,
      target: targetOf(channel),
      ok: outcome.ok,
      attempts: attempt,
      status_code: outcome.status_code,
      error: outcome.error,
      duration_ms: duration,
    }
  }

  private async postWebhook(n: Notification, channel: Extract<Channel, { type: 'webhook' }>): Promise<AttemptOutcome> {
    const { webhook_timeout_ms: timeoutMs, allow_private_webhooks: allowPrivate } = this.deps.config.alerts
    // Checked again here: the rule may predate the check, or the config may have changed.
    const reason = allowPrivate ? undefined : privateTargetReason(channel.url)
    if (reason) return { ok: false, status_code: null, error: `refused: ${reason}; ${PRIVATE_WEBHOOK_HINT}`, retryable: false }
    const body = JSON.stringify(webhookPayload(n))
    const timeout = AbortSignal.timeout(timeoutMs)
    let status: number
    try {
      status = await postJson(channel.url, body, {
        headers: {
          'user-agent': `krafter-logs/${VERSION}`,
          'x-krafter-event-id': n.id,
          'x-krafter-signature': signatureOf(channel.secret, body),
        },
        signal: AbortSignal.any([this.abort.signal, timeout]),
        lookup: allowPrivate ? this.deps.lookup : publicOnly(this.deps.lookup),
      })
    } catch (err) {
      if (err instanceof WebhookTargetRefused) return { ok: false, status_code: null, error: `refused: ${err.message}`, retryable: false }
      return { ok: false, status_code: null, error: timeout.aborted ? `no answer within ${timeoutMs} ms` : errorMessage(err), retryable: true }
    }
    if (status >= 200 && status < 300) return { ok: true, status_code: status, error: null, retryable: false }
    const retryable = status >= 500 || status === 408 || status === 429
    return { ok: false, status_code: status, error: `HTTP ${status}`, retryable }
  }

  private async sendEmail(n: Notification, channel: Extract<Channel, { type: 'email' }>): Promise<AttemptOutcome> {
    const { smtp } = this.deps.config
    if (!smtp.host) {
      return { ok: false, status_code: null, error: 'smtp.host is not set in krafter.yaml', retryable: false }
    }
    this.transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
      connectionTimeout: smtp.timeout_ms,
      greetingTimeout: smtp.timeout_ms,
      socketTimeout: smtp.timeout_ms,
    })
    try {
      const info = await this.transport.sendMail({
        from: smtp.from,
        to: channel.to,
        subject: subjectOf(n),
        text: textBody(n),
        html: htmlBody(n),
        headers: { 'X-Krafter-Event-Id': n.id },
      })
      return { ok: true, status_code: smtpCode(info.response), error: null, retryable: false }
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode ?? null
      // 5xx is the server's final word (bad recipient, relay refused); anything else may pass later.
      return { ok: false, status_code: code, error: errorMessage(err), retryable: code === null || code < 500 }
    }
  }
}

/**
 * POSTs a JSON body and resolves with the answer's status (redirects are not followed; the
 * answer's body is not used). node:http rather than fetch for its `lookup` option: the
 * connection goes to the very address the lookup checked.
 */
const postJson = (
  url: string,
  body: string,
  options: { headers: Record<string, string>; signal: AbortSignal; lookup?: LookupFunction },
): Promise<number> =>
  new Promise((resolve, reject) => {
    const target = new URL(url)
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        signal: options.signal,
        agent: false,
        ...(options.lookup ? { lookup: options.lookup } : {}),
      },
      (response) => {
        response.resume()
        resolve(response.statusCode ?? 0)
      },
    )
    request.on('error', (err) => reject((err as { cause?: unknown }).cause instanceof WebhookTargetRefused ? (err as { cause: Error }).cause : err))
    request.end(body)
  })

const smtpCode = (response: string | undefined): number | null => {
  const match = /^(\d{3})/.exec(response ?? '')
  return match ? Number(match[1]) : null
}
