import { AlertTestResult, BackupCreated, BackupListing, EngineStatus, IngestToken, IngestTokenWithSecret, JobList, pageEnvelope, ProjectWithIngestToken, RetentionRun, SearchAnswer, StatsAnswer } from '../api/schemas/index.js'

/*
 * The answers of the running serve the CLI reads: the API's own response schemas
 * (src/api/schemas), so the contract the routes serialize with is the one the CLI parses with.
 * A serve of another version that answers in another shape is found out here (server-client.ts
 * says so with both versions) instead of surfacing as `undefined` deep in a command.
 */
export const EngineFactsAnswer = EngineStatus
export const RetentionAnswer = RetentionRun
export const BackupAnswer = BackupCreated
export const BackupListAnswer = BackupListing.array()
export const AlertTestAnswer = AlertTestResult
export const RotatedProjectAnswer = ProjectWithIngestToken
export const JobsAnswer = JobList
export const IngestTokenCreatedAnswer = IngestTokenWithSecret
/** A page of GET /logs/projects/:id/tokens: the tokens and where the next page starts. */
export const IngestTokenPageAnswer = pageEnvelope(IngestToken).pick({ data: true, has_more: true, cursor: true })
/** Only what the export's matched count needs of GET /logs/stats (the `data` of its answer). */
export const StatsBucketsAnswer = StatsAnswer.shape.data.pick({ buckets: true })
/** A page of GET /logs/search as the CLI reads it: the entries and where the next page starts. */
export const SearchPageAnswer = SearchAnswer.pick({ data: true, has_more: true, cursor: true })
