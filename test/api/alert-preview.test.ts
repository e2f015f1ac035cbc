import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AlertEvaluator } from '../../src/alerts/evaluate.js'
import { Notifier } from '../../src/alerts/notify.js'
import { getRule } from '../../src/meta/alerts.js'
import { bearer, createTestApp, ingestNdjson, type TestApp } from '../helpers/app.js'
import { startSmtpServer } from '../helpers/receivers.js'

/*
 * POST /logs/alerts/preview over the real app and engine: entries ingested at known times
 * before the test clock's now, so every window's counts and every firing are known in advance;
 * the count rule's answer is also replayed through the real evaluator, instant by instant.
 */

let t: TestApp
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let notifier: Notifier
let evaluator: AlertEvaluator
/** The clock's now in every test: the preview's `to`. */
let T: number
let counting: { id: string; ingest_token: string }
let rating: { id: string; ingest_token: string }
let other: { id: string; ingest_token: string }

const MIN = 60_000
const iso = (ms: number) => new Date(ms).toISOString()
/** An entry `minutesAgo` (plus seconds) before T. */
const at = (minutesAgo: number, level: string, message = `${level} entry`, secondsAgo = 0) => ({ message, level, timestamp: iso(T - minutesAgo * MIN - secondsAgo * 1000) })
const many = (n: number, make: (i: number) => object) => Array.from({ length: n }, (_, i) => make(i))

/*
 * The count rule (level:error ≥ 3 in 5 minutes) is evaluated every 5 minutes, at T - 5·i min;
 * the window of instant i is block i, [T - 5(i+1) min, T - 5i min). Errors per block:
 * block 100: 3 (opens), 99: 4 (still firing), 98: none (resolves), 97: 3 (within a 20 min
 * cooldown of the opening at block 100: quiet), 90: 5 (opens), 50: 3, one of them exactly at
 * the block's first instant (opens), 49: 2 (not enough), and one error exactly at instant 20
 * (T - 100 min), which belongs to block 19, not 20.
 */
const countEntries = () => [
  ...many(3, (i) => at(503, 'error', 'b100', i)),
  ...many(4, (i) => at(497, 'error', 'b99', i)),
  ...many(6, (i) => at(491, 'info', 'b98 noise', i)),
  ...many(3, (i) => at(487, 'error', 'b97', i)),
  ...many(5, (i) => at(452, 'error', 'b90', i)),
  at(255, 'error', 'b50 at the start'),
  ...many(2, (i) => at(251, 'error', 'b50', i)),
  ...many(7, (i) => at(252, 'info', 'b50 noise', i)),
  ...many(2, (i) => at(246, 'error', 'b49', i)),
  at(100, 'error', 'on instant 20'),
  ...many(2, (i) => at(98, 'error', 'b19', i)),
  // Older than the 24 h range and its first window: never counted.
  ...many(5, (i) => at(24 * 60 + 10, 'error', 'too old', i)),
]

/*
 * The rate rule (level:error ≥ 50 % of at least min_entries entries in 10 minutes), evaluated
 * every 10 minutes; block i is [T - 10(i+1) min, T - 10i min). Block 10: 2 errors of 4 (50 %),
 * block 8: 2 of 5 (40 %), block 6: 3 of 4 (75 %), block 3: 2 of 2 (100 %, but only 2 entries).
 */
const rateEntries = () => [
  ...many(2, (i) => at(105, 'error', 'r10', i)),
  ...many(2, (i) => at(105, 'info', 'r10', 10 + i)),
  ...many(2, (i) => at(85, 'error', 'r8', i)),
  ...many(3, (i) => at(85, 'info', 'r8', 10 + i)),
  ...many(3, (i) => at(65, 'error', 'r6', i)),
  at(65, 'warn', 'r6', 20),
  ...many(2, (i) => at(35, 'error', 'r3', i)),
]

