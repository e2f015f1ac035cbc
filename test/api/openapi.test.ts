import { readFileSync } from 'node:fs'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

const root = path.join(import.meta.dirname, '..', '..')
const apiDoc = readFileSync(path.join(root, 'docs', 'api.md'), 'utf8')
const METHOD_PATH = /`(GET|POST|PUT|PATCH|DELETE) (\/[^\s`?]*)/g

let t: TestApp
let spec: { openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> }
beforeAll(async () => {
  t = await createTestApp()
  const res = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
  expect(res.statusCode).toBe(200)
  spec = res.json()
})
afterAll(async () => t?.close())

/** docs/api.md names API paths without the /api/v1 base; /healthz and /metrics live at the root too. */
const specPath = (docPath: string): string | undefined => {
  const templated = docPath.replace(/:(\w+)/g, '{$1}')
  return [`/api/v1${templated}`, templated].find((p) => spec.paths[p])
}
const routeUrl = (openApiPath: string): string => openApiPath.replace(/\{(\w+)\}/g, ':$1')

describe('the OpenAPI document', () => {
  it('is served without a token, as OpenAPI 3.1, with a request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-request-id']).toMatch(/^req_/)
    expect(spec.openapi).toBe('3.1.0')
    expect(spec.paths['/api/v1/logs/projects/{id}']?.get?.responses['200']).toBeDefined()
  })

  it('resolves every $ref to a component and carries no converter leftovers', () => {
    const text = JSON.stringify(spec)
    const components = (spec as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThan(20)
    expect(refs.filter((name) => !components[name])).toEqual([])
    expect(text).not.toMatch(/"\$id"|PLACEHOLDER/)
    const operationIds = Object.values(spec.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId))
    expect(new Set(operationIds).size).toBe(operationIds.length)
  })

  it('is what docs/openapi.json ships (regenerate with npm run openapi)', () => {
    const shipped = JSON.parse(readFileSync(path.join(root, 'docs', 'openapi.json'), 'utf8'))
    expect(spec).toEqual(shipped)
  })

  // A success is 2xx, or the 303 of a redirect (GET /login).
  it('has a response schema for every route and a success status', () => {
    const missing = t.app.routeTable
      .filter((r) => !Object.keys(spec.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]?.responses ?? {}).some((s) => /^[23]/.test(s)))
      .map((r) => `${r.method} ${r.url}`)
    expect(missing).toEqual([])
  })

  it('lists every endpoint that docs/api.md names in its headings and tables', () => {
    const named = new Set<string>()
    for (const line of apiDoc.split('\n').filter((l) => l.startsWith('#') || l.startsWith('|'))) {
      for (const [, method, docPath] of line.matchAll(METHOD_PATH)) named.add(`${method} ${docPath}`)
    }
    expect(named.size).toBeGreaterThan(20)
    const absent = [...named].filter((key) => {
      const [method, docPath] = key.split(' ') as [string, string]
      const p = specPath(docPath)
      return !p || !spec.paths[p]![method.toLowerCase()]
    })
    expect(absent).toEqual([])
  })
})

/**
 * The docs/api.md section each JSON example belongs to, as the endpoint it shows. A new
 * section with an example must be added here, so no example goes unchecked.
 */
const EXAMPLE_ENDPOINTS: Record<string, string> = {
  'Success envelope': 'GET /logs/projects',
  'Error envelope': 'POST /logs/projects',
  Health: 'GET /healthz',
  'List projects': 'GET /logs/projects',
  'Create a project': 'POST /logs/projects',
  'Get a project': 'GET /logs/projects/:id',
  'Update a project': 'PUT /logs/projects/:id',
  'Rotate the ingest token': 'POST /logs/projects/:id/rotate_token',
  'List ingest tokens': 'GET /logs/projects/:id/tokens',
  'Create an ingest token': 'POST /logs/projects/:id/tokens',
  'List streams': 'GET /logs/projects/:id/streams',
  Usage: 'GET /logs/projects/:id/usage',
  'Validation, 408, 413 and 415 examples': 'POST /logs/projects',
  'Send one entry': 'POST /logs/ingest',
  'Send a batch': 'POST /logs/ingest/batch',
  'Daily limit': 'POST /logs/ingest/batch',
  Search: 'GET /logs/search',
  'The q language': 'GET /logs/search',
  'Volume stats': 'GET /logs/stats',
  'Query limits': 'GET /logs/search',
  Context: 'GET /logs/context',
  Facets: 'GET /logs/facets',
  Patterns: 'GET /logs/patterns',
  'Preview a rule': 'POST /logs/alerts/preview',
  'Send events to a stream': 'POST /streams/:token/events',
  'Stream info': 'GET /streams/:token/info',
  'Claim a stream': 'POST /streams/claim',
}

