import protobuf from 'protobufjs'
import { emptyObject, putKey, type Plain, type PlainObject } from './otlp-metadata.js'

/**
 * An ExportLogsServiceRequest read straight from the protobuf wire with protobuf.js's low-level
 * Reader, into the values the mapping (otlp.ts) takes: no message objects, Longs or id buffers
 * in between. It reads exactly what the reflection decoder (`otlpSchema().request.decode`)
 * reads, and refuses exactly what it refuses, with the same error:
 *  - the same Reader calls for every known field of the right wire type (tag, size, int32,
 *    uint32, bool, double, fixed32; strings as `stringVerify` reads them: strict UTF-8, as
 *    proto3 wants; bytes and fixed64 with the bounds checks `bytes` and `fixed64` make);
 *  - every other field (unknown, reserved, or a known number with another wire type, which
 *    protobuf.js takes for an unknown field) skipped with `skipType`, as proto3 requires;
 *  - a nested message bounded by its length (the reader's `len` set to its end, checked when
 *    it ends), and nested at most `Reader.recursionLimit` (100) messages deep;
 *  - a singular field that comes twice: the last scalar wins, messages merge (repeated fields
 *    concatenate; an AnyValue keeps the member set last, and two array or kvlist members in a
 *    row add up), as protobuf.js merges them.
 *
 * Field numbers and types, from the vendored protos (proto/, upstream v1.11.0):
 *  - collector/logs/v1/logs_service.proto: ExportLogsServiceRequest { 1 resource_logs repeated ResourceLogs }
 *  - logs/v1/logs.proto: ResourceLogs { 1 resource Resource, 2 scope_logs repeated ScopeLogs,
 *    3 schema_url string; reserved 1000 }; ScopeLogs { 1 scope InstrumentationScope,
 *    2 log_records repeated LogRecord, 3 schema_url string }; LogRecord { 1 time_unix_nano
 *    fixed64, 11 observed_time_unix_nano fixed64, 2 severity_number SeverityNumber (an open
 *    enum: int32), 3 severity_text string, 5 body AnyValue, 6 attributes repeated KeyValue,
 *    7 dropped_attributes_count uint32, 8 flags fixed32, 9 trace_id bytes, 10 span_id bytes,
 *    12 event_name string; reserved 4 }
 *  - resource/v1/resource.proto: Resource { 1 attributes repeated KeyValue,
 *    2 dropped_attributes_count uint32, 3 entity_refs repeated EntityRef }
 *  - common/v1/common.proto: AnyValue { oneof value: 1 string_value string, 2 bool_value bool,
 *    3 int_value int64, 4 double_value double, 5 array_value ArrayValue, 6 kvlist_value
 *    KeyValueList, 7 bytes_value bytes, 8 string_value_strindex int32 }; ArrayValue { 1 values
 *    repeated AnyValue }; KeyValueList { 1 values repeated KeyValue }; KeyValue { 1 key string,
 *    2 value AnyValue, 3 key_strindex int32 }; InstrumentationScope { 1 name string, 2 version
 *    string, 3 attributes repeated KeyValue, 4 dropped_attributes_count uint32 }; EntityRef
 *    { 1 schema_url string, 2 type string, 3 id_keys repeated string, 4 description_keys
 *    repeated string }
 * Read but not kept (they say nothing about the event, see otlp.ts): schema_url,
 * dropped_attributes_count, flags, entity_refs, key_strindex.
 */

/**
 * Key–value pairs, flat (no array per pair): [key0, value0, key1, value1, …], each key a
 * string as it is (dotted), each value plain.
 */
export type Attributes = Plain[]

/** One log record's fields, as the mapping takes them. */
export interface WireLogRecord {
  /** Decimal nanoseconds; '0' (or '') when unset. */
  time: string
  /** Read only when `time` is unset; from protobuf it is '' when `time` is set (not spelt out for nothing). */
  observed: string
  severityNumber: number
  severityText: string
  /** The body as text: a string as it is, an int64 as its digits, any other value as the JSON text of its plain value; '' for none. */
  message: string
  attributes: Attributes
  /** Lowercase hex; '' when unset. */
  traceId: string
  spanId: string
  eventName: string
}

export interface WireScopeLogs {
  /** InstrumentationScope's; '' and [] when there is no scope. */
  name: string
  version: string
  attributes: Attributes
  records: WireLogRecord[]
}

