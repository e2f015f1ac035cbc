// Builds the web console (src/console) into dist/console with Vite and prints what a first
// load costs: the gzipped JS + CSS that index.html (and embed.html) pull in. Fails the build
// when the console's first load is over its budget (issue 16: ≤ 200 KB gzipped).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'vite'

const BUDGET_BYTES = 200 * 1024
const root = path.resolve('src/console')
const out = path.resolve('dist/console')

await build({ configFile: path.join(root, 'vite.config.ts') })

/** Every JS and CSS file a page loads at start: its tags, and the static imports of its scripts. */
const firstLoad = (page: string): { file: string; raw: number; gzip: number }[] => {
  const html = readFileSync(path.join(out, page), 'utf8')
  const seen = new Set<string>()
  const queue = [...html.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]!)
  while (queue.length) {
    const file = queue.shift()!
    if (seen.has(file)) continue
    seen.add(file)
    if (file.endsWith('.js')) {
      const code = readFileSync(path.join(out, file), 'utf8')
      for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(path.posix.join(path.posix.dirname(file), m[1]!))
    }
  }
  return [...seen].map((file) => {
    const body = readFileSync(path.join(out, file))
    return { file, raw: body.length, gzip: gzipSync(body, { level: 9 }).length }
  })
}

let failed = false
for (const page of ['index.html', 'embed.html']) {
  const files = firstLoad(page)
  const gzip = files.reduce((s, f) => s + f.gzip, 0)
  const raw = files.reduce((s, f) => s + f.raw, 0)
  console.log(`console ${page}: first load ${(gzip / 1024).toFixed(1)} KB gzipped JS + CSS (${(raw / 1024).toFixed(1)} KB raw, ${files.length} files; budget ${BUDGET_BYTES / 1024} KB)`)
  for (const f of files) console.log(`  ${f.file}  ${(f.gzip / 1024).toFixed(1)} KB gz`)
  if (gzip > BUDGET_BYTES) failed = true
}
if (failed) {
  console.error('console first load is over its budget')
  process.exit(1)
}
