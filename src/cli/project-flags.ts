import { Args, Flags } from '@oclif/core'

/** The editable project fields, shared by `project create` and `project update`. */
export const projectFieldFlags = {
  description: Flags.string({ description: 'Free-text description' }),
  'retention-days': Flags.integer({ description: 'Days to keep entries (1-90) [default: 7 on create]' }),
  'daily-limit-mb': Flags.integer({ description: 'Daily ingest limit in MB (> 0) [default: 500 on create]' }),
}

export const projectFields = (flags: { description?: string; 'retention-days'?: number; 'daily-limit-mb'?: number }) => ({
  ...(flags.description !== undefined ? { description: flags.description } : {}),
  ...(flags['retention-days'] !== undefined ? { retention_days: flags['retention-days'] } : {}),
  ...(flags['daily-limit-mb'] !== undefined ? { daily_limit_mb: flags['daily-limit-mb'] } : {}),
})

export const projectArg = { project: Args.string({ description: 'Project id or exact name', required: true }) }

export const PROJECT_COLUMNS = [
  { key: 'id', header: 'id' },
  { key: 'name', header: 'name' },
  { key: 'retention_days', header: 'retention' },
  { key: 'daily_limit_mb', header: 'limit mb' },
  { key: 'ingest_token_prefix', header: 'token' },
  { key: 'created_at', header: 'created' },
] as const