beforeAll(async () => {
  smtp = await startSmtpServer()
  t = await createTestApp({ config: { smtp: { host: '127.0.0.1', port: smtp.port, secure: false }, alerts: { delivery_retries: 0 } } })
  t.clock.pin(new Date(Math.floor(Date.now() / 1000) * 1000 + 123))
  T = t.clock.now().getTime()
  notifier = new Notifier({ meta: t.meta, config: t.config, clock: t.clock.now, sleep: async () => {} })
  evaluator = new AlertEvaluator({ meta: t.meta, engine: t.engine, clock: t.clock.now, notifier })
  counting = await t.project({ name: 'preview-count' })
  rating = await t.project({ name: 'preview-rate' })
  other = await t.project({ name: 'preview-other' })
  await ingestNdjson(t, counting.ingest_token, countEntries())
  await ingestNdjson(t, rating.ingest_token, rateEntries())
  // Errors of another project in the count rule's quiet blocks: never counted.
  await ingestNdjson(t, other.ingest_token, [...many(10, (i) => at(300, 'error', 'elsewhere', i)), ...many(10, (i) => at(35, 'error', 'elsewhere', i))])
})
afterEach(() => t.clock.reset())
afterAll(async () => {
  await notifier?.close()
  await t?.close()
  await smtp?.close()
})

const preview = (body: Record<string, unknown>, headers: Record<string, string> = bearer(t.teamKey)) =>
  t.app.inject({ method: 'POST', url: '/api/v1/logs/alerts/preview', headers, payload: body })

interface Point {
  time: string
  matching: number
  total: number
  met: boolean
}
interface Preview {
  from: string
  to: string
  step_minutes: number
  firings: number
  fired_at: string[]
  points: Point[]
}
const ok = async (body: Record<string, unknown>, headers?: Record<string, string>): Promise<Preview> => {
  const res = await preview(body, headers)
  expect(res.statusCode, res.body).toBe(200)
  expect(res.json().request_id).toBe(res.headers['x-request-id'])
  return res.json().data
}
const pointAt = (p: Preview, minutesAgo: number): Point => {
  const found = p.points.find((x) => x.time === iso(T - minutesAgo * MIN))
  expect(found, `a point ${minutesAgo} min before now`).toBeDefined()
  return found!
}
const countRule = { query: 'level:error', condition: { type: 'count', threshold: 3, window_minutes: 5 } }

const expectError = (res: Awaited<ReturnType<typeof preview>>, status: number, code: string, field?: string) => {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json()
  expect(body.error.code).toBe(code)
  expect(body.request_id).toBe(res.headers['x-request-id'])
  if (field) expect(body.error.details.map((d: { field: string }) => d.field), res.body).toContain(field)
  return body.error as { message: string; details?: { field: string; message: string }[] }
}

