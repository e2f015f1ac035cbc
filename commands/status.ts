import { KrafterCommand } from '../src/cli/base.js'
import { renderRecord } from '../src/cli/table.js'
import type { JobState } from '../src/jobs/scheduler.js'
import { collectStatus, type Status } from '../src/ops/status.js'

const job = (j: JobState): string =>
  `${j.running ? 'running' : `next ${j.next_run_at ?? 'never'}`}, last ${j.last_result === null ? 'never ran' : `${j.last_result} at ${j.last_finished_at} (${j.last_duration_ms} ms)`}, ${j.runs} runs, ${j.failures} failed${j.last_error ? `: ${j.last_error}` : ''}`

const mib = (bytes: number | null): string => (bytes === null ? 'unknown' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`)

export default class StatusCommand extends KrafterCommand {
  static override summary = 'Is serve running, is the engine healthy, how much data, last retention run and backup'

  async run(): Promise<Status> {
    const { flags } = await this.parse(StatusCommand)
    const status = await this.withContext(flags['data-dir'], (ctx) => collectStatus(ctx))
    const { serve, engine } = status
    const run = (r: Status['last_retention']) => (r ? `${r.finished_at} (${r.trigger}${r.ok ? '' : `, FAILED: ${r.error}`})` : 'never')
    this.log(
      renderRecord({
        'data dir': status.data_dir,
        serve: serve.running ? `running, pid ${serve.pid}, ${serve.url}, up ${serve.uptime_seconds} s, version ${serve.version}` : 'not running',
        engine: `${engine.mode} ClickHouse ${engine.version}: ${engine.ok ? 'healthy' : `UNAVAILABLE (${engine.error ?? 'no answer'})`}`,
        projects: status.projects,
        'api keys': status.api_keys,
        'alert rules': status.alert_rules,
        entries: engine.entries === null ? 'unknown' : engine.entries.toLocaleString('en-US'),
        [`ingest today (${status.ingest_today.day} UTC)`]: `${status.ingest_today.entries.toLocaleString('en-US')} entries stored, ${status.ingest_today.rejected.toLocaleString('en-US')} refused`,
        'log data on disk': mib(engine.bytes_on_disk),
        'data dir size': mib(status.disk.data_dir_bytes),
        'last retention run': run(status.last_retention),
        'last backup': status.last_backup ? `${run(status.last_backup)} ${(status.last_backup.summary as { path?: string } | null)?.path ?? ''}`.trim() : 'never',
        ...Object.fromEntries((status.jobs ?? []).map((j) => [`job ${j.name}`, job(j)])),
        ...(status.jobs === null ? { jobs: 'unknown (serve did not answer)' } : {}),
      }),
    )
    if (!engine.ok) process.exitCode = 1
    return status
  }
}
