/**
 * Versioned SQLite migrations: entry N brings the schema to user_version N + 1. Never edit a
 * released entry; add a new one.
 */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    project_ids TEXT,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT,
    created_at TEXT NOT NULL
  );

  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT,
    retention_days INTEGER NOT NULL,
    daily_limit_mb INTEGER NOT NULL,
    ingest_token_prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (team_id, name)
  );
  CREATE INDEX projects_team_created ON projects (team_id, created_at, id);

  CREATE TABLE ingest_tokens (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  );
  CREATE INDEX ingest_tokens_project ON ingest_tokens (project_id);

  CREATE TABLE streams (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    inserted_at TEXT NOT NULL,
    UNIQUE (project_id, name)
  );

  CREATE TABLE usage_daily (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    bytes_in INTEGER NOT NULL DEFAULT 0,
    entries INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, day)
  );
  `,  `
  CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    condition TEXT NOT NULL,
    channels TEXT NOT NULL,
    cooldown_minutes INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    last_evaluated_at TEXT,
    last_value REAL,
    last_error TEXT,
    last_fired_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX alert_rules_team_created ON alert_rules (team_id, created_at, id);
  CREATE INDEX alert_rules_project ON alert_rules (project_id);

  CREATE TABLE alert_events (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    matched INTEGER NOT NULL,
    total INTEGER NOT NULL,
    window_minutes INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    acknowledged_at TEXT,
    resolved_at TEXT,
    resolved_by TEXT
  );
  CREATE INDEX alert_events_rule_opened ON alert_events (rule_id, opened_at, id);
  CREATE INDEX alert_events_active ON alert_events (rule_id) WHERE status != 'resolved';

  CREATE TABLE alert_deliveries (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    event_id TEXT REFERENCES alert_events(id) ON DELETE CASCADE,
    notification_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms REAL NOT NULL,
    error TEXT,
    attempted_at TEXT NOT NULL
  );
  CREATE INDEX alert_deliveries_event ON alert_deliveries (event_id, attempted_at);
  CREATE INDEX alert_deliveries_rule ON alert_deliveries (rule_id, attempted_at);
  `,  `
  -- Operations history: retention runs, backups and restores, for status and backup list.
  CREATE TABLE ops_runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('retention', 'backup', 'restore')),
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok INTEGER,
    summary TEXT,
    error TEXT
  );
  CREATE INDEX ops_runs_kind_started ON ops_runs (kind, started_at);
  `,  `
  -- Who did what (management actions), for GET /audit-logs and audit list.
  CREATE TABLE audit_logs (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    request_id TEXT,
    details TEXT
  );
  CREATE INDEX audit_logs_team_at ON audit_logs (team_id, at, id);
  CREATE INDEX audit_logs_action_at ON audit_logs (team_id, action, at);
  `,  `
  -- Records the ingest pipeline refused (invalid, over the daily limit), per project and day:
  -- nothing refused is dropped silently, and operators see how much.
  ALTER TABLE usage_daily ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
  `,  `
  -- Redaction (API.md "Redaction rules"): custom rules, team-wide (project_id NULL) or per
  -- project, and the team's changes to the built-in rules (behavior, enabled).
  CREATE TABLE redaction_rules (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pattern TEXT,
    field_names TEXT,
    behavior TEXT NOT NULL,
    applies_to TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX redaction_rules_team ON redaction_rules (team_id, project_id, created_at);
  CREATE TABLE redaction_builtin_overrides (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    behavior TEXT,
    enabled INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (team_id, rule_id)
  );
  -- Values of this install: redaction_version, bumped by every rule change in the same
  -- transaction (serve compares it with the version its compiled rule sets were built from, so
  -- a change from any process applies within a second), and redaction_key, the HMAC key of
  -- hash (a secret that is not a token: kept here, 0600, so every backup carries it).
  CREATE TABLE install_state (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
  );
  INSERT INTO install_state (name, value) VALUES ('redaction_version', 0);
  `,  `
  -- Browser sessions (API.md "Web console and browser sessions"): the cookie's session id and
  -- the CSRF token are stored only as SHA-256. api_key_id NULL: a session minted by the local
  -- admin of this machine (a login link of \`krafter-logs open\`), acting with every scope.
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    api_key_id TEXT REFERENCES api_keys(id) ON DELETE CASCADE,
    csrf_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX sessions_key ON sessions (api_key_id);
  CREATE INDEX sessions_expires ON sessions (expires_at);
  -- One-time login links: redeemed once (used_at), within minutes, for the principal that asked.
  CREATE TABLE login_links (
    token_hash TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    api_key_id TEXT REFERENCES api_keys(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
  );
  `,  `
  -- Many ingest tokens per project (issue 17). kind: 'primary' is the project's primary token
  -- (made by project create or the last rotate_token), 'rotated' an earlier primary (revoked, or
  -- valid until the end of a rotation's grace period), 'named' one made by POST …/tokens, which
  -- rotate_token leaves alone. allowed_origins: the browser origins (JSON list) the token serves
  -- CORS to. last_used_at is written behind by serve, not once per request.
  ALTER TABLE ingest_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'rotated' CHECK (kind IN ('primary', 'rotated', 'named'));
  ALTER TABLE ingest_tokens ADD COLUMN name TEXT NOT NULL DEFAULT 'primary';
  ALTER TABLE ingest_tokens ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE ingest_tokens ADD COLUMN last_used_at TEXT;
  -- Each project's newest token so far is its primary (rotation always inserted the new one last).
  UPDATE ingest_tokens SET kind = 'primary'
  WHERE id IN (
    SELECT (SELECT t.id FROM ingest_tokens t WHERE t.project_id = p.id ORDER BY t.created_at DESC, t.rowid DESC LIMIT 1)
    FROM projects p
  );
  CREATE INDEX ingest_tokens_project_created ON ingest_tokens (project_id, created_at, id);
  `,
  `
  -- Anonymous streams (API.md "Anonymous streams"): found by the SHA-256 of the token the sender
  -- chose (the token, the stream's only secret, is never stored). id is the pseudo project id
  -- its events are stored under in the engine until a claim moves them. status: active (expiry
  -- is read from expires_at), moving (a claim is recorded and its move not finished: serve
  -- resumes it), claimed, expired (the cleanup removed its events). Counts are reserved before
  -- the engine insert and given back if it fails, so the caps hold across a crash.
  CREATE TABLE anonymous_streams (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'moving', 'claimed', 'expired')),
    event_count INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    -- The claim. No foreign key: a claim into a project deleted meanwhile still finishes (by
    -- removing what it copied), and a finished claim keeps answering its retries.
    claim_team_id TEXT,
    claim_project_id TEXT,
    claim_actor TEXT,
    claim_started_at TEXT,
    -- 1 once the claimed events were added to the project's usage (exactly once, see claim.ts).
    claim_usage_counted INTEGER NOT NULL DEFAULT 0,
    claimed_events INTEGER,
    claimed_at TEXT,
    -- When it was claimed or expired; the row is forgotten anonymous_streams.keep_finished_days later.
    finished_at TEXT
  );
  CREATE INDEX anonymous_streams_status ON anonymous_streams (status, expires_at);
  `,
]