export interface WireResourceLogs {
  /** Resource's; [] when there is no resource. */
  attributes: Attributes
  scopeLogs: WireScopeLogs[]
}

/** Which member of an AnyValue's oneof is set. */
const enum Kind {
  None,
  String,
  Bool,
  Int,
  Double,
  Array,
  Kvlist,
  Bytes,
  Strindex,
}

// Wire types (https://protobuf.dev/programming-guides/encoding/#structure).
const VARINT = 0
const I64 = 1
const LEN = 2
const I32 = 5

const TWO_32 = 4294967296

/** The decoder protobuf.js's Reader#stringVerify falls back to (util/utf8.js): its errors are the ones it throws. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** An int64 (two's complement halves) as a number where a double holds it exactly (|v| < 2^53), else its decimal text. */
export const int64Plain = (lo: number, hi: number): number | string => {
  const high = hi | 0
  if (high >= -0x200000 && high < 0x200000) return high * TWO_32 + lo
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString()
}

const pad7 = (n: number): string => (n >= 1e6 ? String(n) : String(n).padStart(7, '0'))

/**
 * An unsigned 64-bit integer (its 32-bit halves) as exact decimal text, without BigInt (the
 * times of every record go through here): below 2^53 a double holds it; above, it is split into
 * 24-bit limbs (low + mid·2^24 + high·2^48) summed as base-10^7 digits a, b, c
 * (2^24 = 1·10^7 + 6777216, 2^48 = 2·10^14 + 8147497·10^7 + 6710656), every sum and product
 * below 2^53, then carried. Tested against BigInt (test/protocols/otlp-wire.test.ts).
 */
export const uint64Text = (lo: number, hi: number): string => {
  if (hi <= 0x1fffff) return String(hi * TWO_32 + lo)
  const low = lo & 0xffffff
  const mid = ((lo >>> 24) | (hi << 8)) & 0xffffff
  const high = (hi >>> 16) & 0xffff
  let a = low + mid * 6777216 + high * 6710656
  let b = mid + high * 8147497
  let c = high * 2
  if (a >= 1e7) {
    b += Math.floor(a / 1e7)
    a %= 1e7
  }
  if (b >= 1e7) {
    c += Math.floor(b / 1e7)
    b %= 1e7
  }
  // Here the value is at least 2^53 (16 digits): c (from the 15th digit up) is never 0, and
  // c·10^7 + b < 2^64 / 10^7 is exact. The times of a batch mostly share those digits.
  const top = c * 1e7 + b
  if (top !== lastTop) {
    lastTop = top
    lastTopText = String(top)
  }
  return lastTopText + pad7(a)
}

/** The digits above the last 7 of the last uint64Text beyond 2^53. */
let lastTop = -1
let lastTopText = ''

/** JSON has no NaN or infinities: those are kept as their names. */
const doublePlain = (d: number): number | string => (Number.isFinite(d) ? d : String(d))

/** ASCII strings up to this many bytes (keys, and values like `GET` or `eu-west-1`) are looked up in `seen` first. */
const SHORT = 32
const SEEN_BITS = 12
const SEEN_SLOTS = 1 << SEEN_BITS
/**
 * Short strings read before, by a hash of their bytes: the keys and many values of log records
 * repeat from record to record, and one string for them all is cheaper than a new one each
 * time, to make (no allocation) and to keep (less to collect; an object key V8 has seen).
 * Strings are immutable, so sharing one is invisible; a slot holds the last string hashed to it.
 */
const seen: (string | undefined)[] = new Array<string | undefined>(SEEN_SLOTS).fill(undefined)

/** The slot in `seen` of the (non-empty) bytes buf[start, end): by their length and three of them. */
const slotOf = (buf: Buffer, start: number, end: number): number =>
  (Math.imul(end - start, 0x9e3779b1) ^ Math.imul(buf[start]!, 0x85ebca6b) ^ Math.imul(buf[(start + end) >>> 1]!, 0xc2b2ae35) ^ buf[end - 1]!) >>> (32 - SEEN_BITS)

/**
 * buf[start, end) as UTF-8, strictly: ASCII as it is, anything else through the decoder
 * protobuf.js's stringVerify uses (the same string, or the same error).
 */
const asciiOrStrict = (buf: Buffer, start: number, end: number): string => {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return strictUtf8.decode(buf.subarray(start, end))
  return buf.toString('latin1', start, end)
}

