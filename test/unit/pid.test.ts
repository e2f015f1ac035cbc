import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acquireEngineLock } from '../../src/engine/lock.js'
import { UserError } from '../../src/errors.js'
import { processStartTime, recordedProcessAlive, thisProcess } from '../../src/pid.js'
import { tempDir } from '../helpers/app.js'

const dir = tempDir('pid')
const children: ChildProcess[] = []

/** A live process that has nothing to do with krafter-logs. */
const unrelated = async (command = 'sleep', args = ['60']): Promise<number> => {
  const child = spawn(command, args, { stdio: 'ignore' })
  children.push(child)
  await once(child, 'spawn')
  return child.pid!
}

let sleeper = 0
beforeAll(async () => {
  sleeper = await unrelated()
})
afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

describe.runIf(process.platform === 'linux')('process identity (Linux)', () => {
  it('reads the start time even when the command name holds spaces and parentheses', async () => {
    const odd = path.join(dir, 'a) b (c')
    copyFileSync('/bin/sleep', odd)
    const before = Number(processStartTime(sleeper))
    const pid = await unrelated(odd, ['60'])
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain('(a) b (c)')
    const started = processStartTime(pid)
    expect(started).toMatch(/^\d+$/)
    expect(Number(started)).toBeGreaterThanOrEqual(before)
    expect(Number(processStartTime(await unrelated()))).toBeGreaterThanOrEqual(Number(started))
  })

  it('tells the recorded process from an unrelated one that has its pid', async () => {
    const start = processStartTime(sleeper)!
    expect(recordedProcessAlive({ pid: sleeper, start_time: start })).toBe(true)
    // A file left by a process that had this pid before: another start time.
    expect(recordedProcessAlive({ pid: sleeper, start_time: String(Number(start) - 1) })).toBe(false)
    // A file of an older version has no start time: it counts only for a krafter-logs command line.
    expect(recordedProcessAlive({ pid: sleeper })).toBe(false)
    const lookalike = await unrelated(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', 'krafter-logs', 'serve'])
    expect(recordedProcessAlive({ pid: lookalike })).toBe(true)
    expect(thisProcess()).toEqual({ pid: process.pid, start_time: processStartTime(process.pid) })
  })

  it('finds a recorded process gone once it has exited', async () => {
    const pid = await unrelated()
    const record = { pid, start_time: processStartTime(pid) }
    const child = children.find((c) => c.pid === pid)!
    child.kill('SIGKILL')
    await once(child, 'exit')
    expect(recordedProcessAlive(record)).toBe(false)
  })
})

describe.runIf(process.platform === 'linux')('engine.lock', () => {
  const lock = path.join(dir, 'engine.lock')

  it.each([
    ['an unrelated live pid in the older format (the bare pid)', () => String(sleeper)],
    ['an unrelated live pid with another start time (a reused pid)', () => JSON.stringify({ pid: sleeper, start_time: '1' })],
  ])('is taken over from %s', (_what, content) => {
    writeFileSync(lock, content())
    const release = acquireEngineLock(lock)
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toEqual(thisProcess())
    release()
    expect(() => readFileSync(lock)).toThrow(/ENOENT/)
  })

  it('is refused while its recorded holder runs', () => {
    writeFileSync(lock, JSON.stringify({ pid: sleeper, start_time: processStartTime(sleeper) }))
    expect(() => acquireEngineLock(lock)).toThrow(UserError)
    expect(() => acquireEngineLock(lock)).toThrow(`in use by another process (pid ${sleeper}`)
    rmSync(lock)
  })
})