describe('POST /logs/alerts/preview: a count rule', () => {
  it('counts every window from the minutes, opens and resolves like the evaluator, and respects the cooldown', async () => {
    const p = await ok({ project_id: counting.id, ...countRule, cooldown_minutes: 20 })
    expect(p.to).toBe(iso(T))
    expect(p.from).toBe(iso(T - 24 * 60 * MIN))
    expect(p.step_minutes).toBe(5)
    expect(p.points).toHaveLength(24 * 12 + 1)
    expect(p.points[0]!.time).toBe(p.from)
    expect(p.points.at(-1)!.time).toBe(p.to)
    // Every instant, oldest first, step minutes apart.
    p.points.forEach((point, i) => expect(Date.parse(point.time), point.time).toBe(Date.parse(p.from) + i * 5 * MIN))

    expect(pointAt(p, 500)).toEqual({ time: iso(T - 500 * MIN), matching: 3, total: 3, met: true })
    expect(pointAt(p, 495)).toEqual({ time: iso(T - 495 * MIN), matching: 4, total: 4, met: true })
    expect(pointAt(p, 490)).toEqual({ time: iso(T - 490 * MIN), matching: 0, total: 6, met: false })
    expect(pointAt(p, 485)).toMatchObject({ matching: 3, met: true })
    expect(pointAt(p, 450)).toMatchObject({ matching: 5, total: 5, met: true })
    // The entry at the block's first instant is in its window (the window includes its start).
    expect(pointAt(p, 250)).toEqual({ time: iso(T - 250 * MIN), matching: 3, total: 10, met: true })
    expect(pointAt(p, 245)).toMatchObject({ matching: 2, total: 2, met: false })
    // An entry exactly at an instant is after that instant's window: it is the next one's.
    expect(pointAt(p, 100)).toMatchObject({ matching: 0, total: 0, met: false })
    expect(pointAt(p, 95)).toMatchObject({ matching: 3, met: true })
    // Another project's errors (at 300 and 35 min ago) and entries older than the range count nowhere.
    expect(pointAt(p, 295)).toMatchObject({ matching: 0, total: 0 })
    expect(pointAt(p, 30)).toMatchObject({ matching: 0, total: 0 })
    expect(p.points[0]).toMatchObject({ matching: 0, total: 0 })
    const metAt = p.points.filter((x) => x.met).map((x) => x.time)
    expect(metAt).toEqual([500, 495, 485, 450, 250, 95].map((m) => iso(T - m * MIN)))

    // Opens at 500 (held at 495), resolves at 490; 485 is 15 min after the opening: quiet.
    expect(p.fired_at).toEqual([500, 450, 250, 95].map((m) => iso(T - m * MIN)))
    expect(p.firings).toBe(4)

    // Without a cooldown the re-met condition at 485 opens again; with a long one, 450 and 250 stay quiet too.
    expect((await ok({ project_id: counting.id, ...countRule, cooldown_minutes: 0 })).fired_at).toEqual([500, 485, 450, 250, 95].map((m) => iso(T - m * MIN)))
    const long = await ok({ project_id: counting.id, ...countRule, cooldown_minutes: 300 })
    expect(long.fired_at).toEqual([500, 95].map((m) => iso(T - m * MIN)))
    expect(long.firings).toBe(2)
    // The default cooldown is the rules' 15 minutes: 485 is exactly 15 min after 500, so it may open.
    expect((await ok({ project_id: counting.id, ...countRule })).fired_at).toEqual([500, 485, 450, 250, 95].map((m) => iso(T - m * MIN)))
  })

  it('agrees with the real evaluator run at each of its instants', { timeout: 60_000 }, async () => {
    const hours = 9
    const p = await ok({ project_id: counting.id, ...countRule, cooldown_minutes: 20, hours })
    expect(p.points).toHaveLength(hours * 12 + 1)
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs/alerts',
      headers: bearer(t.teamKey),
      payload: { project_id: counting.id, name: 'replayed', ...countRule, cooldown_minutes: 20, channels: [{ type: 'email', to: ['oncall@example.com'] }], enabled: false },
    })
    expect(res.statusCode, res.body).toBe(201)
    const ruleId = res.json().data.id
    const opened: string[] = []
    const measured: { time: string; matching: number; total: number; met: boolean }[] = []
    for (const point of p.points) {
      t.clock.current = new Date(point.time)
      const result = await evaluator.evaluateRule(getRule(t.meta, t.teamId, ruleId)!)
      expect(result.outcome, point.time).not.toBe('error')
      measured.push({ time: point.time, matching: result.measurement!.matched, total: result.measurement!.total, met: result.measurement!.holds })
      if (result.outcome === 'opened') opened.push(point.time)
    }
    expect(measured).toEqual(p.points)
    expect(opened).toEqual(p.fired_at)
    expect(opened).toHaveLength(4)
  })

  it('enlarges the step to stay within 500 points, and clamps it to 1 to 60 minutes', async () => {
    const fine = await ok({ project_id: counting.id, query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 1 } })
    expect(fine.step_minutes).toBe(3)
    expect(fine.points).toHaveLength(481)
    expect(fine.points[0]!.time).toBe(fine.from)
    // Instants every 3 minutes with 1-minute windows sample the range: of the bursts, only
    // the entries whose minute ends on an instant are seen (exactly 487 and 100 min ago, and
    // 246 min 1 s ago), as the evaluator run at those instants would see them.
    expect(fine.points.filter((x) => x.matching > 0).map((x) => [x.time, x.matching])).toEqual([486, 246, 99].map((m) => [iso(T - m * MIN), 1]))
    expect(fine.fired_at).toEqual([486, 246, 99].map((m) => iso(T - m * MIN)))

    const week = await ok({ project_id: counting.id, query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 1440 }, hours: 168 })
    expect(week.step_minutes).toBe(60)
    expect(week.points).toHaveLength(169)
    expect(week.from).toBe(iso(T - 168 * 60 * MIN))
    // The newest day holds the 23 errors of the bursts; the five of a day and 10 min ago keep
    // the windows before met, back to the instant a day ago: one firing, 25 hours ago.
    expect(week.points.at(-1)).toMatchObject({ time: iso(T), matching: 23, met: true })
    expect(week.fired_at).toEqual([iso(T - 24 * 60 * MIN)])
    expect(week.firings).toBe(1)

    const short = await ok({ project_id: counting.id, query: 'level:error', condition: { type: 'count', threshold: 1, window_minutes: 7 }, hours: 1 })
    expect(short.step_minutes).toBe(7)
    // 60 / 7: 8 steps back from now, the oldest instant 56 minutes ago (within the hour).
    expect(short.points).toHaveLength(9)
    expect(short.points[0]!.time).toBe(iso(T - 56 * MIN))
  })
})

