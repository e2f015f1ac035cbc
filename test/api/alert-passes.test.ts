import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AlertEvaluator } from '../../src/alerts/evaluate.js'
import { Notifier } from '../../src/alerts/notify.js'
import { Metrics } from '../../src/metrics/metrics.js'
import { bearer, createTestApp, type TestApp } from '../helpers/app.js'

// Issue 11 point 1: on a fresh install (no enabled rule) the first pass settled before it was
// stored, stayed stored, and no rule created afterwards was ever evaluated.
let t: TestApp
let notifier: Notifier
let evaluator: AlertEvaluator
const metrics = new Metrics()

beforeAll(async () => {
  t = await createTestApp()
  notifier = new Notifier({ meta: t.meta, config: t.config, clock: t.clock.now, sleep: async () => {} })
  evaluator = new AlertEvaluator({ meta: t.meta, engine: t.engine, clock: t.clock.now, notifier, metrics })
})
afterAll(async () => {
  await notifier?.close()
  await t?.close()
})

const createRule = async (projectId: string, name: string) => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/logs/alerts',
    headers: bearer(t.teamKey),
    payload: {
      project_id: projectId,
      name,
      query: 'level:error',
      condition: { type: 'count', threshold: 1, window_minutes: 5 },
      channels: [{ type: 'email', to: ['oncall@example.com'] }],
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: string }
}

describe('alert evaluation passes', () => {
  it('evaluates rules created after a pass that found none', async () => {
    expect(await evaluator.evaluateAll()).toEqual([])
    expect(await evaluator.evaluateAll()).toEqual([])
    const p = await t.project()
    const rule = await createRule(p.id, 'after the empty passes')
    const ingest = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/ingest',
      headers: bearer(p.ingest_token),
      payload: { message: 'boom', level: 'error', timestamp: new Date(t.clock.now().getTime() - 30_000).toISOString() },
    })
    expect(ingest.statusCode).toBe(202)
    const results = await evaluator.evaluateAll()
    expect(results).toEqual([expect.objectContaining({ rule_id: rule.id, outcome: 'opened' })])
    expect(metrics.alertEvaluations.get({ outcome: 'opened' })).toBe(1)
  })

  it('joins a pass in progress instead of doubling it, and runs a new one once it settled', async () => {
    const first = evaluator.evaluateAll()
    const joined = evaluator.evaluateAll()
    expect(joined).toBe(first)
    await first
    const next = evaluator.evaluateAll()
    expect(next).not.toBe(first)
    const outcomes = (await next).map((r) => r.outcome)
    expect(outcomes).toEqual(['still_firing'])
  })
})
