/*
 * A Server-Sent Events parser (the event-stream format of the HTML standard, "9.2.6
 * Interpreting an event stream"), pure: text goes in as it arrives, in chunks cut anywhere,
 * complete events come out. The tail client (ops/tail.ts) feeds it a response body.
 */

export interface SseEvent {
  /** The `event:` field; `message` when the event named none. */
  type: string
  /** The `data:` lines joined with line feeds. */
  data: string
  /** The last event id as of this event (an `id:` in it or an earlier one), '' when none yet. */
  lastEventId: string
}

export class SseParser {
  private buffer = ''
  /** A chunk ended on CR: a LF starting the next chunk belongs to the same line break. */
  private afterCr = false
  private started = false
  private type = ''
  private data: string[] = []
  private idBuffer = ''
  private lastId = ''
  private retryMs: number | undefined

  /**
   * The last event id as of the last complete event (what Last-Event-ID resumes from), kept
   * across events and streams. As the standard has it, a block ending in its blank line sets it
   * also when it has no data (an `id:` alone), and an `id:` of a block not yet complete does not.
   */
  get lastEventId(): string {
    return this.lastId
  }

  /** The reconnection time the stream asked for (`retry:`), undefined when it did not. */
  get retry(): number | undefined {
    return this.retryMs
  }

  /** Takes the next piece of the stream; answers the events it completed. */
  push(chunk: string): SseEvent[] {
    let text = chunk
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1)
    this.afterCr = false
    if (text === '') return []
    if (!this.started) {
      this.started = true
      if (text.startsWith('\uFEFF')) text = text.slice(1)
    }
    this.buffer += text
    const events: SseEvent[] = []
    let start = 0
    for (;;) {
      const cr = this.buffer.indexOf('\r', start)
      const lf = this.buffer.indexOf('\n', start)
      if (cr === -1 && lf === -1) break
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf)
      const line = this.buffer.slice(start, end)
      if (this.buffer[end] === '\r') {
        if (end + 1 === this.buffer.length) {
          this.afterCr = true
          start = end + 1
        } else start = this.buffer[end + 1] === '\n' ? end + 2 : end + 1
      } else start = end + 1
      const event = this.line(line)
      if (event) events.push(event)
    }
    this.buffer = this.buffer.slice(start)
    return events
  }

  /**
   * The stream ended: an event without its closing blank line is dropped (the standard's rule:
   * it may be cut short), and the parser is ready for the next connection's stream. The last
   * event id and retry stay.
   */
  end(): void {
    this.idBuffer = this.lastId
    this.buffer = ''
    this.afterCr = false
    this.started = false
    this.type = ''
    this.data = []
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return undefined // a comment (keep-alives often are)
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.type = value
        break
      case 'data':
        this.data.push(value)
        break
      case 'id':
        if (!value.includes('\u0000')) this.idBuffer = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value)
        break
      default:
        break // unknown fields are ignored
    }
    return undefined
  }

  private dispatch(): SseEvent | undefined {
    const { type, data } = this
    this.lastId = this.idBuffer
    this.type = ''
    this.data = []
    // An event without data is not dispatched (an `id:` alone still moves the last event id).
    const joined = data.join('\n')
    if (joined === '') return undefined
    return { type: type === '' ? 'message' : type, data: joined, lastEventId: this.lastId }
  }
}
