import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const here = path.dirname(fileURLToPath(import.meta.url))

// The console is two pages built into dist/console: the app at / and the iframe viewer at /embed.
// serve sends them with a CSP that allows only its own scripts and styles, so nothing may be
// inlined: no modulepreload polyfill, no inlined assets, CSS in files.
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(here, '../../dist/console'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
    rollupOptions: { input: { index: path.join(here, 'index.html'), embed: path.join(here, 'embed.html') } },
  },
})
