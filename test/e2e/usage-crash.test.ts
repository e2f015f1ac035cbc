import { rmSync } from 'node:fs'
import { execa } from 'execa'
import { afterAll, describe, expect, it } from 'vitest'
import { openMeta } from '../../src/meta/db.js'
import { dataPaths } from '../../src/config/paths.js'
import { tempDir } from '../helpers/app.js'
import { BIN, startServe } from '../helpers/cli.js'

// Issue 11 point 5: usage was written ~200 ms behind, so a SIGKILL lost the counts of entries
// already acknowledged and the daily limit let a client past it after the restart. A
// reservation is now durable before its rows are sent to the engine.
const home = tempDir('usage-crash')
const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn' }

afterAll(() => rmSync(home, { recursive: true, force: true }))

const send = (url: string, token: string, messages: string[]) =>
  fetch(`${url}/api/v1/logs/ingest/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: messages.map((message) => JSON.stringify({ message })).join('\n'),
  })

describe('daily limit across a crash', () => {
  it('counts every acknowledged byte even when serve is killed right after answering', async () => {
    expect((await execa('node', [BIN, 'init', '--port', '0', '--json'], { env })).exitCode).toBe(0)
    const project = JSON.parse((await execa('node', [BIN, 'project', 'create', 'limited', '--daily-limit-mb', '1', '--json'], { env })).stdout)
    const { proc, url } = await startServe(home, env)

    // 3 batches of 30 × 10,000-byte messages = 900,000 bytes acknowledged, then SIGKILL at once.
    const chunk = (tag: string) => Array.from({ length: 30 }, (_, i) => `${tag}-${String(i).padStart(3, '0')}-`.padEnd(10_000, 'x'))
    let acknowledgedBytes = 0
    for (const tag of ['a', 'b', 'c']) {
      const res = await send(url, project.ingest_token, chunk(tag))
      expect(res.status).toBe(202)
      acknowledgedBytes += 30 * (10_000 + 'default'.length)
    }
    proc.kill('SIGKILL')
    expect((await proc).signal).toBe('SIGKILL')

    const meta = openMeta(dataPaths(home).meta)
    const row = meta.prepare('SELECT bytes_in, entries FROM usage_daily WHERE project_id = ?').get(project.id) as { bytes_in: number; entries: number }
    meta.close()
    expect(row.entries).toBe(90)
    expect(row.bytes_in).toBe(acknowledgedBytes)

    // After the restart the limit still holds: 900 KB + 300 KB would cross 1 MiB.
    const again = await startServe(home, env)
    const over = await send(again.url, project.ingest_token, chunk('d'))
    expect(over.status).toBe(429)
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe('daily_limit_exceeded')
    again.proc.kill('SIGTERM')
    expect((await again.proc).exitCode).toBe(0)
  })
})
