import { isIPv6 } from 'node:net'
import type { RedactionRule } from './types.js'

/**
 * The built-in rules. Their value scanners run on V8 RegExp (about ten times faster than the
 * linear engine of custom rules, bench/regex-engines.ts), which is safe only because each
 * pattern below is linear by construction:
 * - every quantifier is either bounded ({m,n}) or over a character class that the next token
 *   cannot match (so a greedy run has one way to end: no ambiguous split, no nested
 *   quantifier, no alternation whose branches overlap);
 * - an unbounded run starts only where a negative lookbehind on the same class holds, so it is
 *   the start of a maximal run and no two attempts scan the same run;
 * hence each character is visited a bounded number of times. The private-key scanner is not a
 * regex at all (indexOf, forward only). A test runs each on adversarial inputs of 256 KiB.
 *
 * A scanner gets the text and a function that turns a found secret into its replacement; it
 * returns the text with the replacements (the same string when nothing matched).
 */
export type Scanner = (text: string, replace: (secret: string) => string) => string

export interface BuiltinRule {
  rule: RedactionRule
  /** Value scanners, run in order; none for a field-name rule. */
  scanners: Scanner[]
  /** Cheap test: false means no scanner can match (skips the regex on most log lines). */
  precheck?: (text: string) => boolean
  /** Field-name test for a metadata key; absent for a value rule. */
  fieldName?: (key: string) => boolean
}

/** Runs `re` (global) over text; `pick` returns the secret part of a match or null to keep it. */
const regexScanner =
  (re: RegExp, pick: (match: RegExpExecArray) => { secret: string; offset: number } | null): Scanner =>
  (text, replace) => {
    re.lastIndex = 0
    let out = ''
    let last = 0
    let m: RegExpExecArray | null
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++
        continue
      }
      const found = pick(m)
      if (!found) continue
      const start = m.index + found.offset
      out += text.slice(last, start) + replace(found.secret)
      last = start + found.secret.length
    }
    return last === 0 ? text : out + text.slice(last)
  }

const whole = (m: RegExpExecArray) => ({ secret: m[0], offset: 0 })
/** The last capture group is the secret; what precedes it in the match is kept. */
const lastGroup = (m: RegExpExecArray) => {
  const secret = m[m.length - 1]!
  return { secret, offset: m[0].length - secret.length }
}

export const luhn = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

// 13–19 digits, single spaces or dashes between them, first digit 2–6 (the card networks' IIN
// ranges: Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay/Maestro 6; this leaves
// alone epoch timestamps in ms/µs, which start with 1). Bounded: at most 37 characters a try.
const CARD = /(?<![0-9])[2-6](?:[ -]?[0-9]){12,18}(?![0-9])/g
const cardScanner = regexScanner(CARD, (m) => {
  const digits = m[0].replace(/[ -]/g, '')
  return luhn(digits) ? whole(m) : null
})
// A card needs 13 digits: at least 4 digits in a row somewhere (groups of 4 in print), checked first.
const FOUR_DIGITS = /[0-9]{4}/

// Three base64url segments, the header starting eyJ (base64 of `{"`). The classes exclude '.',
// so each segment ends at one place; the lookbehind makes eyJ the start of a run.
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g

// `Authorization: …` (also `"authorization":"…"`, `Proxy-Authorization=…`): the value up to the end
// of the line or a quote/comma/semicolon. The value's first character is not a space, so
// `[ \t]*` and the value cannot trade characters.
const AUTH_HEADER = /(?<![A-Za-z0-9_-])(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?([^\s"',;][^\r\n"',;]*)/gi
// `Bearer <token>` / `Basic <base64>`: the token only (the scheme is kept, it says what was there).
const SCHEME_TOKEN = /(?<![A-Za-z0-9_-])(?:bearer|basic)[ \t]+([A-Za-z0-9._~+/-]+=*)/gi
/**
 * Whether a word after bearer/basic looks like a credential rather than English ("basic
 * authentication", "bearer token"): at least 8 characters with a digit, a symbol, or an upper
 * case letter after the first character.
 */
const credentialLike = (token: string): boolean => token.length >= 8 && /[0-9._~+/=-]|.[A-Z]/.test(token)
const schemeScanner = regexScanner(SCHEME_TOKEN, (m) => (credentialLike(m[1]!) ? lastGroup(m) : null))
const AUTH_WORDS = /authorization|bearer|basic/i

// AWS access key ids (long-term AKIA, temporary ASIA): 20 upper-case letters/digits.
const AWS_KEY_ID = /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g
// A secret access key (40 base64 characters) only when it is assigned to a name saying so:
// 40-character base64 strings alone are too common (hashes, ids) to mask on sight.
const AWS_SECRET = /(?<![A-Za-z0-9_])(?:aws_?)?secret_?access_?key["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi
const AWS_WORDS = /AKIA|ASIA|secret_?access_?key/i

/**
 * PEM private key blocks, `-----BEGIN [X ]PRIVATE KEY-----` to the matching END line; a block
 * with no END line (a truncated dump) is masked to the end of the value. Forward-only indexOf.
 */
const KEY_HEADER = /-----BEGIN ((?:[A-Z0-9]{1,20} ){0,4})PRIVATE KEY-----/y
const privateKeyScanner: Scanner = (text, replace) => {
  let out = ''
  let last = 0
  let from = 0
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', from)
    if (begin < 0) break
    KEY_HEADER.lastIndex = begin
    const header = KEY_HEADER.exec(text)
    if (!header) {
      from = begin + 1
      continue
    }
    const endLine = `-----END ${header[1]}PRIVATE KEY-----`
    const end = text.indexOf(endLine, KEY_HEADER.lastIndex)
    const stop = end < 0 ? text.length : end + endLine.length
    out += text.slice(last, begin) + replace(text.slice(begin, stop))
    last = from = stop
  }
  return last === 0 ? text : out + text.slice(last)
}

// Local part up to 64 characters starting a run, then dot-separated labels and an alphabetic TLD.
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9-])/g

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const IPV4 = new RegExp(`(?<![0-9.])(?:${OCTET}\\.){3}${OCTET}(?![0-9]|\\.[0-9])`, 'g')
// IPv6 candidates (bounded: at most 8 groups of 4 hex digits, or an IPv4 tail), confirmed by
// node:net isIPv6, so `12:30:45`, MAC addresses and `std::vector` are left alone.
const IPV6 = /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{0,4})(?![0-9A-Za-z:])/g
const ipv6Scanner = regexScanner(IPV6, (m) => (/[0-9A-Fa-f]/.test(m[0]) && isIPv6(m[0]) ? whole(m) : null))

