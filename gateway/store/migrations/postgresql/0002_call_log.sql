-- The call log and its rollups (gateway/calllog): SQLite's migrations 3, 5 and 8 in one step.
-- Columns are CallRecord's fields. `calls` is partitioned by UTC day of `ts`: the writers create
-- each day's partition (calls_YYYYMMDD) before its first record, and retention drops whole days.
-- Row ids come from one sequence in the order batches commit (the writers take turns), so
-- following the log by id misses no record.
CREATE SEQUENCE calls_id_seq;
CREATE TABLE calls (
    id bigint NOT NULL DEFAULT nextval('calls_id_seq'),
    request_id text NOT NULL,
    ts double precision NOT NULL,
    ts_end double precision NOT NULL,
    tenant text NOT NULL DEFAULT '',
    app text NOT NULL DEFAULT '',
    key_id text NOT NULL DEFAULT '',
    route text NOT NULL DEFAULT '',
    model text NOT NULL DEFAULT '',
    served_model text NOT NULL DEFAULT '',
    provider text NOT NULL DEFAULT '',
    deployment text NOT NULL DEFAULT '',
    upstream_key text NOT NULL DEFAULT '',
    attempts text NOT NULL DEFAULT '[]',
    status integer NOT NULL,
    error_type text NOT NULL DEFAULT '',
    error_code text NOT NULL DEFAULT '',
    limit_scope text NOT NULL DEFAULT '',
    latency_ms double precision NOT NULL,
    upstream_ms double precision,
    ttfb_ms double precision,
    prompt_tokens bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cached_tokens bigint NOT NULL DEFAULT 0,
    total_tokens bigint NOT NULL DEFAULT 0,
    cost double precision NOT NULL DEFAULT 0,
    streamed boolean NOT NULL DEFAULT false,
    client text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    request_body text NOT NULL DEFAULT '',
    response_body text NOT NULL DEFAULT ''
) PARTITION BY RANGE (ts);
ALTER SEQUENCE calls_id_seq OWNED BY calls.id;
-- The indexes SQLite's log keeps, each with the id (listings order by time, then id), and the
-- id alone (following the log).
CREATE INDEX calls_ts ON calls (ts, id);
CREATE INDEX calls_tenant_ts ON calls (tenant, ts, id);
CREATE INDEX calls_request_id ON calls (request_id);
CREATE INDEX calls_errors_ts ON calls (ts, id) WHERE status >= 400;
CREATE INDEX calls_id ON calls (id);

CREATE TABLE call_rollups (
    grain integer NOT NULL,
    bucket bigint NOT NULL,
    tenant text NOT NULL,
    app text NOT NULL,
    key_id text NOT NULL,
    model text NOT NULL,
    provider text NOT NULL,
    deployment text NOT NULL,
    upstream_key text NOT NULL,
    status integer NOT NULL,
    calls bigint NOT NULL,
    errors bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    cached_tokens bigint NOT NULL,
    cost double precision NOT NULL,
    latency_ms_sum double precision NOT NULL,
    upstream_ms_sum double precision NOT NULL,
    h00 bigint NOT NULL, h01 bigint NOT NULL, h02 bigint NOT NULL, h03 bigint NOT NULL,
    h04 bigint NOT NULL, h05 bigint NOT NULL, h06 bigint NOT NULL, h07 bigint NOT NULL,
    h08 bigint NOT NULL, h09 bigint NOT NULL, h10 bigint NOT NULL, h11 bigint NOT NULL,
    h12 bigint NOT NULL, h13 bigint NOT NULL,
    PRIMARY KEY (grain, bucket, tenant, app, key_id, model, provider, deployment, upstream_key, status)
);
