import { once } from 'node:events'
import net from 'node:net'

/**
 * A raw TCP connection to a listening server, for what fetch cannot do: send a request slowly,
 * hold a connection open, see exactly when and how the server closes it.
 */
export class RawConnection {
  readonly socket: net.Socket
  /** Everything the server sent so far. */
  received = ''
  /** Bytes written so far. */
  sent = 0
  /** Resolves when the socket is closed, by either side. */
  readonly closed: Promise<void>

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.setEncoding('latin1')
    this.socket.on('data', (chunk: string) => {
      this.received += chunk
    })
    // Writes racing the server's close fail with EPIPE/ECONNRESET: the close is what tests watch.
    this.socket.on('error', () => undefined)
    // Not events.once: that rejects on 'error', and a reset is one way of being closed.
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()))
  }

  async connected(): Promise<this> {
    if (this.socket.connecting) await once(this.socket, 'connect')
    return this
  }

  write(text: string): void {
    if (this.socket.destroyed || !this.socket.writable) return
    this.socket.write(text)
    this.sent += Buffer.byteLength(text)
  }

  /** Writes `chunk` every `everyMs` until the socket closes (the client side of a slow upload). */
  trickle(chunk: string, everyMs: number): void {
    const timer = setInterval(() => this.write(chunk), everyMs)
    void this.closed.then(() => clearInterval(timer))
  }

  /** Resolves with the first complete response (status line to the end of its Content-Length body). */
  async response(): Promise<string> {
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n')
      if (end >= 0) {
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.received.slice(0, end))?.[1] ?? 0)
        if (this.received.length >= end + 4 + length) return this.received.slice(0, end + 4 + length)
      }
      const next = await Promise.race([new Promise<boolean>((resolve) => this.socket.once('data', () => resolve(true))), this.closed.then(() => false)])
      if (!next) throw new Error(`closed before a complete response: ${JSON.stringify(this.received)}`)
    }
  }
}
