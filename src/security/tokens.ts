import { createHash, randomInt, timingSafeEqual } from 'node:crypto'

export const TEAM_KEY_PREFIX = 'kr_live_'
export const INGEST_TOKEN_PREFIX = 'krl_live_'
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
const RANDOM_LENGTH = 32
/** Tokens are shown by their first 12 characters: a label for people, not unique. */
export const DISPLAY_PREFIX_LENGTH = 12

export type TokenKind = 'team' | 'ingest'

const FORMAT: Record<TokenKind, RegExp> = {
  team: /^kr_live_[a-z0-9]{32}$/,
  ingest: /^krl_live_[a-z0-9]{32}$/,
}

/** 32 characters drawn uniformly from [a-z0-9] by the CSPRNG (~165 bits). */
export const generateToken = (kind: TokenKind): string => {
  let body = ''
  for (let i = 0; i < RANDOM_LENGTH; i++) body += ALPHABET[randomInt(ALPHABET.length)]
  return (kind === 'team' ? TEAM_KEY_PREFIX : INGEST_TOKEN_PREFIX) + body
}

/** Tokens are stored and looked up only by this hash. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

export const displayPrefix = (token: string): string => token.slice(0, DISPLAY_PREFIX_LENGTH)

/** The kind a presented token claims by its prefix, or null when it is not ours at all. */
export const tokenKind = (token: string): TokenKind | null => {
  if (FORMAT.team.test(token)) return 'team'
  if (FORMAT.ingest.test(token)) return 'ingest'
  return null
}

/** Constant-time comparison of two hex digests of equal length. */
export const hashesEqual = (a: string, b: string): boolean => {
  const ba = Buffer.from(a, 'hex')
  const bb = Buffer.from(b, 'hex')
  return ba.length === bb.length && timingSafeEqual(ba, bb)
}
