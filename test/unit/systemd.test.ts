import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { UserError } from '../../src/errors.js'
import { renderSystemdUnit, writeSystemdUnit } from '../../src/ops/systemd.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'krafter-systemd-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const base = { binPath: '/opt/krafter-logs/bin/run.js', dataDir: '/var/lib/krafter-logs', user: 'krafter' }
const lines = (unit: string) => unit.split('\n')
const directive = (unit: string, name: string) => lines(unit).filter((l) => l.startsWith(`${name}=`)).map((l) => l.slice(name.length + 1))

describe('renderSystemdUnit', () => {
  it('runs serve on the data dir as the user, restarts on failure and stops on SIGTERM', () => {
    const unit = renderSystemdUnit({ ...base, nodePath: '/usr/bin/node' })
    expect(directive(unit, 'ExecStart')).toEqual(['/usr/bin/node /opt/krafter-logs/bin/run.js serve --data-dir /var/lib/krafter-logs'])
    expect(directive(unit, 'User')).toEqual(['krafter'])
    expect(directive(unit, 'Restart')).toEqual(['on-failure'])
    expect(directive(unit, 'KillSignal')).toEqual(['SIGTERM'])
    expect(directive(unit, 'TimeoutStopSec')).toEqual(['30'])
    expect(directive(unit, 'Environment')).toEqual(['NODE_ENV=production'])
    expect(directive(unit, 'LimitNOFILE')).toEqual(['65536'])
    expect(directive(unit, 'NoNewPrivileges')).toEqual(['true'])
    expect(directive(unit, 'ProtectSystem')).toEqual(['strict'])
    expect(directive(unit, 'ReadWritePaths')).toEqual(['/var/lib/krafter-logs'])
    expect(directive(unit, 'PrivateTmp')).toEqual(['true'])
    expect(unit).toContain('[Install]\nWantedBy=multi-user.target')
    expect(unit).not.toContain('{{')
  })

  it('is a pure function of its input', () => {
    expect(renderSystemdUnit(base)).toBe(renderSystemdUnit({ ...base }))
    expect(directive(renderSystemdUnit(base), 'ExecStart')).toEqual(['/opt/krafter-logs/bin/run.js serve --data-dir /var/lib/krafter-logs'])
  })

  it('quotes paths with spaces and escapes systemd specifiers and variables', () => {
    const unit = renderSystemdUnit({ ...base, binPath: '/opt/my tools/krafter-logs', dataDir: '/srv/logs 100%/$HOME' })
    expect(directive(unit, 'ExecStart')).toEqual(['"/opt/my tools/krafter-logs" serve --data-dir "/srv/logs 100%%/$$HOME"'])
    expect(directive(unit, 'ReadWritePaths')).toEqual(['"/srv/logs 100%%/$HOME"'])
  })

  it('keeps a data dir under /tmp visible (no private /tmp)', () => {
    expect(directive(renderSystemdUnit({ ...base, dataDir: '/tmp/k' }), 'PrivateTmp')).toEqual(['false'])
  })

  it('refuses what would break the unit or inject directives', () => {
    expect(() => renderSystemdUnit({ ...base, dataDir: 'relative/dir' })).toThrow(UserError)
    expect(() => renderSystemdUnit({ ...base, dataDir: '/x\nExecStartPre=/bin/evil' })).toThrow(/control characters/)
    expect(() => renderSystemdUnit({ ...base, binPath: '/a"b' })).toThrow(UserError)
    expect(() => renderSystemdUnit({ ...base, user: 'root\nUser=x' })).toThrow(/user name/)
    expect(() => renderSystemdUnit({ ...base, user: 'a b' })).toThrow(UserError)
  })

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', () => {
    const file = path.join(dir, 'krafter-logs.service')
    writeFileSync(file, renderSystemdUnit({ binPath: path.resolve('bin/run.js'), nodePath: process.execPath, dataDir: dir, user: 'root' }))
    expect(() => execFileSync('/usr/bin/systemd-analyze', ['verify', file], { stdio: 'pipe' })).not.toThrow()
  })
})

describe('writeSystemdUnit', () => {
  it('writes mode 0644 and never overwrites', () => {
    const file = path.join(dir, 'written.service')
    expect(writeSystemdUnit(file, 'unit one\n')).toBe(file)
    expect(statSync(file).mode & 0o777).toBe(0o644)
    expect(() => writeSystemdUnit(file, 'unit two\n')).toThrow(/already exists/)
    expect(readFileSync(file, 'utf8')).toBe('unit one\n')
  })

  it('names a missing directory', () => {
    expect(() => writeSystemdUnit(path.join(dir, 'nope', 'x.service'), 'u')).toThrow(/no such directory/)
  })
})
