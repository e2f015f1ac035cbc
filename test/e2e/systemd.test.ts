import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, cliFor } from '../helpers/cli.js'

// The built CLI writes and prints systemd units for a throwaway data dir.
const root = mkdtempSync(path.join(os.tmpdir(), 'krafter-systemd-e2e-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const dataDir = path.join(root, 'data')
const env = { KRAFTER_LOG_LEVEL: 'info' }
const cli = cliFor(env, { cwd: root })
const execStart = (unit: string) => unit.split('\n').find((l) => l.startsWith('ExecStart='))

describe('systemd units', () => {
  it('init --systemd-write refuses an existing file before creating anything', async () => {
    const taken = path.join(root, 'taken.service')
    writeFileSync(taken, 'mine\n')
    const res = await cli('init', '--data-dir', dataDir, '--systemd-write', taken, '--json')
    expect(res.exitCode).toBe(1)
    expect(JSON.parse(res.stdout).error.message).toContain('already exists')
    expect(existsSync(dataDir)).toBe(false)
    expect(readFileSync(taken, 'utf8')).toBe('mine\n')
  })

  it('init --systemd-write writes the unit (0644) for the new data dir next to the team key', async () => {
    const unitPath = path.join(root, 'krafter-logs.service')
    const res = await cli('init', '--data-dir', dataDir, '--port', '0', '--systemd-write', unitPath, '--json')
    expect(res.exitCode, res.stderr).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out.team_api_key).toMatch(/^kr_live_/)
    expect(out.systemd.path).toBe(unitPath)
    expect(statSync(unitPath).mode & 0o777).toBe(0o644)
    const unit = readFileSync(unitPath, 'utf8')
    expect(out.systemd.unit).toBe(unit)
    expect(execStart(unit)).toBe(`ExecStart=${process.execPath} ${BIN} serve --data-dir ${dataDir}`)
    expect(unit).toContain(`User=${os.userInfo().username}\n`)
    expect(unit).toContain(`ReadWritePaths=${dataDir}\n`)
  })

  it('systemd prints the unit of an existing data dir, with the data dir made absolute', async () => {
    const res = await cli('systemd', '--data-dir', 'data', '--user', 'krafter')
    expect(res.exitCode, res.stderr).toBe(0)
    expect(execStart(res.stdout)).toBe(`ExecStart=${process.execPath} ${BIN} serve --data-dir ${dataDir}`)
    expect(res.stdout).toContain('User=krafter\n')

    const asJson = await cli('systemd', '--data-dir', dataDir, '--bin', '/usr/local/bin/krafter-logs', '--json')
    expect(asJson.exitCode, asJson.stderr).toBe(0)
    const out = JSON.parse(asJson.stdout)
    expect(Object.keys(out)).toEqual(['unit'])
    expect(execStart(out.unit)).toBe(`ExecStart=/usr/local/bin/krafter-logs serve --data-dir ${dataDir}`)
  })

  it('systemd --write never overwrites, and refuses an uninitialised data dir', async () => {
    const res = await cli('systemd', '--data-dir', dataDir, '--write', path.join(root, 'krafter-logs.service'), '--json')
    expect(res.exitCode).toBe(1)
    expect(JSON.parse(res.stdout).error.message).toContain('already exists; it was not overwritten')

    const fresh = await cli('systemd', '--data-dir', path.join(root, 'nothing-here'), '--json')
    expect(fresh.exitCode).toBe(1)
    expect(JSON.parse(fresh.stdout).error.message).toContain('not initialised')
  })
})
