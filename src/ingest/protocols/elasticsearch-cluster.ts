import { VERSION } from '../../version.js'

/**
 * What Elasticsearch answers to the calls shippers make before they send (the cluster info,
 * the license, the cluster health, and the setup of templates, lifecycle policies and data
 * streams), in Elasticsearch's own shapes. Krafter Logs presents itself as one 8.x node with
 * a basic license, keeps no templates, policies or data streams (a lookup is a 404, which
 * shippers take as "not there yet"; a creation is acknowledged and ignored), and stores every
 * index as a stream.
 */

/** The newest 8.x minor: Beats 8 refuse a cluster older than themselves unless told otherwise. */
export const ES_VERSION = {
  number: '8.19.0',
  lucene_version: '9.12.2',
  minimum_wire_compatibility_version: '7.17.0',
  minimum_index_compatibility_version: '7.0.0',
} as const

export const CLUSTER_NAME = 'krafter-logs'

export interface ClusterInfo {
  name: string
  cluster_name: string
  cluster_uuid: string
  version: {
    number: string
    build_flavor: 'default'
    build_type: string
    build_hash: string
    build_date: string
    build_snapshot: boolean
    lucene_version: string
    minimum_wire_compatibility_version: string
    minimum_index_compatibility_version: string
  }
  tagline: 'You Know, for Search'
}

/** GET /: clients read `version.number` (API level), `build_flavor` (not serverless) and the tagline. */
export const clusterInfo = (clusterUuid: string, startedAt: Date): ClusterInfo => ({
  name: CLUSTER_NAME,
  cluster_name: CLUSTER_NAME,
  cluster_uuid: clusterUuid,
  version: {
    number: ES_VERSION.number,
    build_flavor: 'default',
    build_type: 'krafter-logs',
    build_hash: `krafter-logs-${VERSION}`,
    build_date: startedAt.toISOString(),
    build_snapshot: false,
    lucene_version: ES_VERSION.lucene_version,
    minimum_wire_compatibility_version: ES_VERSION.minimum_wire_compatibility_version,
    minimum_index_compatibility_version: ES_VERSION.minimum_index_compatibility_version,
  },
  tagline: 'You Know, for Search',
})

export interface LicenseInfo {
  license: {
    status: 'active'
    uid: string
    type: 'basic'
    issue_date: string
    issue_date_in_millis: number
    max_nodes: number
    max_resource_units: null
    issued_to: string
    issuer: string
    start_date_in_millis: number
  }
}

/** GET /_license: Beats and Logstash refuse to send unless it is an active license (basic is Elasticsearch's free one). */
export const licenseInfo = (uid: string, issuedAt: Date): LicenseInfo => ({
  license: {
    status: 'active',
    uid,
    type: 'basic',
    issue_date: issuedAt.toISOString(),
    issue_date_in_millis: issuedAt.getTime(),
    max_nodes: 1000,
    max_resource_units: null,
    issued_to: CLUSTER_NAME,
    issuer: 'elasticsearch',
    start_date_in_millis: -1,
  },
})

export interface ClusterHealth {
  cluster_name: string
  status: 'green' | 'red'
  timed_out: boolean
  number_of_nodes: number
  number_of_data_nodes: number
  active_primary_shards: number
  active_shards: number
  relocating_shards: number
  initializing_shards: number
  unassigned_shards: number
  unassigned_primary_shards: number
  delayed_unassigned_shards: number
  number_of_pending_tasks: number
  number_of_in_flight_fetch: number
  task_max_waiting_in_queue_millis: number
  active_shards_percent_as_number: number
}

/**
 * GET /_cluster/health: red while the engine cannot store logs (as /healthz says degraded).
 * Elasticsearch answers 200 whatever the status; so does this.
 */
export const clusterHealth = (storing: boolean): ClusterHealth => ({
  cluster_name: CLUSTER_NAME,
  status: storing ? 'green' : 'red',
  timed_out: false,
  number_of_nodes: 1,
  number_of_data_nodes: 1,
  active_primary_shards: 0,
  active_shards: 0,
  relocating_shards: 0,
  initializing_shards: 0,
  unassigned_shards: 0,
  unassigned_primary_shards: 0,
  delayed_unassigned_shards: 0,
  number_of_pending_tasks: 0,
  number_of_in_flight_fetch: 0,
  task_max_waiting_in_queue_millis: 0,
  active_shards_percent_as_number: 100,
})

export interface CatHealthRow {
  epoch: string
  timestamp: string
  cluster: string
  status: string
  'node.total': string
  'node.data': string
  shards: string
  pri: string
  relo: string
  init: string
  unassign: string
  'unassign.pri': string
  pending_tasks: string
  max_task_wait_time: string
  active_shards_percent: string
}

/** GET /_cat/health (rsyslog's connection check): one row, as text (`v` adds the header line) or as JSON with `format=json`. */
export const catHealth = (storing: boolean, now: Date): CatHealthRow => ({
  epoch: String(Math.floor(now.getTime() / 1000)),
  timestamp: now.toISOString().slice(11, 19),
  cluster: CLUSTER_NAME,
  status: storing ? 'green' : 'red',
  'node.total': '1',
  'node.data': '1',
  shards: '0',
  pri: '0',
  relo: '0',
  init: '0',
  unassign: '0',
  'unassign.pri': '0',
  pending_tasks: '0',
  max_task_wait_time: '-',
  active_shards_percent: '100.0%',
})

/** The text of a _cat answer: the values separated by spaces, after the column names with `v`. */
export const catText = (row: CatHealthRow, header: boolean): string =>
  `${header ? `${Object.keys(row).join(' ')}\n` : ''}${Object.values(row).join(' ')}\n`

/** The answer to a creation this server acknowledges and ignores (templates, lifecycle policies, data streams). */
export const ACKNOWLEDGED = { acknowledged: true } as const
