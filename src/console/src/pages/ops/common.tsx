import type { ComponentChildren } from 'preact'
import { ApiError, type Page, request } from '../../api.js'
import { CopyButton, formatTime } from '../../components/ui.js'

// What the operations pages (projects, alerts, keys, audit) share: whole listings read page by
// page, field errors of a 400 next to their fields, the once-only secret box, small formatters.

export interface Project {
  id: string
  name: string
  description: string | null
  retention_days: number
  daily_limit_mb: number
  ingest_token_prefix: string
  created_at: string
  updated_at: string
  /** only in the answers of create and rotate_token */
  ingest_token?: string
}

/** Every item of a paged listing (the API caps a page at 100), following the cursor. */
export const fetchAll = async <T,>(path: string, signal?: AbortSignal, query: Record<string, string | undefined> = {}): Promise<T[]> => {
  const out: T[] = []
  let cursor: string | null = null
  for (let i = 0; i < 100; i++) {
    const page: Page<T> = await request<Page<T>>('GET', path, { query: { ...query, limit: 100, cursor }, signal })
    out.push(...page.data)
    if (!page.has_more || !page.cursor) break
    cursor = page.cursor
  }
  return out
}

export const loadProjects = (signal?: AbortSignal): Promise<Project[]> => fetchAll<Project>('/logs/projects', signal)

/** field → message of a validation error (400/409 details), for showing next to the fields. */
export const fieldErrors = (error: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (error instanceof ApiError) for (const d of error.details) out[d.field] ??= d.message
  return out
}

/** The error of a form that no field shows: the banner for it. */
export const unplaced = (error: unknown, fields: string[]): unknown => {
  if (!(error instanceof ApiError) || error.details.length === 0) return error
  return error.details.every((d) => fields.includes(d.field)) ? undefined : error
}

export const FieldError = ({ errors, field }: { errors: Record<string, string>; field: string }) =>
  errors[field] ? (
    <span class="field-error" role="alert" data-testid="field-error" data-field={field}>
      {errors[field]}
    </span>
  ) : null

/** A secret the server shows once: the value, a copy button and the warning. */
export const SecretBox = ({ value, testId, children }: { value: string; testId: string; children?: ComponentChildren }) => (
  <div class="secret-once">
    <div class="secret">
      <code data-testid={testId}>{value}</code>
      <CopyButton text={value} />
    </div>
    <p class="once-note" role="note">
      <strong>Copy it now: you will not see this again.</strong> {children}
    </p>
  </div>
)

export const timeOrNever = (iso: string | null | undefined, never = '—') => (iso ? <time dateTime={iso}>{formatTime(iso)}</time> : <span class="muted">{never}</span>)

/** A positive integer typed into a number field, or the raw text (the server names what is wrong). */
export const intOf = (text: string): number | string => {
  const t = text.trim()
  return /^-?\d+$/.test(t) ? Number(t) : /^-?\d*\.\d+$/.test(t) ? Number(t) : t
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** The editable settings of a project, as the create and edit forms hold them (input text). */
export interface ProjectValues {
  name: string
  description: string
  retention: string
  limit: string
}

/** The fields of the project create and edit forms, each with its field error from a 400/409. */
export const ProjectFields = ({ values, onChange, errors, descriptionHint }: { values: ProjectValues; onChange: (patch: Partial<ProjectValues>) => void; errors: Record<string, string>; descriptionHint?: string }) => (
  <>
    <label>
      Name
      <input name="name" value={values.name} onInput={(e) => onChange({ name: e.currentTarget.value })} autoFocus aria-invalid={!!errors.name} />
      <FieldError errors={errors} field="name" />
    </label>
    <label>
      <span>
        Description {descriptionHint && <span class="hint">{descriptionHint}</span>}
      </span>
      <input name="description" value={values.description} onInput={(e) => onChange({ description: e.currentTarget.value })} aria-invalid={!!errors.description} />
      <FieldError errors={errors} field="description" />
    </label>
    <div class="form-row">
      <label>
        Retention (days, 1–90)
        <input name="retention_days" type="number" min={1} max={90} value={values.retention} onInput={(e) => onChange({ retention: e.currentTarget.value })} aria-invalid={!!errors.retention_days} />
        <FieldError errors={errors} field="retention_days" />
      </label>
      <label>
        Daily limit (MB)
        <input name="daily_limit_mb" type="number" min={1} value={values.limit} onInput={(e) => onChange({ limit: e.currentTarget.value })} aria-invalid={!!errors.daily_limit_mb} />
        <FieldError errors={errors} field="daily_limit_mb" />
      </label>
    </div>
  </>
)
