import { useState } from 'preact/hooks'
import { api, ApiError } from '../../api.js'
import { ErrorBanner, Panel, useSubmit } from '../../components/ui.js'
import type { AlertRule, Channel } from './alert-types.js'
import { AlertPreview } from './AlertPreview.js'
import { FieldError, fieldErrors, intOf, type Project } from './common.js'

type ChannelDraft = { type: 'email'; to: string } | { type: 'webhook'; url: string; secret: string; hasSecret: boolean }

const draftOf = (c: Channel): ChannelDraft => (c.type === 'email' ? { type: 'email', to: c.to.join(', ') } : { type: 'webhook', url: c.url, secret: '', hasSecret: true })

const channelOf = (d: ChannelDraft): Channel =>
  d.type === 'email'
    ? { type: 'email', to: d.to.split(/[\s,;]+/).filter(Boolean) }
    : // An empty secret keeps the rule's secret of that URL (or has one generated).
      { type: 'webhook', url: d.url.trim(), ...(d.secret ? { secret: d.secret } : {}) }

const PLACED = ['project_id', 'name', 'query', 'condition', 'condition.type', 'condition.threshold', 'condition.window_minutes', 'condition.threshold_percent', 'condition.min_entries', 'channels', 'cooldown_minutes', 'enabled']

