import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import type { LogEntry } from '../../src/ingest/entry.js'
import {
  BUILTIN_RULES,
  compileRedaction,
  hashValue,
  luhn,
  redactEntry,
  secretFieldName,
  type CustomRuleInput,
} from '../../src/redaction/index.js'

const KEY = Buffer.from('0123456789abcdef0123456789abcdef')
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210')

const entry = (message: string, metadata?: Record<string, unknown>): LogEntry => ({
  timestamp: 1_700_000_000_000_000,
  level: 'info',
  service: 'api',
  stream: 'default',
  message,
  traceId: '',
  spanId: '',
  metadata,
})

const defaults = compileRedaction()
const all = compileRedaction({ overrides: { 'builtin:email': { enabled: true }, 'builtin:ip_address': { enabled: true } } })
const msg = (text: string, c = all) => redactEntry(c, entry(text), KEY)

const deepFreeze = <T>(v: T): T => {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x)
    Object.freeze(v)
  }
  return v
}

const custom = (rule: Partial<CustomRuleInput> & { name: string }): CustomRuleInput => ({
  behavior: 'mask',
  applies_to: 'all',
  enabled: true,
  ...rule,
})

describe('built-in rules', () => {
  it('has the defaults of the issue: secret-like rules on, e-mail and IP off', () => {
    const on = Object.fromEntries(defaults.rules.map((r) => [r.name, r.enabled]))
    expect(on).toEqual({
      secret_fields: true,
      private_key: true,
      authorization: true,
      jwt: true,
      aws_access_key: true,
      credit_card: true,
      email: false,
      ip_address: false,
    })
    for (const r of defaults.rules) expect(r).toMatchObject({ builtin: true, behavior: 'mask', id: `builtin:${r.name}` })
  })

  describe('credit_card', () => {
    it('masks Luhn-valid numbers, plain, spaced and dashed', () => {
      expect(msg('paid with 4111111111111111 ok').entry.message).toBe('paid with [REDACTED:credit_card] ok')
      expect(msg('card 4111 1111 1111 1111.').entry.message).toBe('card [REDACTED:credit_card].')
      expect(msg('amex 3782-822463-10005').entry.message).toBe('amex [REDACTED:credit_card]')
      expect(msg('mc 5555555555554444').matched).toEqual(['credit_card'])
    })
    it('keeps numbers that fail Luhn, are too short or too long, or look like epoch timestamps', () => {
      for (const text of [
        'order 4111111111111112 shipped', // 16 digits, Luhn fails
        'id 411111111111', // 12 digits
        'big 41111111111111111111111', // 23 digits
        'at 1733130000000000 µs', // epoch µs (starts with 1)
        'phone 555 1234',
      ]) {
        expect(msg(text)).toEqual({ entry: entry(text), matched: [] })
      }
      expect(luhn('4111111111111111')).toBe(true)
      expect(luhn('4111111111111112')).toBe(false)
    })
  })

  describe('jwt', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
    it('masks a JWT anywhere in a value', () => {
      expect(msg(`session=${jwt}; path=/`).entry.message).toBe('session=[REDACTED:jwt]; path=/')
    })
    it('leaves UUIDs, dotted versions and base64 without an eyJ header alone', () => {
      for (const text of ['req 550e8400-e29b-41d4-a716-446655440000 done', 'v1.2.3 of lib.eyJ.x', 'abc.def.ghi', 'weyJabc.def.ghi']) {
        expect(msg(text, defaults).matched).toEqual([])
      }
    })
  })

  describe('authorization', () => {
    it('masks bearer and basic credentials, keeping the scheme', () => {
      expect(msg('calling with Bearer abc123.def-456 now').entry.message).toBe('calling with Bearer [REDACTED:authorization] now')
      expect(msg('basic dXNlcjpwYXNz').entry.message).toBe('basic [REDACTED:authorization]')
    })
    it('masks Authorization header dumps up to the end of the value', () => {
      expect(msg('headers: Authorization: Token s3cr3t-t0ken\nAccept: */*').entry.message).toBe(
        'headers: Authorization: [REDACTED:authorization]\nAccept: */*',
      )
      expect(msg('{"authorization":"Bearer xyz","a":1}').entry.message).toBe('{"authorization":"[REDACTED:authorization]","a":1}')
    })
    it('leaves English alone', () => {
      for (const text of ['basic authentication failed', 'bearer token missing', 'authorization failed for user 7', 'basically fine'])
        expect(msg(text, defaults).matched).toEqual([])
    })
  })

  describe('aws_access_key', () => {
    it('masks access key ids and secret key assignments', () => {
      expect(msg('key AKIAIOSFODNN7EXAMPLE used').entry.message).toBe('key [REDACTED:aws_access_key] used')
      expect(msg('ASIAY34FZKBOKMUTVV7A').entry.message).toBe('[REDACTED:aws_access_key]')
      expect(msg('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').entry.message).toBe(
        'aws_secret_access_key = [REDACTED:aws_access_key]',
      )
    })
    it('leaves lookalikes alone', () => {
      for (const text of [
        'AKIAIOSFODNN7EXAMPL', // 19 characters
        'XAKIAIOSFODNN7EXAMPLE', // inside a longer word
        'sha1 wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', // 40 base64 characters, not assigned to a secret name
      ])
        expect(msg(text, defaults).matched).toEqual([])
    })
  })

  describe('private_key', () => {
    const block = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc==\n-----END RSA PRIVATE KEY-----'
    it('masks the whole block, and a truncated block to the end', () => {
      expect(msg(`loaded ${block} from disk`).entry.message).toBe('loaded [REDACTED:private_key] from disk')
      expect(msg('oops -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqh').entry.message).toBe('oops [REDACTED:private_key]')
    })
    it('leaves certificates and public keys alone', () => {
      const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE----- -----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----'
      expect(msg(cert, defaults).matched).toEqual([])
    })
  })

  describe('secret_fields', () => {
    it('replaces the whole value of secret-named fields at any depth, whatever its type', () => {
      const r = redactEntry(
        defaults,
        entry('login', {
          user: 'ann',
          auth: { Password: 'hunter2', session: { refreshToken: { v: 1 } } },
          headers: [{ 'Set-Cookie': 'a=b' }, { 'X-Api-Key': 42 }],
          API_KEY: ['x'],
        }),
        KEY,
      )
      expect(r.entry.metadata).toEqual({
        user: 'ann',
        auth: { Password: '[REDACTED:secret_fields]', session: { refreshToken: '[REDACTED:secret_fields]' } },
        headers: [{ 'Set-Cookie': '[REDACTED:secret_fields]' }, { 'X-Api-Key': '[REDACTED:secret_fields]' }],
        API_KEY: '[REDACTED:secret_fields]',
      })
      expect(r.matched).toEqual(['secret_fields'])
    })
    it('does not match names that only contain a secret word, nor the word in a message', () => {
      for (const name of ['token_count', 'max_tokens', 'cookie_consent', 'secretary', 'passwordless_enabled', 'key'])
        expect(secretFieldName(name)).toBe(false)
      for (const name of ['password', 'PASSWD', 'client_secret', 'accessToken', 'apikey', 'api-key', 'Authorization', 'cookie'])
        expect(secretFieldName(name)).toBe(true)
      expect(msg('token refresh scheduled; password policy updated', defaults).matched).toEqual([])
    })
  })

  describe('email (off by default)', () => {
    it('masks addresses when enabled, and does nothing by default', () => {
      expect(msg('mail to ann.lee+x@mail.example.co.uk sent').entry.message).toBe('mail to [REDACTED:email] sent')
      expect(msg('mail to ann@example.com', defaults).matched).toEqual([])
    })
    it('leaves non-addresses alone', () => {
      for (const text of ['user@localhost', 'a @ b.com', 'git@1.2.3.4', 'npm i @scope/pkg@1.2.3']) expect(msg(text).matched).not.toContain('email')
    })
  })

  describe('ip_address (off by default)', () => {
    it('masks IPv4 and IPv6 when enabled', () => {
      expect(msg('from 192.168.1.20:443 ok').entry.message).toBe('from [REDACTED:ip_address]:443 ok')
      expect(msg('peer 2001:db8::8a2e:370:7334 and ::1 and ::ffff:10.0.0.1').entry.message).toBe(
        'peer [REDACTED:ip_address] and [REDACTED:ip_address] and [REDACTED:ip_address]',
      )
      expect(msg('from 10.0.0.1', defaults).matched).toEqual([])
    })
    it('leaves times, MAC addresses, versions with more parts and C++ scopes alone', () => {
      for (const text of ['at 12:30:45', 'mac 00:1a:2b:3c:4d:5e', 'v1.2.3.4.5', '999.1.1.1', 'std::vector<int>', 'took 1.5s'])
        expect(msg(text).matched).toEqual([])
    })
  })

  it('every built-in scanner stays fast on adversarial 256 KiB values (no timed assertion: the test timeout guards)', () => {
    const big = 256 * 1024
    const inputs = [
      'eyJ-'.repeat(big / 4),
      'eyJa.'.repeat(big / 5),
      'authorization:'.repeat(big / 14),
      'bearer '.repeat(big / 7),
      '-----BEGIN PRIVATE KEY-----'.repeat(big / 27),
      '-----BEGIN '.repeat(big / 11),
      'a@'.repeat(big / 2),
      'a.'.repeat(big / 2) + '@',
      '1.'.repeat(big / 2),
      ':'.repeat(big),
      '1:'.repeat(big / 2),
      '4 '.repeat(big / 2),
      '4'.repeat(big),
    ]
    for (const text of inputs) {
      const r = msg(text)
      expect(typeof r.entry.message).toBe('string')
    }
  })
})

