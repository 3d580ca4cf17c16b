-- The call log and its rollups (gateway/calllog). Columns are CallRecord's fields. A rollup
-- row sums one minute, hour or day (`grain` seconds) of calls with the same dimensions; h00..h13
-- count latencies per bucket of gateway/calllog/rollup.py's LATENCY_BOUNDS_MS.
CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    ts REAL NOT NULL,
    ts_end REAL NOT NULL,
    tenant TEXT NOT NULL DEFAULT '',
    app TEXT NOT NULL DEFAULT '',
    key_id TEXT NOT NULL DEFAULT '',
    route TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    served_model TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL DEFAULT '',
    deployment TEXT NOT NULL DEFAULT '',
    upstream_key TEXT NOT NULL DEFAULT '',
    attempts TEXT NOT NULL DEFAULT '[]',
    status INTEGER NOT NULL,
    error_type TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    limit_scope TEXT NOT NULL DEFAULT '',
    latency_ms REAL NOT NULL,
    upstream_ms REAL,
    ttfb_ms REAL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    streamed INTEGER NOT NULL DEFAULT 0,
    client TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_ts ON calls (ts);
CREATE INDEX calls_tenant_ts ON calls (tenant, ts);
CREATE INDEX calls_app_ts ON calls (app, ts);
CREATE INDEX calls_model_ts ON calls (model, ts);
CREATE INDEX calls_status_ts ON calls (status, ts);
CREATE INDEX calls_request_id ON calls (request_id);
CREATE TABLE call_rollups (
    grain INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    app TEXT NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    deployment TEXT NOT NULL,
    upstream_key TEXT NOT NULL,
    status INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cost REAL NOT NULL,
    latency_ms_sum REAL NOT NULL,
    upstream_ms_sum REAL NOT NULL,
    h00 INTEGER NOT NULL, h01 INTEGER NOT NULL, h02 INTEGER NOT NULL, h03 INTEGER NOT NULL,
    h04 INTEGER NOT NULL, h05 INTEGER NOT NULL, h06 INTEGER NOT NULL, h07 INTEGER NOT NULL,
    h08 INTEGER NOT NULL, h09 INTEGER NOT NULL, h10 INTEGER NOT NULL, h11 INTEGER NOT NULL,
    h12 INTEGER NOT NULL, h13 INTEGER NOT NULL,
    PRIMARY KEY (grain, bucket, tenant, app, key_id, model, provider, deployment, upstream_key, status)
) WITHOUT ROWID;
