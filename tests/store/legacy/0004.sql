PRAGMA user_version = 4;
BEGIN TRANSACTION;
CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        models TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (tenant_id, name)
    );
INSERT INTO "apps" VALUES(1,1,'web','["*"]',1767225600.0);
CREATE TABLE budgets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key')),
        subject TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens', 'cost')),
        period TEXT NOT NULL CHECK (period IN ('day', 'month', 'lifetime')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        UNIQUE (scope, subject, kind, period)
    );
INSERT INTO "budgets" VALUES(1,'tenant','acme','tokens','month',1000000);
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
INSERT INTO "call_rollups" VALUES(60,1767225600,'acme','web','key_legacy','gpt-4o-mini','','','',200,1,0,3,4,0,0.001,12.5,0.0,0,0,1,0,0,0,0,0,0,0,0,0,0,0);
INSERT INTO "call_rollups" VALUES(3600,1767225600,'acme','web','key_legacy','gpt-4o-mini','','','',200,1,0,3,4,0,0.001,12.5,0.0,0,0,1,0,0,0,0,0,0,0,0,0,0,0);
INSERT INTO "call_rollups" VALUES(86400,1767225600,'acme','web','key_legacy','gpt-4o-mini','','','',200,1,0,3,4,0,0.001,12.5,0.0,0,0,1,0,0,0,0,0,0,0,0,0,0,0);
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
INSERT INTO "calls" VALUES(1,'req_1_1',1767225605.0,1767225605.0125,'acme','web','key_legacy','chat','gpt-4o-mini','','','','','[]',200,'','','',12.5,NULL,NULL,3,4,0,7,0.001,0,'','');
CREATE TABLE consumer_keys (
        id TEXT PRIMARY KEY,
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        digest BLOB NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        name TEXT,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
INSERT INTO "consumer_keys" VALUES('key_legacy',1,X'125536E73472989195736B4665A83DFCB0296248D67A1274988ED781B03D0A02','aigw-legacy0','laptop',1767225600.0,NULL);
CREATE TABLE limits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key', 'model')),
        subject TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        period_s INTEGER NOT NULL CHECK (period_s > 0),
        burst INTEGER NOT NULL CHECK (burst > 0),
        UNIQUE (scope, subject, kind, period_s)
    );
INSERT INTO "limits" VALUES(1,'app','acme/web','requests',10,60,10);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO "meta" VALUES('generation',7);
CREATE TABLE tenants (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
INSERT INTO "tenants" VALUES(1,'acme',1767225600.0);
CREATE INDEX consumer_keys_app ON consumer_keys (app_id);
CREATE INDEX calls_ts ON calls (ts);
CREATE INDEX calls_tenant_ts ON calls (tenant, ts);
CREATE INDEX calls_app_ts ON calls (app, ts);
CREATE INDEX calls_model_ts ON calls (model, ts);
CREATE INDEX calls_status_ts ON calls (status, ts);
CREATE INDEX calls_request_id ON calls (request_id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('limits',1);
INSERT INTO "sqlite_sequence" VALUES('calls',1);
INSERT INTO "sqlite_sequence" VALUES('budgets',1);
COMMIT;
