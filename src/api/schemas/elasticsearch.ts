import { z } from 'zod'
import type { BulkAnswer } from '../../ingest/protocols/elasticsearch.js'
import type { CatHealthRow, ClusterHealth, ClusterInfo, LicenseInfo } from '../../ingest/protocols/elasticsearch-cluster.js'
import type { Assert, Same } from './resources.js'

/**
 * The Elasticsearch-compatible endpoints (/es/…) answer in Elasticsearch's shapes, not the
 * envelope (their clients parse those); whole-request failures (401, 413, 429, 503) are still
 * the error envelope. Same schemas serialize and document them.
 */

const ItemAnswer = z
  .object({
    _index: z.string().meta({ description: 'The index, which is the stream the document went to' }),
    _id: z.string().nullable().meta({ description: 'The action’s `_id`, else one generated for the answer (not the entry id)' }),
    status: z.number().int().meta({ description: '201 stored; 400 refused (see `error`): retry only those you fix' }),
    _version: z.number().int().optional(),
    result: z.literal('created').optional(),
    _shards: z.object({ total: z.number().int(), successful: z.number().int(), failed: z.number().int() }).optional(),
    error: z
      .object({
        type: z.string().meta({ description: '`document_parsing_exception` (the document) or `illegal_argument_exception` (the action: delete and update are not supported)' }),
        reason: z.string().meta({ description: 'The document field at fault, then what is wrong with it' }),
      })
      .optional(),
  })
  .meta({ id: 'EsBulkItem' })

export const EsBulkResponse = z
  .object({
    took: z.number().int().meta({ description: 'Milliseconds the request took' }),
    errors: z.boolean().meta({ description: 'Whether any item was refused' }),
    items: z.array(
      z
        .object({ index: ItemAnswer.optional(), create: ItemAnswer.optional(), delete: ItemAnswer.optional(), update: ItemAnswer.optional() })
        .meta({ description: 'One per action, in order, under the action’s name' }),
    ),
  })
  .meta({ id: 'EsBulkResponse' })

export const EsClusterInfo = z
  .object({
    name: z.string(),
    cluster_name: z.string(),
    cluster_uuid: z.string(),
    version: z.object({
      number: z.string(),
      build_flavor: z.literal('default'),
      build_type: z.string(),
      build_hash: z.string(),
      build_date: z.string(),
      build_snapshot: z.boolean(),
      lucene_version: z.string(),
      minimum_wire_compatibility_version: z.string(),
      minimum_index_compatibility_version: z.string(),
    }),
    tagline: z.literal('You Know, for Search'),
  })
  .meta({ id: 'EsClusterInfo' })

export const EsLicense = z
  .object({
    license: z.object({
      status: z.literal('active'),
      uid: z.string(),
      type: z.literal('basic'),
      issue_date: z.string(),
      issue_date_in_millis: z.number().int(),
      max_nodes: z.number().int(),
      max_resource_units: z.null(),
      issued_to: z.string(),
      issuer: z.string(),
      start_date_in_millis: z.number().int(),
    }),
  })
  .meta({ id: 'EsLicense' })

export const EsClusterHealth = z
  .object({
    cluster_name: z.string(),
    status: z.enum(['green', 'red']).meta({ description: 'red while the engine cannot store logs' }),
    timed_out: z.boolean(),
    number_of_nodes: z.number().int(),
    number_of_data_nodes: z.number().int(),
    active_primary_shards: z.number().int(),
    active_shards: z.number().int(),
    relocating_shards: z.number().int(),
    initializing_shards: z.number().int(),
    unassigned_shards: z.number().int(),
    unassigned_primary_shards: z.number().int(),
    delayed_unassigned_shards: z.number().int(),
    number_of_pending_tasks: z.number().int(),
    number_of_in_flight_fetch: z.number().int(),
    task_max_waiting_in_queue_millis: z.number().int(),
    active_shards_percent_as_number: z.number(),
  })
  .meta({ id: 'EsClusterHealth' })

const CatHealthRowSchema = z.object({
  epoch: z.string(),
  timestamp: z.string(),
  cluster: z.string(),
  status: z.string(),
  'node.total': z.string(),
  'node.data': z.string(),
  shards: z.string(),
  pri: z.string(),
  relo: z.string(),
  init: z.string(),
  unassign: z.string(),
  'unassign.pri': z.string(),
  pending_tasks: z.string(),
  max_task_wait_time: z.string(),
  active_shards_percent: z.string(),
})
export const EsCatHealth = z
  .union([z.string(), z.array(CatHealthRowSchema)])
  .meta({ description: 'One row: text (with `v`, after a header line), or JSON with `format=json`', 'x-media-types': ['text/plain', 'application/json'] })

export const EsAcknowledged = z.object({ acknowledged: z.literal(true) }).meta({ id: 'EsAcknowledged' })

/** Elasticsearch's bulk parameters: accepted and ignored (refresh, routing and pipelines mean nothing here). */
export const EsBulkQuery = z.looseObject({
  refresh: z.string().optional(),
  pipeline: z.string().optional(),
  routing: z.string().optional(),
  timeout: z.string().optional(),
  wait_for_active_shards: z.string().optional(),
  require_alias: z.string().optional(),
  require_data_stream: z.string().optional(),
  filter_path: z.string().optional().meta({ description: 'Not applied: the whole answer is sent' }),
})

/** Query parameters of the cluster calls (`pretty`, `human`, `master_timeout`, …): accepted and ignored, but `v` and `format` of _cat. */
export const EsQuery = z.looseObject({})
export const EsCatQuery = z.looseObject({ v: z.string().optional(), format: z.string().optional() })

export const EsIndexParams = z.object({ index: z.string().min(1).max(200) })
export const EsNameParams = z.object({ name: z.string().min(1).max(255) })

// Compile-time: each schema has exactly the fields of the value it serializes (as resources.ts).
export type EsSchemaChecks = [
  Assert<Same<z.output<typeof EsBulkResponse>, BulkAnswer>>,
  Assert<Same<z.output<typeof EsClusterInfo>, ClusterInfo>>,
  Assert<Same<z.output<typeof EsLicense>, LicenseInfo>>,
  Assert<Same<z.output<typeof EsClusterHealth>, ClusterHealth>>,
  Assert<Same<z.output<typeof CatHealthRowSchema>, CatHealthRow>>,
]
