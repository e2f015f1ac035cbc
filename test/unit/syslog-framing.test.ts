import { randomBytes, randomInt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SyslogFramer, type Frame } from '../../src/ingest/syslog/framing.js'

const counted = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`

/** Frames as text, for comparisons. */
const show = (frames: Frame[]): string[] => frames.map((f) => (f.kind === 'message' ? f.bytes.toString('utf8') : `<${f.kind} ${f.bytes}>`))

const frameAll = (input: Buffer | string, max = 1024, chunkSizes?: number[]): string[] => {
  const framer = new SyslogFramer(max)
  const bytes = typeof input === 'string' ? Buffer.from(input) : input
  const out: Frame[] = []
  let pos = 0
  let i = 0
  while (pos < bytes.length) {
    const size = chunkSizes ? chunkSizes[i++ % chunkSizes.length]! : bytes.length
    out.push(...framer.push(bytes.subarray(pos, pos + size)))
    pos += size
  }
  out.push(...framer.end())
  return show(out)
}

describe('RFC 6587 framing, detected per frame', () => {
  it('octet counting (§3.4.1), UTF-8 lengths in bytes', () => {
    const a = '<34>1 2003-10-11T22:14:15.003Z host su - ID47 - héllo'
    const b = '<13>1 - - - - - - two\nlines'
    expect(frameAll(counted(a) + counted(b))).toEqual([a, b])
  })

  it('non-transparent framing (§3.4.2): LF, CRLF and NUL end a frame; a last frame without one still counts', () => {
    expect(frameAll('<13>a\n<13>b\r\n<13>c\0<13>d')).toEqual(['<13>a', '<13>b', '<13>c', '<13>d'])
  })

  it('mixed framings on one connection, with blank lines and trailers between frames', () => {
    const a = '<13>1 - - - - - - counted'
    expect(frameAll(`${counted(a)}\n<13>line one\n\n\r\n${counted(a)}<13>line two\n`)).toEqual([a, '<13>line one', a, '<13>line two'])
  })

  it('a digit-first frame without `LEN SP` is newline-framed', () => {
    expect(frameAll('12abc\n')).toEqual(['12abc'])
    expect(frameAll('12345678901 x\n')).toEqual(['12345678901 x'])
  })

  it('gives the same frames however the bytes are split, down to one byte per chunk', () => {
    const input = `${counted('<13>1 - - - - - - é counted')}<13>line\r\n${counted('<14>x')}\n<15>last`
    const whole = frameAll(input)
    expect(whole).toEqual(['<13>1 - - - - - - é counted', '<13>line', '<14>x', '<15>last'])
    for (const sizes of [[1], [2], [3], [7], [1, 5, 2], [13]]) expect(frameAll(input, 1024, sizes)).toEqual(whole)
  })

  it('an octet-counted frame over the limit is reported and skipped by its length: the next frame is read', () => {
    const big = '<13>1 - - - - - - ' + 'x'.repeat(200)
    expect(frameAll(counted(big) + counted('<13>after'), 100)).toEqual([`<oversize ${Buffer.byteLength(big)}>`, '<13>after'])
    expect(frameAll(counted(big) + counted('<13>after'), 100, [10])).toEqual([`<oversize ${Buffer.byteLength(big)}>`, '<13>after'])
  })

  it('a newline-framed frame over the limit is skipped up to its line end, never buffered', () => {
    const framer = new SyslogFramer(100)
    const frames: Frame[] = []
    frames.push(...framer.push(Buffer.from('<13>' + 'y'.repeat(150))))
    expect(framer.buffered).toBe(0)
    frames.push(...framer.push(Buffer.from('y'.repeat(10_000))))
    expect(framer.buffered).toBe(0)
    frames.push(...framer.push(Buffer.from('yyy\n<13>next\n')))
    expect(show(frames)).toEqual(['<oversize 154>', '<13>next'])
    // All in one chunk: the same frame is measured whole.
    expect(frameAll(`<13>${'z'.repeat(150)}\n<13>next\n`, 100)).toEqual(['<oversize 154>', '<13>next'])
  })

  it('the stream ending inside an octet-counted frame is reported as truncated', () => {
    expect(frameAll('50 <13>1 - - - - - - short')).toEqual(['<truncated 26>'])
    expect(frameAll('<13>ok\n12')).toEqual(['<13>ok', '<truncated 2>'])
  })

  it('holds at most about the limit for a frame that never completes (a stalled sender)', () => {
    const framer = new SyslogFramer(1000)
    framer.push(Buffer.from('999 <13>1 '))
    for (let i = 0; i < 100; i++) framer.push(Buffer.from('a'))
    expect(framer.buffered).toBe(110)
    expect(framer.push(Buffer.from('a'.repeat(893)))).toHaveLength(1)
    expect(framer.buffered).toBe(0)
  })

  it('random bytes in random chunks never throw and never hold more than the limit plus a length', () => {
    for (let round = 0; round < 300; round++) {
      const max = 64 + randomInt(512)
      const framer = new SyslogFramer(max)
      for (let i = 0; i < 30; i++) {
        const kind = randomInt(4)
        const chunk =
          kind === 0
            ? randomBytes(randomInt(300))
            : kind === 1
              ? Buffer.from(counted('<13>' + 'k'.repeat(randomInt(2 * max))))
              : kind === 2
                ? Buffer.from(`${randomInt(1_000_000)} `)
                : Buffer.from('<13>' + 'n'.repeat(randomInt(2 * max)) + (randomInt(2) ? '\n' : ''))
        for (const frame of framer.push(chunk)) {
          if (frame.kind === 'message') expect(frame.bytes.length).toBeLessThanOrEqual(max)
        }
        expect(framer.buffered).toBeLessThanOrEqual(max + 11)
      }
      expect(() => framer.end()).not.toThrow()
    }
  })
})
