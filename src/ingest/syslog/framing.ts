/**
 * Syslog over TCP (RFC 6587), framing told apart per frame: octet counting (`LEN SP MSG`, §3.4.1:
 * a frame that starts with a digit) or non-transparent framing (§3.4.2: a message that ends at
 * LF; CRLF and NUL are tolerated). Memory is bounded by the largest message: a frame over the
 * limit is reported and skipped, never buffered — an octet-counted one by its length (the
 * stream stays in step), a newline-framed one up to its line end.
 */

export type Frame =
  | { kind: 'message'; bytes: Buffer }
  /** A frame larger than the limit, skipped; `bytes` is its length, or what was seen of it. */
  | { kind: 'oversize'; bytes: number }
  /** The stream ended inside an octet-counted frame. */
  | { kind: 'truncated'; bytes: number }

const LF = 0x0a
const CR = 0x0d
const NUL = 0x00
const SP = 0x20
const TAB = 0x09

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
/** MSG-LEN of a frame larger than a few GB is no length: the frame is then newline-framed. */
const MAX_LEN_DIGITS = 10

export class SyslogFramer {
  private pending: Buffer = Buffer.alloc(0)
  /** Bytes still to skip of an oversize octet-counted frame. */
  private skipBytes = 0
  /** Skipping an oversize newline-framed frame up to its line end. */
  private skipLine = false
  /** How far `pending` has been searched for a line end already. */
  private scanned = 0

  constructor(private readonly maxBytes: number) {}

  /** Bytes held for a frame not yet complete (at most about maxBytes). */
  get buffered(): number {
    return this.pending.length
  }

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = []
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    let pos = 0
    for (;;) {
      if (this.skipBytes > 0) {
        const n = Math.min(this.skipBytes, data.length - pos)
        this.skipBytes -= n
        pos += n
        if (this.skipBytes > 0) break
      }
      if (this.skipLine) {
        const end = lineEnd(data, pos)
        if (end === -1) {
          pos = data.length
          break
        }
        this.skipLine = false
        pos = end + 1
      }
      // Between frames: line ends and blanks (a trailer after an octet-counted frame, keep-alives).
      while (pos < data.length && (data[pos] === LF || data[pos] === CR || data[pos] === NUL || data[pos] === SP || data[pos] === TAB)) pos++
      if (pos >= data.length) break
      const counted = this.octetCount(data, pos)
      if (counted === 'incomplete') break
      if (counted) {
        if (counted.length > this.maxBytes) {
          frames.push({ kind: 'oversize', bytes: counted.length })
          this.skipBytes = counted.length
          pos = counted.start
          continue
        }
        if (data.length - counted.start < counted.length) break
        frames.push({ kind: 'message', bytes: data.subarray(counted.start, counted.start + counted.length) })
        pos = counted.start + counted.length
        this.scanned = 0
        continue
      }
      const end = lineEnd(data, pos + this.scanned)
      if (end === -1) {
        if (data.length - pos > this.maxBytes) {
          frames.push({ kind: 'oversize', bytes: data.length - pos })
          this.skipLine = true
          this.scanned = 0
          pos = data.length
        } else {
          this.scanned = data.length - pos
        }
        break
      }
      this.scanned = 0
      let stop = end
      if (stop > pos && data[stop - 1] === CR) stop--
      if (stop - pos > this.maxBytes) frames.push({ kind: 'oversize', bytes: stop - pos })
      else frames.push({ kind: 'message', bytes: data.subarray(pos, stop) })
      pos = end + 1
    }
    // Copied, so a small remainder does not pin the whole chunk it came in.
    this.pending = pos >= data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(pos))
    return frames
  }

  /** The end of the stream: a last newline-framed message without its LF still counts. */
  end(): Frame[] {
    const rest = this.pending
    this.pending = Buffer.alloc(0)
    this.scanned = 0
    if (rest.length === 0 || this.skipLine || this.skipBytes > 0) return []
    const counted = this.octetCount(rest, 0)
    if (counted === 'incomplete' || counted) return [{ kind: 'truncated', bytes: rest.length }]
    let stop = rest.length
    while (stop > 0 && (rest[stop - 1] === CR || rest[stop - 1] === SP)) stop--
    return stop > this.maxBytes ? [{ kind: 'oversize', bytes: stop }] : [{ kind: 'message', bytes: rest.subarray(0, stop) }]
  }

  /**
   * `LEN SP` at pos: the frame's length and where its MSG starts; 'incomplete' while the digits
   * may still be a length; null when the frame is not octet-counted.
   */
  private octetCount(data: Buffer, pos: number): { length: number; start: number } | 'incomplete' | null {
    if (data[pos]! < 0x31 || data[pos]! > 0x39) return null
    let i = pos
    while (i < data.length && i - pos < MAX_LEN_DIGITS && isDigit(data[i]!)) i++
    if (i === data.length && i - pos < MAX_LEN_DIGITS) return 'incomplete'
    if (data[i] !== SP) return null
    return { length: Number(data.toString('latin1', pos, i)), start: i + 1 }
  }
}

const lineEnd = (data: Buffer, from: number): number => {
  const lf = data.indexOf(LF, from)
  const nul = data.indexOf(NUL, from)
  if (lf === -1) return nul
  if (nul === -1) return lf
  return Math.min(lf, nul)
}
