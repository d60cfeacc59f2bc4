/**
 * Deep analysis keeps three tables (docs/adr/0007-deep-analysis-in-dispatch.md):
 * - runs: the campaign's current calculation (one row per campaign), its kind and state;
 * - queue: one row per session of the campaign to analyse, claimed by one worker at a time;
 * - results: one row per session and metric, with the fingerprint of the metric's definition it answers.
 */
export const ANALYSIS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dispatch_analysis_runs (
    workspace_id text NOT NULL,
    campaign_id  text NOT NULL,
    run_id       text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('recalculate', 'continue', 'live')),
    yaml_version integer NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'stopped', 'done')),
    since        timestamptz,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    stopped_at   timestamptz,
    PRIMARY KEY (workspace_id, campaign_id)
  );
  CREATE TABLE IF NOT EXISTS dispatch_analysis_queue (
    workspace_id text NOT NULL,
    campaign_id  text NOT NULL,
    session_id   text NOT NULL,
    stream_id    text NOT NULL,
    run_id       text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('all', 'missing')),
    status       text NOT NULL CHECK (status IN ('pending', 'claimed', 'done', 'failed', 'cancelled')),
    attempts     integer NOT NULL DEFAULT 0,
    not_before   timestamptz NOT NULL DEFAULT now(),
    claimed_by   text,
    claimed_at   timestamptz,
    error        text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, session_id)
  );
  CREATE INDEX IF NOT EXISTS dispatch_analysis_queue_open ON dispatch_analysis_queue (not_before) WHERE status IN ('pending', 'claimed');
  CREATE INDEX IF NOT EXISTS dispatch_analysis_queue_run ON dispatch_analysis_queue (run_id, status);
  CREATE TABLE IF NOT EXISTS dispatch_analysis_results (
    workspace_id text NOT NULL,
    campaign_id  text NOT NULL,
    session_id   text NOT NULL,
    metric       text NOT NULL,
    fingerprint  text NOT NULL,
    yaml_version integer NOT NULL,
    value        jsonb,
    error        text,
    analysed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, session_id, metric)
  );
  CREATE INDEX IF NOT EXISTS dispatch_sessions_ended ON dispatch_sessions (campaign_id, ended_at) WHERE status = 'closed'`;