describe('behaviors', () => {
  const hashing = compileRedaction({ overrides: { 'builtin:credit_card': { behavior: 'hash' }, 'builtin:secret_fields': { behavior: 'hash' } } })

  it('hash writes [hash:<12 hex>] of HMAC-SHA256(key, value): equal values stay equal, the key changes it', () => {
    const expected = createHmac('sha256', KEY).update('4111111111111111').digest('hex').slice(0, 12)
    const a = redactEntry(hashing, entry('a 4111111111111111'), KEY).entry.message
    const b = redactEntry(hashing, entry('b 4111111111111111 again'), KEY).entry.message
    expect(a).toBe(`a [hash:${expected}]`)
    expect(b).toBe(`b [hash:${expected}] again`)
    expect(hashValue(KEY, '4111111111111111')).toBe(expected)
    const other = redactEntry(hashing, entry('a 4111111111111111'), OTHER_KEY).entry.message
    expect(other).toMatch(/^a \[hash:[0-9a-f]{12}\]$/)
    expect(other).not.toBe(a)
    const other2 = redactEntry(hashing, entry('a 5555555555554444'), KEY).entry.message
    expect(other2).not.toBe(a)
  })

  it('hash of a field-name match hashes the value (JSON for non-strings)', () => {
    const r = redactEntry(hashing, entry('x', { token: 'abc', secret: { n: 1 } }), KEY)
    expect(r.entry.metadata).toEqual({ token: `[hash:${hashValue(KEY, 'abc')}]`, secret: `[hash:${hashValue(KEY, '{"n":1}')}]` })
  })

  it('remove drops the metadata field (by name or by pattern), masks in a message and in arrays', () => {
    const c = compileRedaction({
      overrides: { 'builtin:secret_fields': { behavior: 'remove' }, 'builtin:jwt': { behavior: 'remove' } },
    })
    const jwt = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.'
    const r = redactEntry(c, entry(`tok ${jwt}`, { password: 'p', keep: 1, session: `s ${jwt}`, list: [jwt] }), KEY)
    expect(r.entry.message).toBe('tok [REDACTED:jwt]')
    expect(r.entry.metadata).toEqual({ keep: 1, list: ['[REDACTED:jwt]'] })
    expect(r.matched).toEqual(['secret_fields', 'jwt'])
  })

  it('disabled rules do nothing', () => {
    const off = compileRedaction({
      overrides: Object.fromEntries(BUILTIN_RULES.map((b) => [b.rule.id, { enabled: false }])),
    })
    const e = entry('Bearer abcdef123456 4111111111111111', { password: 'x' })
    expect(redactEntry(off, e, KEY)).toEqual({ entry: e, matched: [] })
    expect(off.rules.every((r) => !r.enabled)).toBe(true)
  })

  it('applies_to limits a rule to the message or the metadata', () => {
    const onlyMessage = compileRedaction({ custom: [custom({ name: 'ord', pattern: 'ORD-[0-9]+', applies_to: 'message' })] })
    const onlyMetadata = compileRedaction({ custom: [custom({ name: 'ord', pattern: 'ORD-[0-9]+', applies_to: 'metadata' })] })
    const e = entry('order ORD-123', { ref: 'ORD-123' })
    expect(redactEntry(onlyMessage, e, KEY).entry).toMatchObject({ message: 'order [REDACTED:ord]', metadata: { ref: 'ORD-123' } })
    expect(redactEntry(onlyMetadata, e, KEY).entry).toMatchObject({ message: 'order ORD-123', metadata: { ref: '[REDACTED:ord]' } })
  })

  it('never modifies the input entry or its nested objects; unchanged parts are shared', () => {
    const shared = deepFreeze({ host: 'h1', creds: { password: 'x' } })
    const e = deepFreeze(entry('Bearer abcdef123456 here', { resource: shared, n: [1, { token: 't' }] }))
    const r = redactEntry(defaults, e, KEY)
    expect(r.entry).not.toBe(e)
    expect(e.message).toBe('Bearer abcdef123456 here')
    expect(shared.creds.password).toBe('x')
    expect(r.entry.metadata).toEqual({ resource: { host: 'h1', creds: { password: '[REDACTED:secret_fields]' } }, n: [1, { token: '[REDACTED:secret_fields]' }] })
    const untouched = deepFreeze({ a: { b: 1 } })
    expect((redactEntry(defaults, entry('m', { u: untouched }), KEY).entry.metadata as { u: unknown }).u).toBe(untouched)
  })

  it('keeps a __proto__ key as data', () => {
    const metadata = JSON.parse('{"__proto__": {"token": "t"}, "a": "Bearer abcdef123456"}') as Record<string, unknown>
    const out = redactEntry(defaults, entry('m', metadata), KEY).entry.metadata!
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(JSON.stringify(out)).toBe('{"__proto__":{"token":"[REDACTED:secret_fields]"},"a":"Bearer [REDACTED:authorization]"}')
  })
})

