PRAGMA user_version = 9;
BEGIN TRANSACTION;
CREATE TABLE admin_tokens (
        id TEXT PRIMARY KEY,
        digest BLOB NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        user TEXT NOT NULL,
        tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        expires_at REAL,
        revoked_at REAL
    );
INSERT INTO "admin_tokens" VALUES('tok_legacy',X'33BB076490C210710E50ECF19C2187D23872D1E67F10864996600D5E387A978D','aigw-admin-abcdef','ann',1,1767225600.0,NULL,NULL);
CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        models TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (tenant_id, name)
    );
INSERT INTO "apps" VALUES(1,1,'web','["*"]',1767225600.0);
CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        token_id TEXT NOT NULL,
        tenant TEXT NOT NULL DEFAULT '',
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        client TEXT NOT NULL DEFAULT ''
    );
INSERT INTO "audit_log" VALUES(1,1767225600.0,'ann','tok_legacy','acme','GET','/admin/keys',200,'127.0.0.1');
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
    , request_body TEXT NOT NULL DEFAULT '', response_body TEXT NOT NULL DEFAULT '', dropped_params TEXT NOT NULL DEFAULT '', clamped_params TEXT NOT NULL DEFAULT '');
INSERT INTO "calls" VALUES(1,'req_1_1',1767225605.0,1767225605.0125,'acme','web','key_legacy','chat','gpt-4o-mini','','','','','[]',200,'','','',12.5,NULL,NULL,3,4,0,7,0.001,0,'','','','','temperature, top_k','max_tokens');
CREATE TABLE consumer_keys (
        id TEXT PRIMARY KEY,
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        digest BLOB NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        name TEXT,
        created_at REAL NOT NULL,
        revoked_at REAL
    , expires_at REAL, temporary INTEGER NOT NULL DEFAULT 0, allowed TEXT);
INSERT INTO "consumer_keys" VALUES('key_legacy',1,X'125536E73472989195736B4665A83DFCB0296248D67A1274988ED781B03D0A02','aigw-legacy0','laptop',1767225600.0,NULL,NULL,0,NULL);
CREATE TABLE "limits" (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key', 'model', 'service')),
        subject TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        period_s INTEGER NOT NULL CHECK (period_s > 0),
        burst INTEGER NOT NULL CHECK (burst > 0),
        UNIQUE (scope, subject, kind, period_s)
    );
INSERT INTO "limits" VALUES(1,'app','acme/web','requests',10,60,10);
CREATE TABLE members (
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        user TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
        created_at REAL NOT NULL,
        PRIMARY KEY (tenant_id, user)
    );
INSERT INTO "members" VALUES(1,'ann','owner',1767225600.0);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO "meta" VALUES('generation',7);
CREATE TABLE service_versions (
        service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('model', 'prompt')),
        state TEXT NOT NULL CHECK (state IN ('draft', 'published', 'deprecated', 'retired')),
        model_group TEXT NOT NULL,
        spec TEXT NOT NULL,
        deprecated_at REAL,
        sunset_at REAL,
        created_at REAL NOT NULL,
        PRIMARY KEY (service_id, version)
    );
INSERT INTO "service_versions" VALUES(1,1,'model','published','gpt-4o-mini','{"prompt":null,"defaults":{}}',NULL,NULL,1767225600.0);
CREATE TABLE services (
        id INTEGER PRIMARY KEY,
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        approval INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
INSERT INTO "services" VALUES(1,1,'summarize','Summaries',1,1767225600.0);
CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'revoked')),
        reason TEXT NOT NULL DEFAULT '',
        decided_by TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        decided_at REAL,
        UNIQUE (service_id, app_id)
    );
INSERT INTO "subscriptions" VALUES(1,1,1,'approved','','',1767225600.0,NULL);
CREATE TABLE tenants (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
INSERT INTO "tenants" VALUES(1,'acme',1767225600.0);
CREATE TABLE upstream_keys (
        provider TEXT NOT NULL,
        key_id TEXT NOT NULL,
        sealed BLOB NOT NULL,
        created_at REAL NOT NULL,
        rotated_at REAL,
        PRIMARY KEY (provider, key_id)
    );
INSERT INTO "upstream_keys" VALUES('openai','legacy',X'4D5E2F1C872610C10D5D8ABFE61768B6AD8F01E8EC66133B503DE23E1DB66E02CB04EB4CD505134E69A2A55C',1767225600.0,NULL);
CREATE INDEX consumer_keys_app ON consumer_keys (app_id);
CREATE INDEX calls_ts ON calls (ts);
CREATE INDEX calls_tenant_ts ON calls (tenant, ts);
CREATE INDEX calls_request_id ON calls (request_id);
CREATE INDEX audit_tenant_ts ON audit_log (tenant, ts);
CREATE INDEX calls_errors_ts ON calls (ts) WHERE status >= 400;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('limits',1);
INSERT INTO "sqlite_sequence" VALUES('calls',1);
INSERT INTO "sqlite_sequence" VALUES('budgets',1);
INSERT INTO "sqlite_sequence" VALUES('audit_log',1);
COMMIT;
