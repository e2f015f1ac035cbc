import { randomBytes } from 'node:crypto'
import { validationError, type FieldError } from '../../errors.js'
import { mayHoldSurrogates } from '../entry.js'
import { tooManyRecords, type DecodedRecord, type IngestResult } from '../pipeline.js'
import { mapDocument } from './elasticsearch-document.js'
import { forEachLine } from './ndjson.js'

/**
 * The Elasticsearch bulk API (POST /_bulk): NDJSON of action lines, each but `delete` followed
 * by its document line. Krafter Logs keeps logs append-only: `index` and `create` store their
 * document, `delete` and `update` are answered per item as refused. Every item is answered in
 * order under the action it used, so clients retry exactly what failed; only a body whose
 * pairing cannot be known (an action line that is not one) is refused whole, as Elasticsearch does.
 */

export type BulkAction = 'index' | 'create' | 'delete' | 'update'
const ACTIONS = new Set<string>(['index', 'create', 'delete', 'update'])
const WITH_DOCUMENT = new Set<string>(['index', 'create', 'update'])

/** Elasticsearch's own limit on `_id`. */
const MAX_ID_BYTES = 512

export interface BulkItem {
  action: BulkAction
  index: string
  id: string | null
  /** Entry column → the document field it came from (refusals name what the client sent). */
  sources?: Record<string, string>
}

export interface DecodedBulk {
  records: DecodedRecord[]
  items: BulkItem[]
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)

const EXPECTED_ACTION = 'is not an action line: expected {"index"|"create"|"delete"|"update": {…}} (each action but delete is followed by its document line)'

/** Ids for the items without one, like Elasticsearch's auto-generated ones: 20 URL-safe base64 characters each. */
const autoIds = (count: number): (() => string) => {
  const random = randomBytes(15 * count)
  let next = 0
  return () => random.toString('base64url', next, (next += 15))
}

interface Pending {
  item: BulkItem
  number: number
  /** The body line of the action. */
  line: number
  /** A refusal of the action's metadata, given once its document line is consumed. */
  refused?: FieldError
}

/** The action line's `_index` and `_id`, or what is wrong with them (answered for that item only). */
const actionMeta = (meta: Record<string, unknown>, urlIndex: string | undefined): { index: string; id: string | null; refused?: FieldError } => {
  const rawIndex = meta._index
  const rawId = meta._id
  const index = typeof rawIndex === 'string' && rawIndex !== '' ? rawIndex : (urlIndex ?? 'default')
  const id = typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId)) ? String(rawId) : null
  if (rawIndex != null && typeof rawIndex !== 'string') return { index, id, refused: { field: '_index', message: 'must be a string' } }
  if (rawId != null && id === null) return { index, id, refused: { field: '_id', message: 'must be a string' } }
  if (id !== null && Buffer.byteLength(id) > MAX_ID_BYTES) {
    return { index, id: null, refused: { field: '_id', message: `must be no longer than ${MAX_ID_BYTES} bytes` } }
  }
  return { index, id }
}

const documentRecord = (text: string | undefined, pending: Pending): DecodedRecord => {
  const { item, number } = pending
  if (pending.refused) return { number, refused: pending.refused }
  if (item.action === 'update') {
    return { number, refused: { field: 'action', message: 'update is not supported: logs are append-only, send index or create' } }
  }
  if (text === undefined) return { number, refused: { field: 'document', message: 'is not valid UTF-8' } }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    return { number, refused: { field: 'document', message: text.trim() === '' ? 'is empty' : 'is not valid JSON' } }
  }
  if (!isObject(document)) return { number, refused: { field: 'document', message: 'must be a JSON object' } }
  const mapped = mapDocument(document, item.index)
  if ('refused' in mapped) return { number, refused: mapped.refused }
  item.sources = mapped.sources
  return { number, value: mapped.entry, surrogates: mayHoldSurrogates(text) }
}

/**
 * A bulk body → one record per item (numbered by item, 1-based) and the items to answer.
 * `urlIndex` is the index of `/{index}/_bulk`, the default of every action without `_index`;
 * without either, the stream is `default`.
 */
export const decodeBulk = (body: Buffer, urlIndex: string | undefined, maxItems: number): DecodedBulk => {
  const records: DecodedRecord[] = []
  const items: BulkItem[] = []
  let pending: Pending | undefined
  forEachLine(body, (text, line) => {
    if (pending) {
      records.push(documentRecord(text, pending))
      pending = undefined
      return
    }
    if (text !== undefined && text.trim() === '') return
    let action: unknown
    try {
      action = text === undefined ? undefined : JSON.parse(text)
    } catch {
      // not JSON: answered below
    }
    const keys = isObject(action) ? Object.keys(action) : []
    const name = keys[0]
    if (keys.length !== 1 || !ACTIONS.has(name!) || !isObject((action as Record<string, unknown>)[name!])) {
      throw validationError(`line ${line}`, EXPECTED_ACTION)
    }
    if (items.length >= maxItems) throw tooManyRecords(maxItems)
    const { index, id, refused } = actionMeta((action as Record<string, Record<string, unknown>>)[name!]!, urlIndex)
    const item: BulkItem = { action: name as BulkAction, index, id }
    items.push(item)
    const number = items.length
    if (WITH_DOCUMENT.has(name!)) {
      pending = { item, number, line, refused }
      return
    }
    records.push({ number, refused: refused ?? { field: 'action', message: 'delete is not supported: logs are append-only' } })
  })
  if (pending) throw validationError(`line ${pending.line}`, `the ${pending.item.action} action has no document line after it`)
  return { records, items }
}

/** The shapes of the bulk answer (Elasticsearch's). */
export interface BulkItemAnswer {
  _index: string
  _id: string | null
  status: number
  _version?: number
  result?: 'created'
  _shards?: { total: number; successful: number; failed: number }
  error?: { type: string; reason: string }
}
export interface BulkAnswer {
  took: number
  errors: boolean
  items: Partial<Record<BulkAction, BulkItemAnswer>>[]
}

const SHARDS = { total: 1, successful: 1, failed: 0 }

/**
 * The Elasticsearch name of a refusal: about the action line (unsupported action, bad
 * `_index` or `_id`) it is an illegal argument; about the document, a parsing failure.
 */
const errorType = (field: string): string => (field === 'action' || field === '_index' || field === '_id' ? 'illegal_argument_exception' : 'document_parsing_exception')

/** A refusal in the client's terms: the document field it sent, not the entry column it became. */
const reasonOf = (error: FieldError, item: BulkItem): string => `${item.sources?.[error.field] ?? error.field} ${error.message}`

/** The answer to a decoded bulk once the pipeline stored what it accepted: one item per action, in order. */
export const bulkAnswer = (items: BulkItem[], result: IngestResult, took: number): BulkAnswer => {
  const refused = new Map((result.errors ?? []).map((e) => [e.line, e]))
  const autoId = autoIds(items.length)
  return {
    took,
    errors: refused.size > 0,
    items: items.map((item, i) => {
      const error = refused.get(i + 1)
      const answer: BulkItemAnswer = error
        ? { _index: item.index, _id: item.id, status: 400, error: { type: errorType(error.field), reason: reasonOf(error, item) } }
        : { _index: item.index, _id: item.id ?? autoId(), _version: 1, result: 'created', _shards: SHARDS, status: 201 }
      return { [item.action]: answer }
    }),
  }
}
