import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_DIR, CONSOLE_PAGES } from '../../src/api/routes/console.js'
import { parseConfig } from '../../src/config/config.js'
import { UserError } from '../../src/errors.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

// The console as serve hands it out (npm test builds dist/console first): pages, the embed
// viewer and the hashed assets, with the headers that keep the page to its own scripts.
// chDB is one engine per process: each describe block opens its app and closes it before the next.
let t: TestApp

const directives = (policy: string | undefined): Record<string, string> =>
  Object.fromEntries(String(policy).split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values.join(' ')]))

const assetsOf = (html: string): string[] => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)

describe('the web console at /', () => {
  beforeAll(async () => {
    t = await createTestApp()
  })
  afterAll(async () => {
    await t?.close()
  })

  it('answers every console page with the built index.html under a strict CSP that forbids framing', async () => {
    const built = readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8')
    for (const page of [...CONSOLE_PAGES, '/projects?id=x&q=a%20b']) {
      const res = await t.app.inject({ url: page })
      expect(res.statusCode, page).toBe(200)
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(res.body).toBe(built)
      expect(res.headers['cache-control']).toBe('no-cache')
      expect(res.headers['x-frame-options']).toBe('DENY')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['referrer-policy']).toBe('no-referrer')
      expect(directives(res.headers['content-security-policy'] as string)).toEqual({
        'default-src': "'none'",
        'script-src': "'self'",
        'style-src': "'self'",
        'img-src': "'self' data:",
        'connect-src': "'self'",
        'font-src': "'self'",
        'base-uri': "'none'",
        'form-action': "'self'",
        'frame-ancestors': "'none'",
      })
    }
  })

  it('has no inline script or style in its HTML: every script and stylesheet is a file of the build', async () => {
    for (const url of ['/', '/embed']) {
      const html = (await t.app.inject({ url })).body
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(html).not.toMatch(/<style\b/)
      expect(html).not.toMatch(/\sstyle=/)
      expect(html).not.toMatch(/https?:\/\//)
      const assets = assetsOf(html)
      expect(assets.some((a) => a.endsWith('.js'))).toBe(true)
      expect(assets.some((a) => a.endsWith('.css'))).toBe(true)
    }
  })

  it('serves the hashed assets immutable, gzipped when asked, and nothing outside the build', async () => {
    const script = assetsOf((await t.app.inject({ url: '/' })).body).find((a) => a.endsWith('.js'))!
    const plain = await t.app.inject({ url: script })
    expect(plain.statusCode).toBe(200)
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.rawPayload.equals(readFileSync(path.join(CONSOLE_DIR, script)))).toBe(true)
    const gz = await t.app.inject({ url: script, headers: { 'accept-encoding': 'br, gzip' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.headers.vary).toBe('accept-encoding')
    expect(gunzipSync(gz.rawPayload).equals(plain.rawPayload)).toBe(true)
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length)

    const missing = await t.app.inject({ url: '/assets/nope-12345678.js' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error).toMatchObject({ code: 'not_found', message: 'No such console asset' })
    for (const url of ['/assets/..%2F..%2Fpackage.json', '/assets/index.html', '/assets/.env', '/assets/a.js.map']) {
      const res = await t.app.inject({ url })
      expect(res.statusCode, url).toBe(400)
      expect(res.json().error.details, url).toEqual([expect.objectContaining({ field: 'file' })])
    }
    expect((await t.app.inject({ url: '/assets/../package.json' })).statusCode).toBe(404)
    // Over the router's parameter length: refused before the route, naming the path.
    expect((await t.app.inject({ url: `/assets/${'a'.repeat(200)}.js` })).json().error.details).toEqual([expect.objectContaining({ field: 'path' })])
  })

  it('lets only /embed be framed, by the ancestors viewer.frame_ancestors names (default self)', async () => {
    const embed = await t.app.inject({ url: '/embed?token=abc' })
    expect(embed.statusCode).toBe(200)
    expect(embed.headers['x-frame-options']).toBeUndefined()
    expect(embed.headers['cache-control']).toBe('no-store')
    expect(directives(embed.headers['content-security-policy'] as string)).toMatchObject({ 'script-src': "'self'", 'frame-ancestors': "'self'" })
    expect(embed.body).toBe(readFileSync(path.join(CONSOLE_DIR, 'embed.html'), 'utf8'))
    // The viewer keeps its own state in the URL beside the token, so a reload works.
    expect((await t.app.inject({ url: '/embed?token=abc&q=level%3Aerror&view=tail&range=6h&entry=x' })).statusCode).toBe(200)

    expect((await t.app.inject({ url: `/embed?token=${'a'.repeat(5000)}` })).json().error.details).toEqual([expect.objectContaining({ field: 'token' })])
  })

  it('sends the API with a policy that runs nothing and may not be framed', async () => {
    for (const url of ['/api/v1/healthz', '/api/v1/logs/projects', '/nowhere']) {
      const res = await t.app.inject({ url })
      expect(res.headers['content-security-policy'], url).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(res.headers['x-frame-options'], url).toBe('DENY')
      expect(res.headers['x-content-type-options'], url).toBe('nosniff')
    }
  })
})

describe('viewer.frame_ancestors', () => {
  let framed: TestApp
  beforeAll(async () => {
    framed = await createTestApp({ config: { viewer: { frame_ancestors: "'self' https://grafana.example.com *.example.org:8443" } } })
  })
  afterAll(async () => {
    await framed?.close()
  })

  it('is what /embed allows; every other page still refuses framing', async () => {
    const configured = await framed.app.inject({ url: '/embed' })
    expect(directives(configured.headers['content-security-policy'] as string)['frame-ancestors']).toBe("'self' https://grafana.example.com *.example.org:8443")
    const page = await framed.app.inject({ url: '/' })
    expect(page.headers['x-frame-options']).toBe('DENY')
    expect(directives(page.headers['content-security-policy'] as string)['frame-ancestors']).toBe("'none'")
  })

  it("defaults to 'self' and takes CSP sources only: no other directive can be smuggled in", () => {
    expect(parseConfig({}, 'test', {}).viewer.frame_ancestors).toBe("'self'")
    expect(parseConfig({}, 'test', { KRAFTER_VIEWER_FRAME_ANCESTORS: "'self' https://a.example.com:8443 *.b.example" }).viewer.frame_ancestors).toBe("'self' https://a.example.com:8443 *.b.example")
    for (const bad of ["'self'; script-src *", "'self'\nx-evil: 1", 'https://a.example.com,https://b', "'unsafe-inline'", "'none' 'self'", ''])
      expect(() => parseConfig({ viewer: { frame_ancestors: bad } }, 'test', {}), JSON.stringify(bad)).toThrow(UserError)
  })
})