describe('POST /logs/alerts/preview: a rate rule', () => {
  const rate = (minEntries: number) => ({ query: 'level:error', condition: { type: 'rate', threshold_percent: 50, window_minutes: 10, min_entries: minEntries }, hours: 2 })

  it('needs min_entries entries in the window and the matching share at the threshold', async () => {
    const p = await ok({ project_id: rating.id, ...rate(4) })
    expect(p.step_minutes).toBe(10)
    expect(p.points).toHaveLength(13)
    expect(pointAt(p, 100)).toEqual({ time: iso(T - 100 * MIN), matching: 2, total: 4, met: true })
    expect(pointAt(p, 80)).toEqual({ time: iso(T - 80 * MIN), matching: 2, total: 5, met: false })
    expect(pointAt(p, 60)).toEqual({ time: iso(T - 60 * MIN), matching: 3, total: 4, met: true })
    expect(pointAt(p, 30)).toEqual({ time: iso(T - 30 * MIN), matching: 2, total: 2, met: false })
    expect(p.points.filter((x) => x.met).map((x) => x.time)).toEqual([iso(T - 100 * MIN), iso(T - 60 * MIN)])
    expect(p.fired_at).toEqual([iso(T - 100 * MIN), iso(T - 60 * MIN)])
    expect(p.firings).toBe(2)

    // With min_entries 5 neither 4-entry window counts; with 2 the 100 % of two entries does.
    const strict = await ok({ project_id: rating.id, ...rate(5) })
    expect(strict.points.some((x) => x.met)).toBe(false)
    expect(strict.firings).toBe(0)
    expect((await ok({ project_id: rating.id, ...rate(2) })).fired_at).toEqual([iso(T - 100 * MIN), iso(T - 60 * MIN), iso(T - 30 * MIN)])
    // min_entries defaults to the rules' 10.
    const defaulted = await ok({ project_id: rating.id, query: 'level:error', condition: { type: 'rate', threshold_percent: 50, window_minutes: 10 }, hours: 2 })
    expect(defaulted.firings).toBe(0)
  })
})