/** The message of protobuf.js's Reader bounds errors (reader.js indexOutOfRange). */
const outOfRange = (r: protobuf.Reader, length = 1): RangeError => new RangeError(`index out of range: ${r.pos} + ${length} > ${r.len}`)

class WireReader {
  private readonly r: protobuf.Reader
  private readonly buf: Buffer
  private readonly maxDepth = protobuf.Reader.recursionLimit
  /** The member of the AnyValue read last (set by anyValue). */
  private kind = Kind.None
  /** The key of the KeyValue read last (set by keyValue). */
  private key = ''
  /** The halves of the fixed64 read last (set by fixed64). */
  private lo = 0
  private hi = 0

  constructor(body: Buffer) {
    this.buf = body
    this.r = protobuf.Reader.create(body)
  }

  /** Enters the length-delimited message that starts here, `depth` messages deep: the reader's end becomes its end; the outer end is returned. */
  private enter(depth: number): number {
    const r = this.r
    const length = r.size()
    if (depth > this.maxDepth) throw Error('max depth exceeded')
    const end = r.pos + length
    if (end > r.len) throw RangeError('index out of range')
    const outer = r.len
    r.len = end
    return outer
  }

  private leave(outer: number): void {
    const r = this.r
    if (r.pos !== r.len) throw RangeError('index out of range')
    r.len = outer
  }

  /** A string field, as Reader#stringVerify reads it: UTF-8, strictly. */
  private string(): string {
    const r = this.r
    const buf = this.buf
    const length = r.size()
    const start = r.pos
    const end = start + length
    if (end > r.len) throw outOfRange(r, length)
    r.pos = end
    if (length === 0) return ''
    if (length <= SHORT) {
      const slot = slotOf(buf, start, end)
      const known = seen[slot]
      // The same bytes as a string of ASCII: the same string (and all ASCII, so valid UTF-8).
      if (known !== undefined && known.length === length) {
        let i = 0
        while (i < length && known.charCodeAt(i) === buf[start + i]) i++
        if (i === length) return known
      }
      const fresh = asciiOrStrict(buf, start, end)
      // Only ASCII has as many characters as bytes: only ASCII is kept.
      if (fresh.length === length) seen[slot] = fresh
      return fresh
    }
    return asciiOrStrict(buf, start, end)
  }

  /** A bytes field, as Reader#bytes bounds it, in `encoding`. */
  private bytes(encoding: 'hex' | 'base64'): string {
    const r = this.r
    const length = r.size()
    const start = r.pos
    const end = start + length
    if (end > r.len) throw outOfRange(r, length)
    r.pos = end
    return length === 0 ? '' : this.buf.toString(encoding, start, end)
  }

  /** A fixed64 field, as Reader#fixed64 bounds it, into this.lo and this.hi (unsigned halves: little-endian, the low one first). */
  private fixed64(): void {
    const r = this.r
    if (r.pos + 8 > r.len) throw outOfRange(r, 8)
    const buf = this.buf
    const p = r.pos
    r.pos = p + 8
    this.lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0
    this.hi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0
  }

  /** An int64 varint, read byte for byte as Reader#int64 reads it (reader.js readLongVarint: the same bounds and errors), without a Long. */
  private int64(): number | string {
    const r = this.r
    const buf = this.buf
    let lo = 0
    let hi = 0
    let b = 0
    let i = 0
    if (r.len - r.pos > 4) {
      for (; i < 4; ++i) {
        b = buf[r.pos++]!
        lo = (lo | ((b & 127) << (i * 7))) >>> 0
        if (b < 128) return lo
      }
      b = buf[r.pos++]!
      lo = (lo | ((b & 127) << 28)) >>> 0
      hi = (b & 127) >> 4
      if (b < 128) return int64Plain(lo, hi)
      i = 0
    } else {
      for (; i < 4; ++i) {
        if (r.pos >= r.len) throw outOfRange(r)
        b = buf[r.pos++]!
        lo = (lo | ((b & 127) << (i * 7))) >>> 0
        if (b < 128) return lo
      }
      throw outOfRange(r)
    }
    const checked = r.len - r.pos <= 4
    for (; i < 5; ++i) {
      if (checked && r.pos >= r.len) throw outOfRange(r)
      b = buf[r.pos++]!
      hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0
      if (b < 128) return int64Plain(lo, hi)
    }
    throw Error('invalid varint encoding')
  }

