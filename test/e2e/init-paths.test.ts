import { writeFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { execa } from 'execa'
import { afterAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/app.js'
import { BIN } from '../helpers/cli.js'

// init --data-dir /proc/x spun in a recursive mkdir for ever (issue 11 point 5): a path that
// cannot be a data dir is refused at once, exit 2, naming why.
const scratch = tempDir('init-paths')
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe('init refuses data dirs that cannot be one', () => {
  it.each([
    ['/proc/krafter-x', /as the data dir: must not be under \/proc/],
    ['/sys/krafter-x/y', /must not be under \/sys/],
  ])('%s', async (dir, message) => {
    const res = await execa('node', [BIN, 'init', '--data-dir', dir, '--json'], { reject: false, timeout: 30_000 })
    expect(res.timedOut).toBe(false)
    expect(res.exitCode).toBe(2)
    expect(JSON.parse(res.stdout).error.message).toMatch(message)
  })

  it('a path under a file', async () => {
    const file = path.join(scratch, 'a-file')
    writeFileSync(file, 'x')
    const res = await execa('node', [BIN, 'init', '--data-dir', path.join(file, 'home'), '--json'], { reject: false, timeout: 30_000 })
    expect(res.exitCode).toBe(2)
    expect(JSON.parse(res.stdout).error.message).toContain(`${file} is a file`)
  })
})