describe('POST /logs/alerts/preview: input', () => {
  it('takes the whole rule form, ignoring name, channels and enabled, and writes nothing', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/api/v1/logs/alerts', headers: bearer(t.teamKey) })).json().data.length
    const p = await ok({ project_id: counting.id, ...countRule, cooldown_minutes: 20, name: '', channels: [{ type: 'sms' }], enabled: 'maybe' })
    expect(p.firings).toBe(4)
    const after = (await t.app.inject({ method: 'GET', url: '/api/v1/logs/alerts', headers: bearer(t.teamKey) })).json().data.length
    expect(after).toBe(before)
  })

  it('refuses bad input naming the field', async () => {
    const base = { project_id: counting.id, ...countRule }
    const badQuery = expectError(await preview({ ...base, query: 'level:error AND (' }), 400, 'validation_error', 'query')
    expect(badQuery.message).toMatch(/^Invalid query at position \d+/)
    expect(badQuery.details![0]!.message).toMatch(/\(position \d+\)/)
    expectError(await preview({ ...base, query: '' }), 400, 'validation_error', 'query')
    expectError(await preview({ project_id: counting.id, condition: countRule.condition }), 400, 'validation_error', 'query')
    expectError(await preview({ ...base, condition: { type: 'count', threshold: 0, window_minutes: 5 } }), 400, 'validation_error', 'condition.threshold')
    expectError(await preview({ ...base, condition: { type: 'count', threshold: 1, window_minutes: 1441 } }), 400, 'validation_error', 'condition.window_minutes')
    expectError(await preview({ ...base, condition: { type: 'rate', threshold_percent: 0, window_minutes: 5 } }), 400, 'validation_error', 'condition.threshold_percent')
    expectError(await preview({ ...base, condition: { type: 'gauge' } }), 400, 'validation_error', 'condition.type')
    expectError(await preview({ ...base, condition: { ...countRule.condition, extra: 1 } }), 400, 'validation_error', 'condition.extra')
    for (const hours of [0, 169, 1.5, '24', null]) {
      const error = expectError(await preview({ ...base, hours }), 400, 'validation_error', 'hours')
      expect(error.details!.find((d) => d.field === 'hours')!.message).toBe('must be an integer from 1 to 168')
    }
    for (const cooldown of [-1, 10_081, 'x']) expectError(await preview({ ...base, cooldown_minutes: cooldown }), 400, 'validation_error', 'cooldown_minutes')
    const unknown = expectError(await preview({ ...base, threshold: 3 }), 400, 'validation_error', 'threshold')
    expect(unknown.details).toEqual([{ field: 'threshold', message: 'is not a known field' }])
    expectError(await preview({ ...base, project_id: 'nope' }), 400, 'validation_error', 'project_id')
    const noQuery = await t.app.inject({ method: 'POST', url: '/api/v1/logs/alerts/preview?hours=2', headers: bearer(t.teamKey), payload: base })
    expectError(noQuery, 400, 'validation_error', 'hours')
  })
})

describe('POST /logs/alerts/preview: access', () => {
  it('takes a read-only key of the project; refuses other projects (403) and answers an unknown one 404', async () => {
    const reader = bearer(t.keyWith(['logs:read'], { projectIds: [counting.id] }))
    expect((await ok({ project_id: counting.id, ...countRule, cooldown_minutes: 20 }, reader)).firings).toBe(4)
    const elsewhere = expectError(await preview({ project_id: rating.id, ...countRule }, reader), 403, 'forbidden')
    expect(elsewhere.message).toBe('This API key is not allowed to access this project')
    // Limited elsewhere, the answer is the same whether or not the project exists.
    expectError(await preview({ project_id: '00000000-0000-4000-8000-000000000000', ...countRule }, reader), 403, 'forbidden')
    expectError(await preview({ project_id: '00000000-0000-4000-8000-000000000000', ...countRule }), 404, 'not_found')
    const writer = expectError(await preview({ project_id: counting.id, ...countRule }, bearer(t.keyWith(['logs:write']))), 403, 'forbidden')
    expect(writer.message).toContain('logs:read')
    expectError(await preview({ project_id: counting.id, ...countRule }, bearer(counting.ingest_token)), 401, 'unauthorized')
  })

  it('takes a browser session only with its CSRF token, like every POST', async () => {
    const signIn = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { api_key: t.keyWith(['logs:read']) } })
    expect(signIn.statusCode, signIn.body).toBe(201)
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!
    const csrf = signIn.json().data.csrf_token as string
    const body = { project_id: counting.id, ...countRule, cooldown_minutes: 20 }
    const refused = expectError(await preview(body, { cookie }), 403, 'forbidden')
    expect(refused.message).toMatch(/CSRF/)
    expectError(await preview(body, { cookie, 'x-csrf-token': 'wrong' }), 403, 'forbidden')
    expect((await ok(body, { cookie, 'x-csrf-token': csrf })).firings).toBe(4)
  })
})
