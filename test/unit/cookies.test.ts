import type { FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import { clearedSessionCookie, readCookie, sessionCookie } from '../../src/api/cookies.js'

const request = (cookie: string | undefined, protocol: 'http' | 'https' = 'http') => ({ headers: cookie === undefined ? {} : { cookie }, protocol }) as unknown as FastifyRequest

describe('the session cookie', () => {
  it('is read from a Cookie header among others, the first of its name winning', () => {
    expect(readCookie(request('krafter_session=krs_abc'), 'krafter_session')).toBe('krs_abc')
    expect(readCookie(request('a=1; krafter_session=krs_abc; b=2'), 'krafter_session')).toBe('krs_abc')
    expect(readCookie(request('krafter_session=first; krafter_session=second'), 'krafter_session')).toBe('first')
    expect(readCookie(request('krafter_session="quoted"'), 'krafter_session')).toBe('quoted')
    expect(readCookie(request('xkrafter_session=no; krafter_sessionx=no'), 'krafter_session')).toBeUndefined()
    expect(readCookie(request('krafter_session='), 'krafter_session')).toBeUndefined()
    expect(readCookie(request('garbage;;='), 'krafter_session')).toBeUndefined()
    expect(readCookie(request(undefined), 'krafter_session')).toBeUndefined()
  })

  it('is Secure exactly when the request came over HTTPS', () => {
    expect(sessionCookie(request(undefined, 'https'), 'krs_x', 60)).toBe('krafter_session=krs_x; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure')
    expect(sessionCookie(request(undefined, 'http'), 'krs_x', 60)).toBe('krafter_session=krs_x; Path=/; Max-Age=60; HttpOnly; SameSite=Strict')
    expect(clearedSessionCookie(request(undefined, 'https'))).toBe('krafter_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure')
  })
})