/**
 * Secret-named metadata keys: the key's last word (split on `_ - . space` and camelCase) is
 * password, passwd, secret, token, cookie or authorization, or its last two are api + key (or
 * the word apikey). So `password`, `db_password`, `refreshToken`, `Set-Cookie`, `X-Api-Key` are
 * caught; `token_count`, `max_tokens`, `cookie_consent`, `secret_santa_id` are not.
 */
const SECRET_WORDS = new Set(['password', 'passwd', 'secret', 'token', 'cookie', 'authorization', 'apikey'])
const MAY_BE_SECRET_NAME = /passw|secret|token|cookie|authorization|key/i
export const secretFieldName = (key: string): boolean => {
  // Most keys hold none of the words: skip the split (this runs on every metadata key).
  if (!MAY_BE_SECRET_NAME.test(key)) return false
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0)
  const lastWord = words[words.length - 1]
  if (lastWord === undefined) return false
  if (SECRET_WORDS.has(lastWord)) return true
  return lastWord === 'key' && words[words.length - 2] === 'api'
}

const builtin = (
  id: string,
  name: string,
  pattern: string | null,
  applies_to: RedactionRule['applies_to'],
  enabled: boolean,
): RedactionRule => ({
  id: `builtin:${id}`,
  name,
  builtin: true,
  pattern,
  field_names: null,
  behavior: 'mask',
  applies_to,
  enabled,
  project_id: null,
})

/** In the order they run (the header rule before bearer/basic, key blocks before JWTs). */
export const BUILTIN_RULES: readonly BuiltinRule[] = [
  {
    rule: {
      ...builtin('secret_fields', 'secret_fields', null, 'metadata', true),
      field_names: ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'cookie'],
    },
    scanners: [],
    fieldName: secretFieldName,
  },
  {
    rule: builtin('private_key', 'private_key', '-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----', 'all', true),
    scanners: [privateKeyScanner],
    precheck: (t) => t.includes('-----BEGIN '),
  },
  {
    rule: builtin('authorization', 'authorization', `${AUTH_HEADER.source} | ${SCHEME_TOKEN.source}`, 'all', true),
    scanners: [regexScanner(AUTH_HEADER, lastGroup), schemeScanner],
    precheck: (t) => AUTH_WORDS.test(t),
  },
  {
    rule: builtin('jwt', 'jwt', JWT.source, 'all', true),
    scanners: [regexScanner(JWT, whole)],
    precheck: (t) => t.includes('eyJ'),
  },
  {
    rule: builtin('aws_access_key', 'aws_access_key', `${AWS_KEY_ID.source} | ${AWS_SECRET.source}`, 'all', true),
    scanners: [regexScanner(AWS_KEY_ID, whole), regexScanner(AWS_SECRET, lastGroup)],
    precheck: (t) => AWS_WORDS.test(t),
  },
  {
    rule: builtin('credit_card', 'credit_card', `${CARD.source} (Luhn-checked)`, 'all', true),
    scanners: [cardScanner],
    precheck: (t) => FOUR_DIGITS.test(t),
  },
  {
    rule: builtin('email', 'email', EMAIL.source, 'all', false),
    scanners: [regexScanner(EMAIL, whole)],
    precheck: (t) => t.includes('@'),
  },
  {
    rule: builtin('ip_address', 'ip_address', `${IPV4.source} | ${IPV6.source} (checked by isIPv6)`, 'all', false),
    // IPv6 first: an IPv4-mapped address (::ffff:10.0.0.1) is masked whole.
    scanners: [ipv6Scanner, regexScanner(IPV4, whole)],
    precheck: (t) => t.includes('.') || t.includes(':'),
  },
]
