import { describe, expect, it } from 'vitest'
import { SseParser, type SseEvent } from '../../src/ops/sse.js'

/** The events of a stream fed as the given chunks, one parser. */
const parse = (...chunks: string[]): SseEvent[] => {
  const parser = new SseParser()
  return chunks.flatMap((c) => parser.push(c))
}

/** Every way of cutting `text` in two, and one character at a time: the events must not depend on the cut. */
const everyCut = (text: string): string[][] => [
  ...Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]),
  [...text],
]

// What the serve's tail (src/explore/tail.ts) sends: a retry line first, then entries, heartbeats, overflow.
const TAIL_STREAM =
  'retry: 1000\n\n' +
  'id: c1\nevent: entry\ndata: {"id":"a","message":"one"}\n\n' +
  'event: heartbeat\ndata: {}\n\n' +
  'id: c2\nevent: entry\ndata: {"id":"b","message":"two"}\n\n' +
  'event: overflow\ndata: {"message":"slow"}\n\n'

describe('SseParser', () => {
  it('parses the tail stream: types, data, the last event id carried to later events, retry', () => {
    const parser = new SseParser()
    const events = parser.push(TAIL_STREAM)
    expect(events).toEqual([
      { type: 'entry', data: '{"id":"a","message":"one"}', lastEventId: 'c1' },
      { type: 'heartbeat', data: '{}', lastEventId: 'c1' },
      { type: 'entry', data: '{"id":"b","message":"two"}', lastEventId: 'c2' },
      { type: 'overflow', data: '{"message":"slow"}', lastEventId: 'c2' },
    ])
    expect(parser.retry).toBe(1000)
    expect(parser.lastEventId).toBe('c2')
  })

  it('gives the same events however the stream is cut into chunks', () => {
    const whole = parse(TAIL_STREAM)
    for (const chunks of everyCut(TAIL_STREAM)) expect(parse(...chunks)).toEqual(whole)
  })

  it('joins multi-line data with line feeds; an event is complete only at its blank line', () => {
    const parser = new SseParser()
    expect(parser.push('data: first\ndata: second\n')).toEqual([])
    expect(parser.push('data:third\n')).toEqual([])
    expect(parser.push('\n')).toEqual([{ type: 'message', data: 'first\nsecond\nthird', lastEventId: '' }])
  })

  it('accepts CRLF, CR and LF line breaks, a CRLF cut between chunks included', () => {
    const expected = [
      { type: 'a', data: '1', lastEventId: 'x' },
      { type: 'b', data: '2', lastEventId: 'x' },
    ]
    for (const eol of ['\r\n', '\r', '\n']) {
      const text = `id: x${eol}event: a${eol}data: 1${eol}${eol}event: b${eol}data: 2${eol}${eol}`
      for (const chunks of everyCut(text)) expect(parse(...chunks), JSON.stringify(chunks)).toEqual(expected)
    }
    // A CR ending one chunk and the LF starting the next are one line break, not an empty line.
    expect(parse('data: 1\r', '\ndata: 2\r\n', '\r\n')).toEqual([{ type: 'message', data: '1\n2', lastEventId: '' }])
  })

  it('ignores comments, unknown fields and a malformed retry; strips one space after the colon only', () => {
    const parser = new SseParser()
    const events = parser.push(': keep-alive\n\nfoo: bar\nretry: soon\ndata:  two spaces\nevent\n:comment: with colon\n\n')
    expect(events).toEqual([{ type: 'message', data: ' two spaces', lastEventId: '' }])
    expect(parser.retry).toBeUndefined()
    expect(parser.push('retry: 250\n\n')).toEqual([])
    expect(parser.retry).toBe(250)
  })

  it('does not dispatch an event without data, but its id still counts; an id with NUL is ignored', () => {
    const parser = new SseParser()
    expect(parser.push('id: 7\n\n')).toEqual([])
    expect(parser.lastEventId).toBe('7')
    expect(parser.push('id: 8\n')).toEqual([])
    expect(parser.lastEventId).toBe('7')
    expect(parser.push('\n')).toEqual([])
    expect(parser.lastEventId).toBe('8')
    expect(parser.push('data\n\n')).toEqual([]) // one empty data line: empty data, not dispatched
    expect(parser.push('id: bad\u0000id\ndata: x\n\n')).toEqual([{ type: 'message', data: 'x', lastEventId: '8' }])
    expect(parser.push('id\ndata: y\n\n')).toEqual([{ type: 'message', data: 'y', lastEventId: '' }])
  })

  it('drops a BOM at the start of a stream', () => {
    expect(parse('\uFEFFdata: a\n\n')).toEqual([{ type: 'message', data: 'a', lastEventId: '' }])
    expect(parse('\uFEFF', 'data: a\n\n')).toEqual([{ type: 'message', data: 'a', lastEventId: '' }])
  })

  it('end() drops an unfinished event, its id included, and starts a new stream keeping the last event id', () => {
    const parser = new SseParser()
    expect(parser.push('id: c1\ndata: done\n\nid: c2\ndata: cut sho')).toEqual([{ type: 'message', data: 'done', lastEventId: 'c1' }])
    // The id of an event not yet complete is not the last event id: resuming from it would skip that event.
    expect(parser.lastEventId).toBe('c1')
    parser.end()
    expect(parser.lastEventId).toBe('c1')
    expect(parser.push('data: next\n\n')).toEqual([{ type: 'message', data: 'next', lastEventId: 'c1' }])
  })

  it('an id alone in a complete block sets the last event id (how serve says where a tail starts)', () => {
    const parser = new SseParser()
    expect(parser.push('retry: 1000\nid: start\n')).toEqual([])
    expect(parser.lastEventId).toBe('')
    expect(parser.push('\n')).toEqual([])
    expect(parser.lastEventId).toBe('start')
    expect(parser.push('event: heartbeat\ndata: {}\n\n')).toEqual([{ type: 'heartbeat', data: '{}', lastEventId: 'start' }])
  })
})