interface Example {
  heading: string
  line: number
  text: string
}
const jsonExamples = (): Example[] => {
  const examples: Example[] = []
  let heading = ''
  let block: Example | undefined
  apiDoc.split('\n').forEach((line, i) => {
    if (block) {
      if (line.trim() === '```') (examples.push(block), (block = undefined))
      else block.text += `${line}\n`
    } else if (/^#{2,3} /.test(line)) heading = line.replace(/^#+ /, '')
    else if (line.trim() === '```json') block = { heading, line: i + 1, text: '' }
  })
  return examples
}

describe('the JSON examples of docs/api.md', () => {
  it('each validate against the schema of the endpoint they document, without a field the schema lacks', () => {
    let checked = 0
    const failures: string[] = []
    for (const example of jsonExamples()) {
      let value: unknown
      try {
        value = JSON.parse(example.text)
      } catch {
        continue // an outline with "…" in place of values (the envelope sketches), not an answer
      }
      const endpoint = EXAMPLE_ENDPOINTS[example.heading]
      if (!endpoint) {
        failures.push(`line ${example.line}: section "${example.heading}" has no endpoint in EXAMPLE_ENDPOINTS`)
        continue
      }
      const [method, docPath] = endpoint.split(' ') as [string, string]
      const url = routeUrl(specPath(docPath)!)
      const responses = Object.keys(spec.paths[specPath(docPath)!]![method.toLowerCase()]!.responses)
      const status = (value as { error?: unknown }).error ? 400 : Number(responses.find((s) => s.startsWith('2')))
      const schema = t.app.contract.responseSchema(method, url, status)
      expect(schema, `${endpoint} ${status}`).toBeDefined()
      const parsed = schema!.safeParse(value)
      if (!parsed.success) failures.push(`line ${example.line} (${endpoint}): ${parsed.error.message}`)
      // The schema strips what it does not name: equality means the example has no extra field.
      else if (!isDeepStrictEqual(parsed.data, value)) failures.push(`line ${example.line} (${endpoint}): has fields the schema does not name`)
      checked++
    }
    expect(failures).toEqual([])
    expect(checked).toBeGreaterThanOrEqual(18)
  })
})

/** A curl command of docs/api.md: its method, the API path it calls and its JSON body. */
interface CurlExample {
  heading: string
  line: number
  method: string
  path: string
  body: string
}
const curlExamples = (): CurlExample[] => {
  const found: CurlExample[] = []
  let heading = ''
  const lines = apiDoc.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (/^#{2,3} /.test(lines[i]!)) heading = lines[i]!.replace(/^#+ /, '')
    if (!/^curl /.test(lines[i]!)) continue
    let command = lines[i]!
    const start = i + 1
    // Continuation lines, and the lines of a body that spans several.
    while ((/\\$/.test(command) || (command.match(/'/g) ?? []).length % 2 === 1) && i + 1 < lines.length) command = `${command.replace(/\\$/, '')}\n${lines[++i]}`
    const url = command.match(/(?:\$KRAFTER_URL|https?:\/\/[^/\s"]+\/api\/v1)(\/[^\s"?\\]*)/)
    // '"$VAR"' splices a shell variable into the single-quoted body: an id in these examples.
    const body = command.replace(/'"\$\w+"'/g, '3f6c1b2a-8d4e-4c71-9a35-0b2e7d9f1c44').match(/-d '([\s\S]*?)'/)
    if (!url || !body || !/^\s*[[{]/.test(body[1]!)) continue
    const method = command.match(/-X (\w+)/)?.[1] ?? 'POST'
    found.push({ heading, line: start, method, path: url[1]!, body: body[1]! })
  }
  return found
}

describe('the example requests of docs/api.md', () => {
  it('each pass the body schema of the route they call (the validation section shows refused ones)', () => {
    const results = curlExamples().map((example) => {
      const route = t.app.routeTable.find(
        (r) => r.method === example.method && new RegExp(`^${r.url.replace(/:\w+/g, '[^/]+')}$`).test(`/api/v1${example.path}`),
      )
      const schema = route && t.app.contract.bodySchema(route.method, route.url)
      const valid = schema ? schema.safeParse(JSON.parse(example.body)).success : undefined
      return { at: `line ${example.line}: ${example.method} ${example.path}`, route: route?.url, schema: Boolean(schema), valid, refused: example.heading.startsWith('Validation') }
    })
    expect(results.filter((r) => !r.route)).toEqual([])
    // Ingest bodies are bytes (NDJSON, gzip): the ingest tests hold them to the entry rules.
    const checked = results.filter((r) => r.schema)
    expect(checked.filter((r) => r.valid !== !r.refused)).toEqual([])
    expect(checked.length).toBeGreaterThanOrEqual(7)
  })
})