describe('custom rules', () => {
  it('a pattern and field names, with behaviors, after the built-ins', () => {
    const c = compileRedaction({
      custom: [
        custom({ name: 'user_id', pattern: 'usr_[a-z0-9]{8}', behavior: 'hash' }),
        custom({ name: 'ssn_field', field_names: ['SSN', 'tax_id'], behavior: 'remove', applies_to: 'metadata' }),
        custom({ name: 'off', pattern: 'hello', enabled: false }),
      ],
    })
    const r = redactEntry(c, entry('hello usr_abcd1234 logged in', { ssn: '123', Tax_ID: 9, other: 'usr_abcd1234' }), KEY)
    const h = `[hash:${hashValue(KEY, 'usr_abcd1234')}]`
    expect(r.entry.message).toBe(`hello ${h} logged in`)
    expect(r.entry.metadata).toEqual({ other: h })
    expect(r.matched).toEqual(['user_id', 'ssn_field'])
    expect(c.rules.slice(-3).map((x) => [x.name, x.builtin, x.enabled])).toEqual([
      ['user_id', false, true],
      ['ssn_field', false, true],
      ['off', false, false],
    ])
  })

  it('a catastrophic-backtracking pattern cannot stall: (a+)+$ on a long value finishes with the right result', () => {
    const c = compileRedaction({ custom: [custom({ name: 'evil', pattern: '(a+)+$' })] })
    const long = 'a'.repeat(50_000) + 'b'
    // V8 would take exponential time here; RE2 answers in linear time.
    expect(redactEntry(c, entry(long, { v: long }), KEY)).toEqual({ entry: entry(long, { v: long }), matched: [] })
    const ending = 'b' + 'a'.repeat(50_000)
    expect(redactEntry(c, entry(ending), KEY).entry.message).toBe('b[REDACTED:evil]')
  })

  it('refuses patterns the linear engine cannot run, naming the field and the pattern', () => {
    for (const pattern of ['(a)\\1', '(?=secret)', '(?<!x)y', '[unclosed', 'a{1001}', 'x'.repeat(1001)]) {
      let err: unknown
      try {
        compileRedaction({ custom: [custom({ name: 'bad', pattern })] })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).code).toBe('validation_error')
      expect((err as AppError).details).toEqual([{ field: 'pattern', message: expect.any(String) }])
      if (pattern.length <= 1000) expect((err as AppError).message).toContain(JSON.stringify(pattern))
    }
  })

  it('refuses a rule with neither pattern nor field names, and bad behaviors', () => {
    expect(() => compileRedaction({ custom: [custom({ name: 'empty' })] })).toThrow(/pattern/)
    expect(() => compileRedaction({ custom: [custom({ name: 'b', pattern: 'x', behavior: 'drop' as never })] })).toThrow(/behavior/)
  })

  it('empty matches are not replaced', () => {
    const c = compileRedaction({ custom: [custom({ name: 'xs', pattern: 'x*' })] })
    expect(redactEntry(c, entry('axxb'), KEY).entry.message).toBe('a[REDACTED:xs]b')
  })
})
