import type { Logger } from 'pino'
import { AppError, type FieldError } from '../../errors.js'
import { getProject } from '../../meta/projects.js'
import { ingestRecords, type DecodedRecord, type IngestDeps } from '../pipeline.js'

/** What became of one message handed to the pipeline. */
export type Outcome =
  /** Stored. */
  | 'accepted'
  /** Refused by the entry rules or the daily limit (counted by the pipeline, per project and reason). */
  | 'refused'
  /** The engine did not take it: a TCP connection holds it and tries again, UDP counts it as dropped. */
  | 'unavailable'
  /** Its project was deleted since. */
  | 'no_project'
  /** A bug on our side (logged at error). */
  | 'failed'

export type Item = { value: unknown; refused?: undefined; bytes: number } | { refused: FieldError; bytes: number }

interface Waiting {
  item: Item
  settle: (outcome: Outcome) => void
}

interface Group {
  waiting: Waiting[]
  bytes: number
  timer: NodeJS.Timeout
}

export interface BatchOptions {
  /** How long the first message of a group waits for others (ms). */
  windowMs: number
  /** A group goes to the pipeline at once when it holds this many messages … */
  maxMessages: number
  /** … or this many bytes of them. */
  maxBytes: number
}

export const DEFAULT_BATCH: BatchOptions = { windowMs: 5, maxMessages: 1000, maxBytes: 4 * 1024 * 1024 }

/**
 * Messages from every listener and connection, grouped per project: what arrives within a few
 * ms becomes one pipeline call (the same code as HTTP ingest: entry rules, daily limit, usage,
 * metrics, durable batcher) instead of one per message. A group is bounded in count and bytes;
 * each message's promise settles once its group is stored or refused, so each sender decides
 * what to do next (a TCP connection stops reading while its messages are outstanding).
 */
export class SyslogBatches {
  private readonly groups = new Map<string, Group>()
  private readonly inFlight = new Set<Promise<void>>()

  constructor(
    private readonly deps: IngestDeps,
    private readonly teamId: string,
    private readonly options: BatchOptions = DEFAULT_BATCH,
    private readonly logger?: Logger,
  ) {}

  submit(projectId: string, item: Item): Promise<Outcome> {
    return new Promise<Outcome>((settle) => {
      let group = this.groups.get(projectId)
      if (!group) {
        group = { waiting: [], bytes: 0, timer: setTimeout(() => this.flush(projectId), this.options.windowMs) }
        this.groups.set(projectId, group)
      }
      group.waiting.push({ item, settle })
      group.bytes += item.bytes
      if (group.waiting.length >= this.options.maxMessages || group.bytes >= this.options.maxBytes) this.flush(projectId)
    })
  }

  /** Sends every group now and resolves once all that was submitted is settled. */
  async drain(): Promise<void> {
    for (const projectId of [...this.groups.keys()]) this.flush(projectId)
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight])
  }

  private flush(projectId: string): void {
    const group = this.groups.get(projectId)
    if (!group) return
    this.groups.delete(projectId)
    clearTimeout(group.timer)
    const run = this.store(projectId, group.waiting)
    this.inFlight.add(run)
    void run.finally(() => this.inFlight.delete(run))
  }

  private async store(projectId: string, waiting: Waiting[]): Promise<void> {
    try {
      const project = getProject(this.deps.meta, this.teamId, projectId)
      if (!project) {
        for (const w of waiting) w.settle('no_project')
        return
      }
      const records: DecodedRecord[] = waiting.map((w, i) =>
        w.item.refused ? { number: i + 1, refused: w.item.refused } : { number: i + 1, value: w.item.value },
      )
      const result = await ingestRecords(this.deps, project, records, 'syslog', { allErrors: true })
      const refused = new Set(result.errors?.map((e) => e.line))
      waiting.forEach((w, i) => w.settle(refused.has(i + 1) ? 'refused' : 'accepted'))
    } catch (err) {
      // The pipeline counted what it refused before the engine was asked (a refused item is
      // never tried again); a daily-limit refusal it counted too. Rows the engine could not take
      // are the sender's to retry (TCP) or to count as dropped (UDP).
      let outcome: Outcome = 'failed'
      if (err instanceof AppError && err.code === 'daily_limit_exceeded') outcome = 'refused'
      else if (err instanceof AppError && err.code === 'engine_unavailable') outcome = 'unavailable'
      else this.logger?.error({ err, project_id: projectId, messages: waiting.length }, 'syslog: storing messages failed')
      for (const w of waiting) w.settle(w.item.refused ? 'refused' : outcome)
    }
  }
}
