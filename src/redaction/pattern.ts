import { RE2JS, RE2JSException } from 're2js'
import { validationError } from '../errors.js'

/** Longest custom pattern accepted (RE2 also caps the compiled program size). */
export const MAX_PATTERN_CHARS = 1000

/**
 * A custom pattern compiled on re2js (a pure-JS port of RE2: matching time is linear in the
 * input whatever the pattern, so no pattern can stall ingest). RE2 syntax: no backreferences,
 * no lookaround; `(?i)` for case-insensitive.
 */
export interface LinearPattern {
  source: string
  /** Whether the pattern occurs anywhere in `text` (DFA fast path, no captures). */
  test(text: string): boolean
  /**
   * `text` with each non-empty match replaced by `replace(match)`; empty matches (a pattern
   * like `x*` matches the empty string everywhere) are left alone.
   */
  replace(text: string, replace: (match: string) => string): string
}

/**
 * Compiles a custom rule's pattern, or throws `validationError('pattern', …)` naming the
 * pattern and why the engine refuses it (backreference, lookaround, bad syntax, too long).
 */
export const compileLinearPattern = (source: string): LinearPattern => {
  if (typeof source !== 'string' || source.length === 0) throw validationError('pattern', 'must be a non-empty string')
  if (source.length > MAX_PATTERN_CHARS) {
    throw validationError('pattern', `must be at most ${MAX_PATTERN_CHARS} characters`)
  }
  let re: RE2JS
  try {
    re = RE2JS.compile(source)
  } catch (err) {
    const why = err instanceof RE2JSException ? err.message : 'cannot be compiled'
    throw validationError(
      'pattern',
      `${JSON.stringify(source)} cannot run on the linear-time regex engine (RE2 syntax: no backreferences, no lookahead or lookbehind): ${why}`,
    )
  }
  return {
    source,
    test: (text) => re.test(text),
    replace: (text, replace) => {
      const m = re.matcher(text)
      let out = ''
      let last = 0
      while (m.find()) {
        const start = m.start()
        const end = m.end()
        if (end === start) continue
        out += text.slice(last, start) + replace(text.slice(start, end))
        last = end
      }
      return last === 0 ? text : out + text.slice(last)
    },
  }
}