/** Create or edit a rule, with the 24 h preview of what it would have done. */
export const AlertForm = ({ rule, projects, defaultProject, onClose, onSaved }: { rule?: AlertRule; projects: Project[]; defaultProject?: string; onClose: () => void; onSaved: (rule: AlertRule) => void }) => {
  const [projectId, setProjectId] = useState(rule?.project_id ?? defaultProject ?? projects[0]?.id ?? '')
  const [name, setName] = useState(rule?.name ?? '')
  const [query, setQuery] = useState(rule?.query ?? 'level:error')
  const [type, setType] = useState<'count' | 'rate'>(rule?.condition.type ?? 'count')
  const [threshold, setThreshold] = useState(rule?.condition.type === 'count' ? String(rule.condition.threshold) : '10')
  const [percent, setPercent] = useState(rule?.condition.type === 'rate' ? String(rule.condition.threshold_percent) : '5')
  const [minEntries, setMinEntries] = useState(rule?.condition.type === 'rate' ? String(rule.condition.min_entries) : '10')
  const [windowMinutes, setWindowMinutes] = useState(String(rule?.condition.window_minutes ?? 5))
  const [channels, setChannels] = useState<ChannelDraft[]>(rule ? rule.channels.map(draftOf) : [{ type: 'email', to: '' }])
  const [cooldown, setCooldown] = useState(String(rule?.cooldown_minutes ?? 15))
  const [enabled, setEnabled] = useState(rule?.enabled ?? true)
  const { busy, error, run } = useSubmit()
  const [created, setCreated] = useState<AlertRule>()
  const errors = fieldErrors(error)

  const condition =
    type === 'count'
      ? { type, threshold: intOf(threshold), window_minutes: intOf(windowMinutes) }
      : { type, threshold_percent: intOf(percent), window_minutes: intOf(windowMinutes), min_entries: intOf(minEntries) }
  const body = { project_id: projectId, name, query, condition, channels: channels.map(channelOf), cooldown_minutes: intOf(cooldown), enabled }
  const setChannel = (i: number, patch: Partial<ChannelDraft>) => setChannels((cs) => cs.map((c, j) => (j === i ? ({ ...c, ...patch } as ChannelDraft) : c)))
  const channelErrors = (i: number) => Object.entries(errors).filter(([f]) => f === `channels.${i}` || f.startsWith(`channels.${i}.`))

  // A created rule with a generated webhook secret: shown once, like a token.
  const secrets = created?.channels.filter((c): c is Extract<Channel, { type: 'webhook' }> => c.type === 'webhook' && !!c.secret) ?? []
  if (created)
    return (
      <Panel title="Rule created" onClose={onClose} testId="alert-created">
        <p>
          <strong>{created.name}</strong> is saved{created.enabled ? ' and evaluated from now on' : ' (disabled)'}.
        </p>
        {secrets.map((c) => (
          <div key={c.url}>
            <p>
              Webhook secret for <code>{c.url}</code> (verify <code>X-Krafter-Signature</code> with it):
            </p>
            <div class="secret-once">
              <div class="secret">
                <code data-testid="webhook-secret">{c.secret}</code>
              </div>
              <p class="once-note">You will not see this secret again.</p>
            </div>
          </div>
        ))}
        <div class="actions">
          <button type="button" class="btn primary" onClick={onClose}>
            Done
          </button>
        </div>
      </Panel>
    )

  return (
    <Panel title={rule ? `Edit ${rule.name}` : 'New alert rule'} onClose={onClose} testId="alert-form">
      <form
        noValidate
        onSubmit={run(async () => {
          if (rule) {
            onSaved(await api<AlertRule>('PUT', `/logs/alerts/${rule.id}`, { body }))
            onClose()
          } else {
            const saved = await api<AlertRule>('POST', '/logs/alerts', { body })
            onSaved(saved)
            if (saved.channels.some((c) => c.type === 'webhook' && c.secret)) setCreated(saved)
            else onClose()
          }
        })}
      >
        <div class="form-row">
          <label>
            Project
            <select name="project_id" value={projectId} onChange={(e) => setProjectId(e.currentTarget.value)} aria-invalid={!!errors.project_id}>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
            <FieldError errors={errors} field="project_id" />
          </label>
          <label>
            Name
            <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus aria-invalid={!!errors.name} placeholder="Checkout errors" />
            <FieldError errors={errors} field="name" />
          </label>
        </div>
        <label>
          Query <span class="hint">(the search language, e.g. <code>level:error service:checkout</code>)</span>
          <input name="query" class="mono" value={query} onInput={(e) => setQuery(e.currentTarget.value)} aria-invalid={!!errors.query} spellcheck={false} autoComplete="off" />
          <FieldError errors={errors} field="query" />
        </label>
        <fieldset class="choices row">
          <legend>Condition</legend>
          <label class="inline">
            <input type="radio" name="condition_type" value="count" checked={type === 'count'} onChange={() => setType('count')} data-testid="condition-count" />
            Count of matching entries
          </label>
          <label class="inline">
            <input type="radio" name="condition_type" value="rate" checked={type === 'rate'} onChange={() => setType('rate')} data-testid="condition-rate" />
            Share of all entries (rate)
          </label>
        </fieldset>
        <div class="form-row">
          {type === 'count' ? (
            <label>
              At least (entries)
              <input name="threshold" type="number" value={threshold} onInput={(e) => setThreshold(e.currentTarget.value)} aria-invalid={!!errors['condition.threshold']} />
              <FieldError errors={errors} field="condition.threshold" />
            </label>
          ) : (
            <>
              <label>
                At least (% of entries)
                <input name="threshold_percent" type="number" step="any" value={percent} onInput={(e) => setPercent(e.currentTarget.value)} aria-invalid={!!errors['condition.threshold_percent']} />
                <FieldError errors={errors} field="condition.threshold_percent" />
              </label>
              <label>
                Of at least (entries)
                <input name="min_entries" type="number" value={minEntries} onInput={(e) => setMinEntries(e.currentTarget.value)} aria-invalid={!!errors['condition.min_entries']} />
                <FieldError errors={errors} field="condition.min_entries" />
              </label>
            </>
          )}
          <label>
            Within (minutes)
            <input name="window_minutes" type="number" value={windowMinutes} onInput={(e) => setWindowMinutes(e.currentTarget.value)} aria-invalid={!!errors['condition.window_minutes']} />
            <FieldError errors={errors} field="condition.window_minutes" />
          </label>
          <label>
            Cooldown (minutes)
            <input name="cooldown_minutes" type="number" value={cooldown} onInput={(e) => setCooldown(e.currentTarget.value)} aria-invalid={!!errors.cooldown_minutes} />
            <FieldError errors={errors} field="cooldown_minutes" />
          </label>
        </div>
        <FieldError errors={errors} field="condition" />

        <AlertPreview body={body} ready={!!projectId && query.trim() !== ''} />

        <fieldset class="choices">
          <legend>Notify</legend>
          {channels.map((c, i) => (
            <div class="channel" key={i} data-testid="channel" data-type={c.type}>
              <div class="channel-head">
                <span>{c.type === 'email' ? 'Email' : 'Webhook'}</span>
                <button type="button" class="btn small ghost" aria-label={`Remove channel ${i + 1}`} onClick={() => setChannels((cs) => cs.filter((_, j) => j !== i))}>
                  Remove
                </button>
              </div>
              {c.type === 'email' ? (
                <label>
                  Addresses <span class="hint">(separated by commas)</span>
                  <input name={`channels.${i}.to`} type="text" value={c.to} onInput={(e) => setChannel(i, { to: e.currentTarget.value })} placeholder="oncall@example.com" autoComplete="off" />
                </label>
              ) : (
                <>
                  <label>
                    URL
                    <input name={`channels.${i}.url`} type="url" value={c.url} onInput={(e) => setChannel(i, { url: e.currentTarget.value })} placeholder="https://hooks.example.com/krafter" />
                  </label>
                  <label>
                    Secret <span class="hint">({c.hasSecret ? 'empty: keep the current one' : 'optional, 8–256 characters; empty: generated and shown once'})</span>
                    <input name={`channels.${i}.secret`} type="password" autoComplete="new-password" value={c.secret} onInput={(e) => setChannel(i, { secret: e.currentTarget.value })} />
                  </label>
                </>
              )}
              {channelErrors(i).map(([f, m]) => (
                <span class="field-error" role="alert" key={f} data-testid="field-error" data-field={f}>
                  {f.replace(`channels.${i}.`, '')}: {m}
                </span>
              ))}
            </div>
          ))}
          <FieldError errors={errors} field="channels" />
          <div class="toolbar">
            <button type="button" class="btn small" data-testid="add-email" onClick={() => setChannels((cs) => [...cs, { type: 'email', to: '' }])} disabled={channels.length >= 10}>
              + Email
            </button>
            <button type="button" class="btn small" data-testid="add-webhook" onClick={() => setChannels((cs) => [...cs, { type: 'webhook', url: '', secret: '', hasSecret: false }])} disabled={channels.length >= 10}>
              + Webhook
            </button>
          </div>
        </fieldset>
        <label class="inline">
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Enabled
        </label>
        <ErrorBanner error={unplacedAlert(error)} />
        <div class="actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy} data-testid="alert-save">
            {rule ? 'Save' : 'Create rule'}
          </button>
        </div>
      </form>
    </Panel>
  )
}

const unplacedAlert = (error: unknown): unknown => {
  if (!(error instanceof ApiError) || error.details.length === 0) return error
  return error.details.every((d) => PLACED.includes(d.field) || d.field.startsWith('channels.')) ? undefined : error
}