  request(): WireResourceLogs[] {
    const r = this.r
    const out: WireResourceLogs[] = []
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field === 1 && wireType === LEN) out.push(this.resourceLogs(1))
      else r.skipType(wireType, 0, field)
    }
    return out
  }

  private resourceLogs(depth: number): WireResourceLogs {
    const r = this.r
    const outer = this.enter(depth)
    const rl: WireResourceLogs = { attributes: [], scopeLogs: [] }
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (wireType === LEN) {
        if (field === 1) {
          this.resource(depth + 1, rl.attributes)
          continue
        }
        if (field === 2) {
          rl.scopeLogs.push(this.scopeLogs(depth + 1))
          continue
        }
        if (field === 3) {
          this.string() // schema_url
          continue
        }
      }
      r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    return rl
  }

  /** A Resource: its attributes are added to `attributes` (a second resource field merges into the first). */
  private resource(depth: number, attributes: Attributes): void {
    const r = this.r
    const outer = this.enter(depth)
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field === 1 && wireType === LEN) this.attribute(depth + 1, attributes)
      else if (field === 2 && wireType === VARINT) r.uint32() // dropped_attributes_count
      else if (field === 3 && wireType === LEN) this.entityRef(depth + 1)
      else r.skipType(wireType, depth, field)
    }
    this.leave(outer)
  }

  /** An EntityRef, read for its checks only. */
  private entityRef(depth: number): void {
    const r = this.r
    const outer = this.enter(depth)
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field >= 1 && field <= 4 && wireType === LEN) this.string()
      else r.skipType(wireType, depth, field)
    }
    this.leave(outer)
  }

  private scopeLogs(depth: number): WireScopeLogs {
    const r = this.r
    const outer = this.enter(depth)
    const sl: WireScopeLogs = { name: '', version: '', attributes: [], records: [] }
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (wireType === LEN) {
        if (field === 2) {
          sl.records.push(this.logRecord(depth + 1))
          continue
        }
        if (field === 1) {
          this.scope(depth + 1, sl)
          continue
        }
        if (field === 3) {
          this.string() // schema_url
          continue
        }
      }
      r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    return sl
  }

  /** An InstrumentationScope, into `sl` (a second scope field merges into the first). */
  private scope(depth: number, sl: WireScopeLogs): void {
    const r = this.r
    const outer = this.enter(depth)
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field === 1 && wireType === LEN) sl.name = this.string()
      else if (field === 2 && wireType === LEN) sl.version = this.string()
      else if (field === 3 && wireType === LEN) this.attribute(depth + 1, sl.attributes)
      else if (field === 4 && wireType === VARINT) r.uint32() // dropped_attributes_count
      else r.skipType(wireType, depth, field)
    }
    this.leave(outer)
  }

  private logRecord(depth: number): WireLogRecord {
    const r = this.r
    const outer = this.enter(depth)
    let timeLo = 0
    let timeHi = 0
    let observedLo = 0
    let observedHi = 0
    let severityNumber = 0
    let severityText = ''
    let bodyKind = Kind.None
    let body: Plain = null
    const attributes: Attributes = []
    let traceId = ''
    let spanId = ''
    let eventName = ''
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      switch (field) {
        case 6:
          if (wireType !== LEN) break
          this.attribute(depth + 1, attributes)
          continue
        case 1:
          if (wireType !== I64) break
          this.fixed64()
          timeLo = this.lo
          timeHi = this.hi
          continue
        case 11:
          if (wireType !== I64) break
          this.fixed64()
          observedLo = this.lo
          observedHi = this.hi
          continue
        case 2:
          if (wireType !== VARINT) break
          severityNumber = r.int32()
          continue
        case 3:
          if (wireType !== LEN) break
          severityText = this.string()
          continue
        case 5:
          if (wireType !== LEN) break
          body = this.anyValue(depth + 1, bodyKind, body)
          bodyKind = this.kind
          continue
        case 7:
          if (wireType !== VARINT) break
          r.uint32() // dropped_attributes_count
          continue
        case 8:
          if (wireType !== I32) break
          r.fixed32() // flags
          continue
        case 9:
          if (wireType !== LEN) break
          traceId = this.bytes('hex')
          continue
        case 10:
          if (wireType !== LEN) break
          spanId = this.bytes('hex')
          continue
        case 12:
          if (wireType !== LEN) break
          eventName = this.string()
          continue
      }
      r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    return {
      time: uint64Text(timeLo, timeHi),
      observed: timeLo !== 0 || timeHi !== 0 ? '' : uint64Text(observedLo, observedHi),
      severityNumber,
      severityText,
      message: bodyText(bodyKind, body),
      attributes,
      traceId,
      spanId,
      eventName,
    }
  }

  /** A KeyValue, added to `attributes`. */
  private attribute(depth: number, attributes: Attributes): void {
    const value = this.keyValue(depth)
    attributes.push(this.key, value)
  }

  /** A KeyValue: returns its value, and sets this.key. */
  private keyValue(depth: number): Plain {
    const r = this.r
    const outer = this.enter(depth)
    let key = ''
    let kind = Kind.None
    let value: Plain = null
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field === 1 && wireType === LEN) key = this.string()
      else if (field === 2 && wireType === LEN) {
        value = this.anyValue(depth + 1, kind, value)
        kind = this.kind
      } else if (field === 3 && wireType === VARINT) r.int32() // key_strindex
      else r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    this.key = key
    return value
  }

  /**
   * An AnyValue → its plain value: kvlist → object, array → array, bytes → base64, int64 →
   * number (or text beyond 2^53), NaN and infinities → their names; unset (and
   * string_value_strindex, an index into the profiles signal's string table that logs do not
   * have) → null. `kind` and `value` are what an earlier occurrence of the same field set (it
   * merges). Sets this.kind to the member set.
   */
  private anyValue(depth: number, kind: Kind, value: Plain): Plain {
    const r = this.r
    const outer = this.enter(depth)
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      switch (field) {
        case 1:
          if (wireType !== LEN) break
          value = this.string()
          kind = Kind.String
          continue
        case 2:
          if (wireType !== VARINT) break
          value = r.bool()
          kind = Kind.Bool
          continue
        case 3:
          if (wireType !== VARINT) break
          value = this.int64()
          kind = Kind.Int
          continue
        case 4:
          if (wireType !== I64) break
          value = doublePlain(r.double())
          kind = Kind.Double
          continue
        case 5:
          if (wireType !== LEN) break
          value = this.arrayValue(depth + 1, kind === Kind.Array ? (value as Plain[]) : [])
          kind = Kind.Array
          continue
        case 6:
          if (wireType !== LEN) break
          value = this.kvlistValue(depth + 1, kind === Kind.Kvlist ? (value as PlainObject) : emptyObject())
          kind = Kind.Kvlist
          continue
        case 7:
          if (wireType !== LEN) break
          value = this.bytes('base64')
          kind = Kind.Bytes
          continue
        case 8:
          if (wireType !== VARINT) break
          r.int32()
          value = null
          kind = Kind.Strindex
          continue
      }
      r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    this.kind = kind
    return value
  }

  private arrayValue(depth: number, values: Plain[]): Plain[] {
    const r = this.r
    const outer = this.enter(depth)
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field === 1 && wireType === LEN) values.push(this.anyValue(depth + 1, Kind.None, null))
      else r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    return values
  }

  /** A KeyValueList → an object of its keys as they are (putKey: a key given twice keeps both values). */
  private kvlistValue(depth: number, out: PlainObject): PlainObject {
    const r = this.r
    const outer = this.enter(depth)
    while (r.pos < r.len) {
      const tag = r.tag()
      const wireType = tag & 7
      const field = tag >>> 3
      if (field === 1 && wireType === LEN) {
        const value = this.keyValue(depth + 1)
        putKey(out, this.key, value)
      } else r.skipType(wireType, depth, field)
    }
    this.leave(outer)
    return out
  }
}

/** A body as a message: a string as it is, an int64 as its exact digits, anything else as JSON text; none (or an empty AnyValue) is ''. */
const bodyText = (kind: Kind, value: Plain): string => {
  switch (kind) {
    case Kind.None:
    case Kind.Strindex:
      return ''
    case Kind.String:
      return value as string
    case Kind.Int:
      return String(value)
    default:
      return JSON.stringify(value)
  }
}

/**
 * The resource logs of an ExportLogsServiceRequest in protobuf. Throws protobuf.js's own
 * errors (a RangeError "index out of range: …", "invalid wire type …", a TypeError for a string
 * that is not UTF-8, …) for a body it cannot read.
 */
export const readExportLogsRequest = (body: Uint8Array): WireResourceLogs[] =>
  new WireReader(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)).request()
