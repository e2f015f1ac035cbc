import { defineConfig } from 'vitest/config'

// chDB runs one engine per process and locks its data path: every test file gets its own
// forked process (isolate) and its own temp data dir.
export default defineConfig({
  test: {
    pool: 'forks',
    isolate: true,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    // A poll ends as soon as its condition holds; the limit only decides how long a loaded
    // machine (2 shared cores, a browser, serve, the engine) may take before that is a failure.
    expect: { poll: { timeout: 20_000, interval: 50 } },
  },
})
