import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import { dataPaths } from '../../src/config/paths.js'
import { openEngine } from '../../src/engine/engine.js'
import { tempDir } from '../helpers/app.js'
import { BIN, startServe } from '../helpers/cli.js'

// 202 means durable: SIGKILL the real server while clients send, restart it, and find every
// acknowledged entry exactly once. Both ways of committing: the engine's insert, and the ingest
// spool (the restart inserts the segments the kill left, skipping any already stored).
const homes: string[] = []
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true })
})

describe.each(['engine', 'spool'])('durability, ingest.commit %s', (commit) => {
  const home = tempDir(`durability-${commit}`)
  homes.push(home)
  const env = { KRAFTER_HOME: home, KRAFTER_LOG_LEVEL: 'warn', KRAFTER_INGEST_COMMIT: commit }

  it('loses and duplicates nothing that got a 202 when the server is killed mid-traffic', async () => {
    expect((await execa('node', [BIN, 'init', '--port', '0', '--json'], { env })).exitCode).toBe(0)
    const project = JSON.parse((await execa('node', [BIN, 'project', 'create', 'durable', '--json'], { env })).stdout)
    const { proc, url } = await startServe(home, env)

    const acknowledged: string[] = []
    const attempted: string[] = []
    let killed = false
    let partial = 0
    const client = async (c: number) => {
      for (let n = 0; !killed; n++) {
        const messages = Array.from({ length: 25 }, (_, i) => `client${c}-batch${n}-entry${i}`)
        attempted.push(...messages)
        try {
          const res = await fetch(`${url}/api/v1/logs/ingest/batch`, {
            method: 'POST',
            headers: { authorization: `Bearer ${project.ingest_token}`, 'content-type': 'application/x-ndjson' },
            body: messages.map((message) => JSON.stringify({ message, metadata: { c, n } })).join('\n'),
          })
          if (res.status === 202) {
            const body = (await res.json()) as { data: { accepted: number } }
            if (body.data.accepted !== 25) partial++
            acknowledged.push(...messages)
          }
        } catch {
          // the server died under this request: it was never acknowledged
        }
        // Single-entry requests too, grouped by the batcher with others.
        const single = `client${c}-single${n}`
        attempted.push(single)
        try {
          const res = await fetch(`${url}/api/v1/logs/ingest`, {
            method: 'POST',
            headers: { authorization: `Bearer ${project.ingest_token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ message: single }),
          })
          if (res.status === 202) acknowledged.push(single)
        } catch {}
      }
    }
    const clients = Array.from({ length: 6 }, (_, c) => client(c))
    while (acknowledged.length < 2000) await new Promise((r) => setTimeout(r, 20))
    proc.kill('SIGKILL')
    killed = true
    await Promise.all(clients)
    expect((await proc).signal).toBe('SIGKILL')
    expect(partial).toBe(0)

    // A killed serve leaves serve.json and engine.lock behind; a new one starts anyway.
    const again = await startServe(home, env)
    const after = await fetch(`${again.url}/api/v1/logs/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${project.ingest_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'after restart' }),
    })
    expect(after.status).toBe(202)
    again.proc.kill('SIGTERM')
    expect((await again.proc).exitCode).toBe(0)

    const engine = await openEngine(parseConfig({}, 'test', {}), dataPaths(home))
    try {
      const rs = await engine.client.query({
        query: 'SELECT message, count() AS n FROM krafter.log_entries WHERE project_id = {p:UUID} GROUP BY message',
        query_params: { p: project.id },
        format: 'JSONEachRow',
      })
      const counts = new Map((await rs.json<{ message: string; n: string }>()).map((r) => [r.message, Number(r.n)]))
      const missing = acknowledged.filter((m) => counts.get(m) !== 1)
      expect(missing).toEqual([])
      const duplicated = [...counts].filter(([, n]) => n > 1)
      expect(duplicated).toEqual([])
      expect(counts.get('after restart')).toBe(1)
      const stray = [...counts.keys()].filter((m) => m !== 'after restart' && !attempted.includes(m))
      expect(stray).toEqual([])
      console.log(`durability: ${acknowledged.length} acknowledged entries all stored once; ${counts.size - 1 - acknowledged.length} unacknowledged entries also landed`)
    } finally {
      await engine.close()
    }
  })
})
