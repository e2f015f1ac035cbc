import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AppError } from '../../errors.js'
import { PACKAGE_ROOT } from '../../version.js'
import type { AppContext } from '../app.js'
import { errorResponses } from '../schemas/index.js'

/** Where `npm run build` puts the console (Vite, src/console); shipped in the npm tarball. */
export const CONSOLE_DIR = path.join(PACKAGE_ROOT, 'dist', 'console')

/**
 * The pages of the console's client-side router (src/console/src/Shell.tsx): each answers
 * index.html so a copied link or a reload lands on its view. Any other path stays a JSON 404.
 */
export const CONSOLE_PAGES = ['/', '/explore', '/projects', '/alerts', '/keys', '/audit'] as const

/** Only the script and style files of the build, from this origin; nothing inline, nothing else. */
const consolePolicy = (frameAncestors: string): string =>
  [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')

/** Every other response (the API's JSON included) may not be framed and runs nothing. */
export const DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'"

/** Headers every response carries; /embed relaxes framing to `viewer.frame_ancestors`. */
export const setSecurityHeaders = (reply: FastifyReply): void => {
  void reply
    .header('content-security-policy', DEFAULT_POLICY)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
}
/** Built asset names: Vite's `name-hash.ext`, no path separators, no dots but the extension's. */
const AssetParams = z.object({ file: z.string().regex(/^[A-Za-z0-9_-]{1,120}\.(js|css|svg|png|woff2)$/, 'not an asset of the console') }).strict()
/** The viewer page's own state (q, range, view, entry…) rides in its URL beside the token, as on the console's pages. */
const EmbedQuery = z.object({ token: z.string().max(4096).optional() }).catchall(z.union([z.string(), z.array(z.string())]))
const PageQuery = z.record(z.string(), z.union([z.string(), z.array(z.string())]))

const Html = z.string().meta({ description: 'The page (text/html)' })
const File = z.string().meta({ description: 'The file, as its extension says (text/javascript, text/css, …)' })

interface Asset {
  body: Buffer
  gzip: Buffer
}

/** `GET /` (and the console's pages), `/embed` and `/assets/*`: the built console, no token needed. */
export const consoleRoutes = async (fastify: FastifyInstance, deps: AppContext): Promise<void> => {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const open = { auth: { kind: 'none' } } as const
  // The build does not change while serve runs: each file is read (and gzipped) once.
  const cache = new Map<string, Promise<Asset>>()
  const load = (file: string): Promise<Asset> => {
    let asset = cache.get(file)
    if (!asset) {
      asset = readFile(path.join(CONSOLE_DIR, file)).then((body) => ({ body, gzip: gzipSync(body) }))
      asset.catch(() => cache.delete(file))
      cache.set(file, asset)
    }
    return asset
  }
  const send = async (request: FastifyRequest, reply: FastifyReply, file: string, cacheControl: string): Promise<FastifyReply> => {
    let asset: Asset
    try {
      asset = await load(file)
    } catch {
      throw new AppError('not_found', file.endsWith('.html') ? 'The web console is not built: run `npm run build` in the package' : 'No such console asset')
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')) && asset.gzip.length < asset.body.length
    void reply
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
      .header('cache-control', cacheControl)
      .header('vary', 'accept-encoding')
    if (gzip) void reply.header('content-encoding', 'gzip')
    return reply.send(gzip ? asset.gzip : asset.body)
  }

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('content-security-policy', consolePolicy("'none'"))
    return send(request, reply, 'index.html', 'no-cache')
  }
  for (const url of CONSOLE_PAGES) app.get(url, { config: open, schema: { querystring: PageQuery, response: { 200: Html, ...errorResponses } } }, page)

  app.get('/embed', { config: open, schema: { querystring: EmbedQuery, response: { 200: Html, ...errorResponses } } }, async (request, reply) => {
    // The viewer token is checked by the API calls the page makes; framing is what config allows.
    const ancestors = deps.config.viewer.frame_ancestors
    reply.removeHeader('x-frame-options')
    void reply.header('content-security-policy', consolePolicy(ancestors))
    return send(request, reply, 'embed.html', 'no-store')
  })

  app.get('/assets/:file', { config: open, schema: { params: AssetParams, response: { 200: File, ...errorResponses } } }, async (request, reply) =>
    send(request, reply, path.join('assets', request.params.file), 'public, max-age=31536000, immutable'),
  )
}
