import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import { emptyObject, putKey, type Plain, type PlainObject } from '../../src/ingest/protocols/otlp-metadata.js'
import { otlpSchema, type PbAnyValue, type PbExportLogsServiceRequest, type PbInt64, type PbKeyValue } from '../../src/ingest/protocols/otlp-schema.js'
import { int64Plain, readExportLogsRequest, uint64Text, type Attributes, type WireResourceLogs } from '../../src/ingest/protocols/otlp-wire.js'
import { decodeOtlpLogs, otlpWirePayload, partialSuccessOf } from '../../src/ingest/protocols/otlp.js'

// The protobuf wire reader (otlp-wire.ts) against protobuf.js's reflection decoder, which the
// OTLP route used before it: for any body, the same values or the same error.

// ---------------------------------------------------------------------------------------------
// The reference: protobuf.js's reflection decode, and the mapping the route had on top of it
// (as it was, from the reflection messages to the mapping's fields).

const TWO_32 = 4294967296

const refInt64Plain = (v: PbInt64): number | string => {
  if (typeof v === 'number') return v
  if (v.high >= -0x200000 && v.high < 0x200000) return v.high * TWO_32 + (v.low >>> 0)
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString()
}

const refUint64Text = (v: PbInt64): string => {
  if (typeof v === 'number') return String(v)
  if (v.high === 0) return String(v.low >>> 0)
  return ((BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString()
}

const bytesOf = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
const doublePlain = (d: number): number | string => (Number.isFinite(d) ? d : String(d))

const refPlain = (v: PbAnyValue | null | undefined): Plain => {
  if (!v) return null
  switch (v.value) {
    case 'stringValue':
      return v.stringValue
    case 'boolValue':
      return v.boolValue
    case 'intValue':
      return refInt64Plain(v.intValue)
    case 'doubleValue':
      return doublePlain(v.doubleValue)
    case 'bytesValue':
      return bytesOf(v.bytesValue).toString('base64')
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(refPlain)
    case 'kvlistValue': {
      const out = emptyObject()
      for (const kv of v.kvlistValue?.values ?? []) putKey(out, kv.key, refPlain(kv.value))
      return out
    }
    default:
      return null
  }
}

const refBodyText = (v: PbAnyValue | null | undefined): string => {
  switch (v?.value) {
    case undefined:
    case 'stringValueStrindex':
      return ''
    case 'stringValue':
      return v.stringValue
    case 'intValue':
      return String(refInt64Plain(v.intValue))
    default:
      return JSON.stringify(refPlain(v))
  }
}

const refAttributes = (values: PbKeyValue[]): Attributes => values.flatMap((kv) => [kv.key, refPlain(kv.value)])
const hexOf = (bytes: Uint8Array): string => (bytes.length === 0 ? '' : bytesOf(bytes).toString('hex'))

const reference = (body: Buffer): WireResourceLogs[] => {
  const request = otlpSchema().request.decode(body) as unknown as PbExportLogsServiceRequest
  return request.resourceLogs.map((rl) => ({
    attributes: refAttributes(rl.resource?.attributes ?? []),
    scopeLogs: rl.scopeLogs.map((sl) => ({
      name: sl.scope?.name ?? '',
      version: sl.scope?.version ?? '',
      attributes: refAttributes(sl.scope?.attributes ?? []),
      records: sl.logRecords.map((r) => {
        const time = refUint64Text(r.timeUnixNano)
        return {
          time,
          // The wire reader spells observed out only when there is no time (the mapping reads it only then).
          observed: time === '0' ? refUint64Text(r.observedTimeUnixNano) : '',
          severityNumber: r.severityNumber,
          severityText: r.severityText,
          message: refBodyText(r.body),
          attributes: refAttributes(r.attributes),
          traceId: hexOf(r.traceId),
          spanId: hexOf(r.spanId),
          eventName: r.eventName,
        }
      }),
    })),
  }))
}

type Outcome = { value: WireResourceLogs[] } | { error: string }

const outcome = (read: () => WireResourceLogs[]): Outcome => {
  try {
    return { value: read() }
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` }
  }
}

/** Both decoders on one body: the same values (key order included) or the same error. */
const expectSame = (body: Buffer, what: string): Outcome => {
  const want = outcome(() => reference(body))
  const got = outcome(() => readExportLogsRequest(body))
  expect(got, what).toStrictEqual(want)
  if ('value' in want && 'value' in got) {
    expect(JSON.stringify(got.value), what).toBe(JSON.stringify(want.value))
    // And the records the mapping makes of them.
    const [a, b] = [otlpWirePayload(got.value), otlpWirePayload(want.value)]
    expect(a.records, what).toStrictEqual(b.records)
    expect(JSON.stringify(a.records), what).toBe(JSON.stringify(b.records))
  }
  return want
}

// ---------------------------------------------------------------------------------------------
// Random bodies, written byte by byte: fields in any order, twice, with the wrong wire type,
// unknown (groups too), overlong varints, strings that are not UTF-8.

/** mulberry32: a seeded generator, so a failure can be replayed. */
const generator = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

class Wire {
  readonly bytes: number[] = []
  /** With `random`, a varint is now and then written longer than it needs (valid up to 10 bytes; not every reader takes it). */
  constructor(private readonly random?: () => number) {}
  varint(v: bigint): this {
    let x = BigInt.asUintN(64, v)
    const start = this.bytes.length
    do {
      const b = Number(x & 0x7fn)
      x >>= 7n
      this.bytes.push(x > 0n ? b | 0x80 : b)
    } while (x > 0n)
    if (this.random && this.random() < 0.002) {
      const pad = 1 + Math.floor(this.random() * 6)
      this.bytes[this.bytes.length - 1]! |= 0x80
      for (let i = 1; i < pad; i++) this.bytes.push(0x80)
      this.bytes.push(0)
      if (this.bytes.length - start > 11) this.bytes.length = start + 11
    }
    return this
  }
  tag(field: number, wireType: number): this {
    return this.varint(BigInt(field) * 8n + BigInt(wireType))
  }
  fixed32(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff)
    return this
  }
  fixed64(v: bigint): this {
    const x = BigInt.asUintN(64, v)
    return this.fixed32(Number(x & 0xffffffffn)).fixed32(Number(x >> 32n))
  }
  delimited(content: number[]): this {
    this.varint(BigInt(content.length))
    for (const b of content) this.bytes.push(b)
    return this
  }
}

type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'uint32' | 'int64' | 'double' | 'fixed32' | 'fixed64'
interface FieldSpec {
  n: number
  type: Scalar | MessageName
  repeated?: boolean
}
type MessageName = 'Request' | 'ResourceLogs' | 'Resource' | 'EntityRef' | 'ScopeLogs' | 'Scope' | 'LogRecord' | 'AnyValue' | 'ArrayValue' | 'KeyValueList' | 'KeyValue'

// The vendored protos' fields (proto/opentelemetry/proto/…), as the reader under test must read them.
const MESSAGES: Record<MessageName, FieldSpec[]> = {
  Request: [{ n: 1, type: 'ResourceLogs', repeated: true }],
  ResourceLogs: [{ n: 1, type: 'Resource' }, { n: 2, type: 'ScopeLogs', repeated: true }, { n: 3, type: 'string' }],
  Resource: [{ n: 1, type: 'KeyValue', repeated: true }, { n: 2, type: 'uint32' }, { n: 3, type: 'EntityRef', repeated: true }],
  EntityRef: [{ n: 1, type: 'string' }, { n: 2, type: 'string' }, { n: 3, type: 'string', repeated: true }, { n: 4, type: 'string', repeated: true }],
  ScopeLogs: [{ n: 1, type: 'Scope' }, { n: 2, type: 'LogRecord', repeated: true }, { n: 3, type: 'string' }],
  Scope: [{ n: 1, type: 'string' }, { n: 2, type: 'string' }, { n: 3, type: 'KeyValue', repeated: true }, { n: 4, type: 'uint32' }],
  LogRecord: [
    { n: 1, type: 'fixed64' },
    { n: 11, type: 'fixed64' },
    { n: 2, type: 'int32' },
    { n: 3, type: 'string' },
    { n: 5, type: 'AnyValue' },
    { n: 6, type: 'KeyValue', repeated: true },
    { n: 7, type: 'uint32' },
    { n: 8, type: 'fixed32' },
    { n: 9, type: 'bytes' },
    { n: 10, type: 'bytes' },
    { n: 12, type: 'string' },
  ],
  AnyValue: [
    { n: 1, type: 'string' },
    { n: 2, type: 'bool' },
    { n: 3, type: 'int64' },
    { n: 4, type: 'double' },
    { n: 5, type: 'ArrayValue' },
    { n: 6, type: 'KeyValueList' },
    { n: 7, type: 'bytes' },
    { n: 8, type: 'int32' },
  ],
  ArrayValue: [{ n: 1, type: 'AnyValue', repeated: true }],
  KeyValueList: [{ n: 1, type: 'KeyValue', repeated: true }],
  KeyValue: [{ n: 1, type: 'string' }, { n: 2, type: 'AnyValue' }, { n: 3, type: 'int32' }],
}

const WIRE_TYPE: Record<Scalar, number> = { string: 2, bytes: 2, bool: 0, int32: 0, uint32: 0, int64: 0, double: 1, fixed32: 5, fixed64: 1 }

// Keys that repeat (the string cache), dotted ones, ones that collide as paths, odd ones.
const KEYS = ['service.name', 'stream', 'http.method', 'http', 'http.status', 'a..b', '', '__proto__', 'user.id', 'k', 'abca', 'axca', 'αβ', 'x'.repeat(40)]
const PIECES = ['a', 'b', 'GET', 'eu-west-1', ' ', '.', 'é', 'ü', '€', '😀', '\ufeff', '\u0000', 'line\nbreak', '"q"', '0']

const randomString = (random: () => number): string => {
  const r = random()
  if (r < 0.3) return KEYS[Math.floor(random() * KEYS.length)]!
  if (r < 0.35) return ''
  const n = r < 0.9 ? Math.floor(random() * 8) : 20 + Math.floor(random() * 60)
  let s = ''
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(random() * PIECES.length)]!
  return s
}

const INTERESTING_64 = [0n, 1n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -1n, -(2n ** 53n), -(2n ** 53n) - 1n, -(2n ** 63n)]

const random64 = (random: () => number): bigint => {
  const r = random()
  if (r < 0.3) return INTERESTING_64[Math.floor(random() * INTERESTING_64.length)]!
  if (r < 0.5) return 1_700_000_000_000_000_000n + BigInt(Math.floor(random() * 1e15)) // epoch nanoseconds, 2023–2055
  if (r < 0.7) return BigInt(Math.floor(random() * 1e6)) - 500_000n
  return (BigInt(Math.floor(random() * TWO_32)) << 32n) | BigInt(Math.floor(random() * TWO_32))
}

const scalar = (w: Wire, type: Scalar, random: () => number): void => {
  switch (type) {
    case 'string':
      if (random() < 0.002) w.delimited([0x61, 0xff, 0xfe]) // not UTF-8
      else if (random() < 0.002) w.delimited([0xed, 0xa0, 0x80]) // a lone surrogate, encoded
      else w.delimited([...Buffer.from(randomString(random), 'utf8')])
      return
    case 'bytes':
      w.delimited(Array.from({ length: random() < 0.2 ? 0 : Math.floor(random() * 20) }, () => Math.floor(random() * 256)))
      return
    case 'bool':
      w.varint(random() < 0.1 ? 256n : BigInt(Math.floor(random() * 3)))
      return
    case 'int32':
      w.varint(BigInt(Math.floor(random() * 60) - 10))
      return
    case 'uint32':
      w.varint(BigInt(Math.floor(random() * 1000)))
      return
    case 'int64':
      w.varint(random64(random))
      return
    case 'double': {
      const specials = [NaN, Infinity, -Infinity, -0, 0, 1.5, 1e300, 5e-324]
      const d = random() < 0.3 ? specials[Math.floor(random() * specials.length)]! : (random() - 0.5) * 1e6
      const b = Buffer.alloc(8)
      b.writeDoubleLE(d)
      w.bytes.push(...b)
      return
    }
    case 'fixed32':
      w.fixed32(Math.floor(random() * TWO_32))
      return
    case 'fixed64':
      w.fixed64(random64(random))
      return
  }
}

/** Something unknown to skip: a field number the message does not have (or a reserved one), any wire type, a group now and then. */
const unknownField = (w: Wire, known: FieldSpec[], random: () => number): void => {
  let n = [4, 13, 99, 1000, 536870911][Math.floor(random() * 5)]!
  if (known.some((f) => f.n === n)) n = 20
  if (random() < 0.02) n = 0 // no field has number 0
  const wireType = random() < 0.01 ? [4, 6, 7][Math.floor(random() * 3)]! : [0, 1, 2, 5, 3][Math.floor(random() * (random() < 0.05 ? 5 : 4))]!
  w.tag(n, wireType)
  if (wireType === 0) w.varint(random64(random))
  else if (wireType === 1) w.fixed64(random64(random))
  else if (wireType === 2) w.delimited(Array.from({ length: Math.floor(random() * 10) }, () => Math.floor(random() * 256)))
  else if (wireType === 5) w.fixed32(Math.floor(random() * TWO_32))
  else if (wireType === 3) {
    w.tag(1, 0).varint(5n)
    w.tag(n, 4)
  }
}

const rawMessage = (name: MessageName, depth: number, random: () => number): number[] => {
  const w = new Wire(random)
  const fields = MESSAGES[name]
  const emits: (() => void)[] = []
  // An AnyValue mostly has one member (as senders write it), so that one given twice merges as one.
  const members = name === 'AnyValue' ? new Set(Array.from({ length: random() < 0.8 ? 1 : Math.floor(random() * 3) }, () => 1 + Math.floor(random() * 8))) : undefined
  for (const f of fields) {
    const nested = !(f.type in WIRE_TYPE)
    if (nested && depth > 5 && random() < 0.8) continue
    if (members && !members.has(f.n)) continue
    // Singular fields too come twice now and then: the last scalar wins, messages merge.
    const times = f.repeated ? Math.floor(random() * (depth < 3 ? 4 : 3)) : members ? 1 : random() < 0.55 ? 1 : random() < 0.7 ? 0 : 2
    for (let t = 0; t < times; t++) {
      emits.push(() => {
        if (nested) w.tag(f.n, 2).delimited(rawMessage(f.type as MessageName, depth + 1, random))
        else if (random() < 0.03) {
          // A known field with another wire type: protobuf.js skips it as an unknown field.
          const other = [0, 1, 2, 5].filter((x) => x !== WIRE_TYPE[f.type as Scalar])[Math.floor(random() * 3)]!
          w.tag(f.n, other)
          if (other === 0) w.varint(7n)
          else if (other === 1) w.fixed64(7n)
          else if (other === 2) w.delimited([0x61])
          else w.fixed32(7)
        } else {
          w.tag(f.n, WIRE_TYPE[f.type as Scalar])
          scalar(w, f.type as Scalar, random)
        }
      })
    }
  }
  const unknowns = random() < 0.15 ? 1 + Math.floor(random() * 2) : 0
  for (let u = 0; u < unknowns; u++) emits.push(() => unknownField(w, fields, random))
  // Any order: the encoders write fields in number order, the wire does not promise it.
  for (let i = emits.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[emits[i], emits[j]] = [emits[j]!, emits[i]!]
  }
  for (const emit of emits) emit()
  return w.bytes
}

// ---------------------------------------------------------------------------------------------
// Random requests as the SDKs write them: encoded with the reflection type.

const anyValueObject = (random: () => number, depth: number): Record<string, unknown> => {
  const kinds = depth > 3 ? 6 : 8
  switch (Math.floor(random() * kinds)) {
    case 0:
      return {}
    case 1:
      return { stringValue: randomString(random) }
    case 2:
      return { boolValue: random() < 0.5 }
    case 3:
      return { intValue: BigInt.asIntN(64, random64(random)).toString() }
    case 4:
      return { doubleValue: [NaN, -Infinity, -0, 0.1, 1e21, 12345.678][Math.floor(random() * 6)] }
    case 5:
      return random() < 0.5 ? { bytesValue: Buffer.from(randomString(random)) } : { stringValueStrindex: 3 }
    case 6:
      return { arrayValue: { values: Array.from({ length: Math.floor(random() * 4) }, () => anyValueObject(random, depth + 1)) } }
    default:
      return { kvlistValue: { values: keyValues(random, depth + 1, 4) } }
  }
}

const keyValues = (random: () => number, depth: number, max: number) =>
  Array.from({ length: Math.floor(random() * (max + 1)) }, () => ({ key: randomString(random), value: anyValueObject(random, depth) }))

const requestObject = (random: () => number): Record<string, unknown> => ({
  resourceLogs: Array.from({ length: Math.floor(random() * 3) }, () => ({
    ...(random() < 0.8 ? { resource: { attributes: keyValues(random, 0, 5), droppedAttributesCount: 2 } } : {}),
    scopeLogs: Array.from({ length: Math.floor(random() * 3) }, () => ({
      ...(random() < 0.7 ? { scope: { name: randomString(random), version: randomString(random), attributes: keyValues(random, 0, 2) } } : {}),
      logRecords: Array.from({ length: Math.floor(random() * 5) }, () => ({
        ...(random() < 0.8 ? { timeUnixNano: BigInt.asUintN(64, random64(random)).toString() } : {}),
        ...(random() < 0.5 ? { observedTimeUnixNano: BigInt.asUintN(64, random64(random)).toString() } : {}),
        ...(random() < 0.8 ? { severityNumber: Math.floor(random() * 30) } : {}),
        ...(random() < 0.7 ? { severityText: ['INFO', 'warn', 'Error', ' fatal ', 'LOUD', ''][Math.floor(random() * 6)] } : {}),
        ...(random() < 0.9 ? { body: anyValueObject(random, 0) } : {}),
        attributes: keyValues(random, 0, 6),
        ...(random() < 0.6 ? { traceId: Buffer.from(Array.from({ length: 16 }, () => Math.floor(random() * 256))), spanId: Buffer.from(Array.from({ length: 8 }, () => Math.floor(random() * 256))), flags: 1 } : {}),
        ...(random() < 0.2 ? { eventName: randomString(random) } : {}),
      })),
      schemaUrl: random() < 0.3 ? 'https://opentelemetry.io/schemas/1.26.0' : '',
    })),
  })),
})

const encodeRequest = (object: Record<string, unknown>): Buffer => {
  const { request } = otlpSchema()
  return Buffer.from(request.encode(request.fromObject(object)).finish())
}

/** A request of one record (its bytes given), written by hand. */
const requestOf = (record: number[]): Buffer => {
  const scopeLogs = new Wire().tag(2, 2).delimited(record).bytes
  const resourceLogs = new Wire().tag(2, 2).delimited(scopeLogs).bytes
  return Buffer.from(new Wire().tag(1, 2).delimited(resourceLogs).bytes)
}

/** An AnyValue nested `levels` arrays deep (written by hand: protobuf.js's fromObject stops at 100 levels too). */
const deepValue = (levels: number): number[] => {
  let value = new Wire().tag(1, 2).delimited([0x78]).bytes // {stringValue: 'x'}
  for (let i = 0; i < levels; i++) value = new Wire().tag(5, 2).delimited(new Wire().tag(1, 2).delimited(value).bytes).bytes
  return value
}

/** The record's body that deep (the body is the 5th message, 4 deep), or an attribute's value (6th). */
const deepBody = (levels: number): Buffer => requestOf(new Wire().tag(5, 2).delimited(deepValue(levels)).bytes)
const deepAttribute = (levels: number): Buffer => requestOf(new Wire().tag(6, 2).delimited(new Wire().tag(1, 2).delimited([0x6b]).tag(2, 2).delimited(deepValue(levels)).bytes).bytes)

// ---------------------------------------------------------------------------------------------

describe('numbers off the wire', () => {
  it('fixed64 → exact decimal text, without BigInt: as BigInt prints it, for edges and random values', () => {
    const random = generator(1)
    const values = [...INTERESTING_64.map((v) => BigInt.asUintN(64, v)), ...Array.from({ length: 20_000 }, () => BigInt.asUintN(64, random64(random)))]
    for (let e = 0n; e < 64n; e++) values.push(2n ** e - 1n, 2n ** e, 2n ** e + 1n)
    for (let e = 0n; e < 20n; e++) values.push(10n ** e - 1n, 10n ** e, 10n ** e + 1n)
    for (const v of values) {
      const u = BigInt.asUintN(64, v)
      expect(uint64Text(Number(u & 0xffffffffn), Number(u >> 32n)), `${u}`).toBe(u.toString())
    }
  })

  it('int64 → a number below 2^53 in magnitude (as the reflection decoder read it), else exact text', () => {
    const random = generator(2)
    const values = [...INTERESTING_64, ...Array.from({ length: 20_000 }, () => random64(random))]
    for (const v of values) {
      const u = BigInt.asUintN(64, v)
      const s = BigInt.asIntN(64, v)
      const want = s >= -(2n ** 53n) && s < 2n ** 53n ? Number(s) : s.toString()
      expect(int64Plain(Number(u & 0xffffffffn), Number(u >> 32n)), `${s}`).toBe(want)
    }
  })
})

describe('the wire reader reads what the reflection decoder reads', () => {
  it('random requests as the SDKs encode them (every AnyValue kind, nesting, big int64 and fixed64, empty messages): the same fields and records', () => {
    const random = generator(3)
    let records = 0
    for (let i = 0; i < 800; i++) {
      const body = encodeRequest(requestObject(random))
      const result = expectSame(body, `request ${i}`)
      if ('value' in result) records += result.value.reduce((n, rl) => n + rl.scopeLogs.reduce((m, sl) => m + sl.records.length, 0), 0)
      else throw new Error(`request ${i} did not decode: ${result.error}`)
    }
    expect(records).toBeGreaterThan(1200)
  })

  it('random wire bytes (any field order, fields twice, wrong wire types, unknown fields and groups, overlong varints, bad UTF-8): the same values or the same error', () => {
    const random = generator(4)
    let decoded = 0
    let refused = 0
    const errors = new Set<string>()
    for (let i = 0; i < 1500; i++) {
      const body = Buffer.from(rawMessage('Request', 0, random))
      const result = expectSame(body, `body ${i}: ${body.toString('hex').slice(0, 400)}`)
      if ('value' in result) decoded++
      else {
        refused++
        errors.add(result.error.replace(/\d+/g, 'N'))
      }
    }
    // Both ways exercised: most bodies decode, some are refused, for several reasons.
    expect(decoded).toBeGreaterThan(300)
    expect(refused).toBeGreaterThan(100)
    expect(errors.size).toBeGreaterThan(1)
  })

  it('damaged bodies (cut short, a byte changed, bytes added): the same values or the same error', () => {
    const random = generator(5)
    let refused = 0
    for (let i = 0; i < 1500; i++) {
      const good = random() < 0.5 ? encodeRequest(requestObject(random)) : Buffer.from(rawMessage('Request', 0, random))
      if (good.length === 0) continue
      const bad = Buffer.from(good)
      const how = random()
      let body: Buffer
      if (how < 0.35) body = bad.subarray(0, Math.floor(random() * bad.length))
      else if (how < 0.8) {
        bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256)
        body = bad
      } else body = Buffer.concat([bad, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * 256)))])
      if ('error' in expectSame(body, `body ${i}: ${body.toString('hex').slice(0, 400)}`)) refused++
    }
    expect(refused).toBeGreaterThan(300)
  })

  it('garbage: the same error', () => {
    const random = generator(6)
    for (let i = 0; i < 500; i++) {
      const body = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256)))
      expectSame(body, body.toString('hex'))
    }
    for (const hex of ['ff', 'ffffffffffffffffffffff', '0a', '0a05', '0a0500', '00', '0b', '0c', '0e', '0f', '0a020b00', '0a021a01']) expectSame(Buffer.from(hex, 'hex'), hex)
  })

  it('nesting: as deep as protobuf.js reads (100 messages), the same error one level deeper', () => {
    // The body AnyValue is 4 messages deep (request, resource logs, scope logs, record), each array 2 more.
    const results = [47, 48, 49, 50].map((levels) => expectSame(deepBody(levels), `${levels} levels`))
    expect(results.map((r) => 'value' in r)).toEqual([true, true, false, false])
    expect(results[2]).toEqual({ error: 'Error: max depth exceeded' })
    // One message deeper each: the limit falls between the other two.
    const attributes = [46, 47, 48].map((levels) => expectSame(deepAttribute(levels), `attribute ${levels} levels`))
    expect(attributes.map((r) => 'value' in r)).toEqual([true, true, false])
    // A group inside a group, past the limit, skipped as unknown fields are.
    const groups = new Wire().tag(1, 2)
    const inner = new Wire()
    for (let i = 0; i < 120; i++) inner.tag(7, 3)
    for (let i = 0; i < 120; i++) inner.tag(7, 4)
    groups.delimited(inner.bytes)
    expect(expectSame(Buffer.from(groups.bytes), 'groups')).toEqual({ error: 'Error: max depth exceeded' })
  })

  it('a singular field given twice: the last scalar wins (an empty one too), messages merge (repeated fields add up, an AnyValue keeps its last member)', () => {
    const str = (field: number, text: string) => new Wire().tag(field, 2).delimited([...Buffer.from(text)]).bytes
    const msg = (field: number, content: number[]) => new Wire().tag(field, 2).delimited(content).bytes
    const int = (n: bigint) => new Wire().tag(3, 0).varint(n).bytes
    const array = (...values: number[][]) => msg(5, values.flatMap((v) => msg(1, v)))
    const kvlist = (...pairs: [string, number[]][]) => msg(6, pairs.flatMap(([k, v]) => msg(1, [...str(1, k), ...msg(2, v)])))
    const body = (...values: number[][]) => values.flatMap((v) => msg(5, v))
    const time = (field: number, ns: bigint) => new Wire().tag(field, 1).fixed64(ns).bytes
    const cases: [string, number[], Record<string, unknown>][] = [
      ['string, then an empty AnyValue', body(str(1, 'a'), []), { message: 'a' }],
      ['two arrays', body(array(int(1n)), array(int(2n), int(3n))), { message: '[1,2,3]' }],
      ['array, string, array', body(array(int(1n)), str(1, 's'), array(int(2n))), { message: '[2]' }],
      ['two kvlists', body(kvlist(['a', int(1n)]), kvlist(['b', int(2n)], ['a', int(3n)])), { message: '{"a":1,"b":2,"a_2":3}' }],
      ['members in one AnyValue', body([...str(1, 'a'), ...int(7n)]), { message: '7' }],
      ['an array inside, twice', body(array([...array(int(1n)), ...array(int(2n))])), { message: '[[1,2]]' }],
      [
        'a KeyValue with two keys and two values',
        msg(6, [...str(1, 'k'), ...msg(2, array(int(1n))), ...str(1, 'k2'), ...msg(2, array(int(2n)))]),
        { attributes: ['k2', [1, 2]] },
      ],
      ['a KeyValue whose second key is empty', msg(6, [...str(1, 'k'), ...str(1, ''), ...msg(2, int(1n))]), { attributes: ['', 1] }],
      ['times: the last, a zero one too', [...time(1, 1_700_000_000_000_000_000n), ...time(11, 1_800_000_000_000_000_000n), ...time(1, 0n)], { time: '0', observed: '1800000000000000000' }],
      ['severity and ids: the last, an empty id too', [...new Wire().tag(2, 0).varint(9n).tag(2, 0).varint(17n).bytes, ...msg(9, [1, 2]), ...msg(9, []), ...msg(10, [0xab])], { severityNumber: 17, traceId: '', spanId: 'ab' }],
      ['a negative severity number', new Wire().tag(2, 0).varint(-3n).bytes, { severityNumber: -3 }],
    ]
    for (const [what, record, want] of cases) {
      const result = expectSame(requestOf(record), what)
      expect('value' in result && result.value[0]!.scopeLogs[0]!.records[0], what).toMatchObject(want)
    }
    // Resource and scope given twice merge too: attributes add up, the last name wins.
    const kv = (k: string, v: string) => msg(1, [...str(1, k), ...msg(2, str(1, v))])
    const scopeKv = (k: string, v: string) => msg(3, [...str(1, k), ...msg(2, str(1, v))])
    const scopeLogs = [...msg(1, [...str(1, 'first'), ...str(2, '1.0'), ...scopeKv('a', 'x')]), ...msg(2, []), ...msg(1, [...str(1, ''), ...scopeKv('b', 'y')])]
    const resourceLogs = [...msg(1, kv('service.name', 'one')), ...msg(2, scopeLogs), ...msg(1, kv('host', 'h'))]
    const result = expectSame(Buffer.from(msg(1, resourceLogs)), 'resource and scope twice')
    expect(result).toEqual({
      value: [{ attributes: ['service.name', 'one', 'host', 'h'], scopeLogs: [{ name: '', version: '1.0', attributes: ['a', 'x', 'b', 'y'], records: [expect.objectContaining({ time: '0' })] }] }],
    })
  })

  it('every field of every message, with every wire type and payloads good and bad (varints of 1 to 11 bytes, cut short, groups): the same values or the same error', () => {
    const msg = (field: number, content: number[]) => new Wire().tag(field, 2).delimited(content).bytes
    // The bytes of a request that holds `content` as one message of the kind named.
    const inside = (name: MessageName, content: number[]): number[] => {
      switch (name) {
        case 'Request':
          return content
        case 'ResourceLogs':
          return msg(1, content)
        case 'Resource':
          return inside('ResourceLogs', msg(1, content))
        case 'EntityRef':
          return inside('Resource', msg(3, content))
        case 'ScopeLogs':
          return inside('ResourceLogs', msg(2, content))
        case 'Scope':
          return inside('ScopeLogs', msg(1, content))
        case 'LogRecord':
          return inside('ScopeLogs', msg(2, content))
        case 'AnyValue':
          return inside('LogRecord', msg(5, content))
        case 'ArrayValue':
          return inside('AnyValue', msg(5, content))
        case 'KeyValueList':
          return inside('AnyValue', msg(6, content))
        case 'KeyValue':
          return inside('LogRecord', msg(6, content))
      }
    }
    const payloads: Record<number, number[][]> = {
      0: [
        ...Array.from({ length: 11 }, (_, k) => [...Array(k).fill(0xff), 0x01]),
        ...Array.from({ length: 11 }, (_, k) => [...Array(k).fill(0x80), 0x00]),
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 2^35: nothing in the low 32 bits
        [0x80], // cut: the message ends inside it
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      ],
      1: [[1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 0, 0xf0, 0x3f], [1, 2, 3, 4, 5, 6, 7]],
      2: [[0], [3, 0x61, 0x62, 0x63], [2, 0xc3, 0xbc], [2, 0xff, 0x61], [5, 0x61], [0x80], [0x80, 0x80, 0x80, 0x80, 0x10, 0]],
      5: [[1, 2, 3, 4], [1, 2, 3]],
      3: [[...new Wire().tag(1, 0).varint(1n).bytes], []], // a group: its end tag is added below, or left out
      4: [[]],
      6: [[]],
      7: [[]],
    }
    let cases = 0
    for (const name of Object.keys(MESSAGES) as MessageName[]) {
      for (const n of [...MESSAGES[name].map((f) => f.n), 15]) {
        for (const [wireType, list] of Object.entries(payloads)) {
          for (const payload of list) {
            const field = new Wire().tag(n, Number(wireType)).bytes.concat(payload)
            const contents = Number(wireType) === 3 ? [[...field, ...new Wire().tag(n, 4).bytes], field, [...field, ...new Wire().tag(n + 1, 4).bytes]] : [field, [...field, ...field]]
            for (const content of contents) {
              expectSame(Buffer.from(inside(name, content)), `${name} field ${n} wire type ${wireType}: ${Buffer.from(content).toString('hex')}`)
              cases++
            }
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(3000)
  })

  it('a message that ends inside one of its fields (a varint, a fixed64, a string): the same error', () => {
    // Each message declared shorter than its fields, cut at every byte: what is left over is read by the message around it.
    const contents: number[][] = [
      new Wire().tag(3, 0).varint(-1n).bytes, // a 10-byte int64
      new Wire().tag(3, 0).varint(2n ** 35n).bytes,
      new Wire().tag(2, 0).varint(2n ** 40n).bytes, // a long bool
      new Wire().tag(4, 1).fixed64(4607182418800017408n).bytes,
      new Wire().tag(1, 2).delimited([...Buffer.from('a string of some length, ü')]).bytes,
      new Wire().tag(7, 2).delimited([1, 2, 3, 4, 5, 6]).bytes,
      new Wire().tag(8, 0).varint(2n ** 33n).bytes, // an int32 in more than 5 bytes
      new Wire().tag(99, 3).tag(1, 0).varint(5n).tag(99, 4).bytes, // a group
    ]
    const records: number[][] = [
      new Wire().tag(1, 1).fixed64(1_700_000_000_123_456_789n).tag(8, 5).fixed32(1).tag(7, 0).varint(2n ** 32n + 5n).bytes,
      new Wire().tag(9, 2).delimited(Array.from({ length: 16 }, (_, i) => i)).tag(2, 0).varint(-1n).bytes,
    ]
    let cuts = 0
    for (const content of contents) {
      for (let declared = 0; declared < content.length; declared++) {
        const value = [...new Wire().tag(5, 2).varint(BigInt(declared)).bytes, ...content]
        expectSame(requestOf(value), `AnyValue ${Buffer.from(content).toString('hex')} declared ${declared}`)
        expectSame(requestOf(new Wire().tag(6, 2).delimited([...new Wire().tag(1, 2).delimited([0x6b]).bytes, ...value]).bytes), `KeyValue, declared ${declared}`)
        cuts++
      }
    }
    for (const record of records) {
      for (let declared = 0; declared < record.length; declared++) {
        const scopeLogs = [...new Wire().tag(2, 2).varint(BigInt(declared)).bytes, ...record]
        const resourceLogs = new Wire().tag(2, 2).delimited(scopeLogs).bytes
        expectSame(Buffer.from(new Wire().tag(1, 2).delimited(resourceLogs).bytes), `LogRecord ${Buffer.from(record).toString('hex')} declared ${declared}`)
        // And the body itself cut there.
        expectSame(Buffer.from([...new Wire().tag(1, 2).delimited(resourceLogs).bytes].slice(0, 4 + declared)), `cut at ${declared}`)
        cuts++
      }
    }
    expect(cuts).toBeGreaterThan(80)
  })

  it('strings are strict UTF-8 in every field, as proto3 wants (the same error); a BOM and every plane are kept', () => {
    const good = encodeRequest({
      resourceLogs: [{ resource: { attributes: [{ key: 'k', value: { stringValue: '\ufeffbom ü € 😀' } }] }, scopeLogs: [{ scope: { name: 'n' }, logRecords: [{ severityText: 'sev', eventName: 'evt', body: { stringValue: 'body' } }] }] }],
    })
    const value = expectSame(good, 'good')
    expect(value).toMatchObject({ value: [{ attributes: ['k', '\ufeffbom ü € 😀'] }] })
    for (const text of ['k', 'bom', 'n', 'sev', 'evt', 'body']) {
      const bad = Buffer.from(good)
      const at = bad.indexOf(text)
      bad[at] = 0xff
      expect(expectSame(bad, text)).toEqual({ error: 'TypeError: The encoded data was not valid for encoding utf-8' })
    }
  })

  it('short strings with the same length and ends share a cache slot and still read as themselves', () => {
    const keys = ['abca', 'axca', 'abca', 'ayca', 'axca', 'a\u00e9ca', 'abca']
    const body = encodeRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: keys.map((key) => ({ key, value: { stringValue: key } })) }] }] }] })
    expectSame(body, 'collisions')
    const [rl] = readExportLogsRequest(body)
    expect(rl!.scopeLogs[0]!.records[0]!.attributes).toEqual(keys.flatMap((k) => [k, k]))
  })
})

describe('the payload', () => {
  it('names refused records by their place in the request, spelt out only when asked', () => {
    const tooLate = '18446744073709551615' // 2^64 - 1 ns: after 2286, refused
    const record = (late: boolean) => ({ timeUnixNano: late ? tooLate : '1700000000000000000', body: { stringValue: late ? 'late' : 'ok' } })
    const body = encodeRequest({
      resourceLogs: [
        { scopeLogs: [{ logRecords: [record(false), record(true)] }, { logRecords: [] }, { logRecords: [record(true)] }] },
        { scopeLogs: [] },
        { scopeLogs: [{ logRecords: [record(false), record(false), record(true)] }] },
      ],
    })
    const payload = decodeOtlpLogs(body, 'protobuf')
    expect(payload.records.map((r) => (r.refused ? r.refused.field : 'ok'))).toEqual(['ok', 'timestamp', 'timestamp', 'ok', 'ok', 'timestamp'])
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => payload.placeOf(n))).toEqual([
      undefined,
      'resource_logs[0].scope_logs[0].log_records[0]',
      'resource_logs[0].scope_logs[0].log_records[1]',
      'resource_logs[0].scope_logs[2].log_records[0]',
      'resource_logs[2].scope_logs[0].log_records[0]',
      'resource_logs[2].scope_logs[0].log_records[1]',
      'resource_logs[2].scope_logs[0].log_records[2]',
      undefined,
    ])
    const errors = [2, 3, 6].map((line) => ({ line, field: 'timestamp', message: 'time_unix_nano is after the year 2286' }))
    expect(partialSuccessOf(payload, { accepted: 3, rejected: 3, errors })?.errorMessage).toBe(
      '3 of 6 log records refused: resource_logs[0].scope_logs[0].log_records[1]: timestamp time_unix_nano is after the year 2286; ' +
        'resource_logs[0].scope_logs[2].log_records[0]: timestamp time_unix_nano is after the year 2286; resource_logs[2].scope_logs[0].log_records[2]: timestamp time_unix_nano is after the year 2286',
    )
  })

  it('a body that cannot be read is a 400 on body before its record count is a 413', () => {
    const body = encodeRequest({ resourceLogs: [{ scopeLogs: [{ logRecords: [{}, {}, {}] }] }] })
    const status = (b: Buffer) => {
      try {
        decodeOtlpLogs(b, 'protobuf', 2)
        return 'decoded'
      } catch (err) {
        return `${(err as AppError).status} ${(err as AppError).details?.[0]?.field ?? ''}`
      }
    }
    expect(status(body)).toBe('413 ')
    expect(status(Buffer.concat([body, Buffer.from([0x0a, 0x05])]))).toBe('400 body')
    expect(status(body.subarray(0, body.length - 1))).toBe('400 body')
  })
})
