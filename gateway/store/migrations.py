"""Forward-only schema migrations for the SQLite store. Append; never edit a shipped step."""

MIGRATIONS: list[str] = [
    # 1: tenants own apps; apps own consumer keys (hash only).
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta (key, value) VALUES ('generation', 1);
    CREATE TABLE tenants (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );
    CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        models TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (tenant_id, name)
    );
    CREATE TABLE consumer_keys (
        id TEXT PRIMARY KEY,
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        digest BLOB NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        name TEXT,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE INDEX consumer_keys_app ON consumer_keys (app_id);
    """,
    # 2: rate limits on tenants, apps, keys and model groups. Ids are never reused (AUTOINCREMENT):
    # an id names the limit's GCRA bucket in shared memory.
    """
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
    """,
    # 3: the call log and its rollups (gateway/calllog). Columns are CallRecord's fields. A rollup
    # row sums one minute, hour or day (`grain` seconds) of calls with the same dimensions; h00..h13
    # count latencies per bucket of gateway/calllog/rollup.py's LATENCY_BOUNDS_MS.
    """
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
    """,
    # 4: budgets of tenants, apps and consumer keys: `amount` requests, tokens or micro-USD per UTC
    # day, month or in all. Ids are never reused: an id names the budget's counter in shared memory,
    # and a changed amount keeps it (what was used stays used).
    """
    CREATE TABLE budgets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key')),
        subject TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens', 'cost')),
        period TEXT NOT NULL CHECK (period IN ('day', 'month', 'lifetime')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        UNIQUE (scope, subject, kind, period)
    );
    """,
    # 5: captured request and response bodies (gateway/calllog/capture.py), redacted and capped.
    """
    ALTER TABLE calls ADD COLUMN request_body TEXT NOT NULL DEFAULT '';
    ALTER TABLE calls ADD COLUMN response_body TEXT NOT NULL DEFAULT '';
    """,
    # 6: tenancy (docs/tenancy.md). Members hold a role in a tenant; admin tokens (hash only) act
    # as a member of one tenant, or globally; the audit log keeps every admin read and change.
    # Services are published per tenant in versions; apps subscribe to them. Consumer keys gain
    # an expiry (rotation overlap, temporary keys) and a temporary key's allowances (its caps are
    # lifetime budgets of the key).
    # `limits` is rebuilt to accept the 'service' scope (SQLite cannot alter a CHECK).
    """
    CREATE TABLE members (
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        user TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
        created_at REAL NOT NULL,
        PRIMARY KEY (tenant_id, user)
    );
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
    CREATE INDEX audit_tenant_ts ON audit_log (tenant, ts);
    CREATE TABLE services (
        id INTEGER PRIMARY KEY,
        tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        approval INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
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
    ALTER TABLE consumer_keys ADD COLUMN expires_at REAL;
    ALTER TABLE consumer_keys ADD COLUMN temporary INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consumer_keys ADD COLUMN allowed TEXT;
    CREATE TABLE limits_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key', 'model', 'service')),
        subject TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        period_s INTEGER NOT NULL CHECK (period_s > 0),
        burst INTEGER NOT NULL CHECK (burst > 0),
        UNIQUE (scope, subject, kind, period_s)
    );
    INSERT INTO limits_v4 SELECT * FROM limits;
    DROP TABLE limits;
    ALTER TABLE limits_v4 RENAME TO limits;
    """,
    # 5: provider keys added at runtime; the secret AES-GCM sealed (gateway/store/sealing.py).
    """
    CREATE TABLE upstream_keys (
        provider TEXT NOT NULL,
        key_id TEXT NOT NULL,
        sealed BLOB NOT NULL,
        created_at REAL NOT NULL,
        rotated_at REAL,
        PRIMARY KEY (provider, key_id)
    );
    """,
    # 6: every index on `calls` is a B-tree insert on every request's record (~4k instructions
    # each in the writer). Listings walk `calls_ts` newest first and stop at a page, so app and
    # model filters need no index of their own (a tenant's token always adds the tenant, which
    # has one). Errors are the rare rows people filter for: a partial index holds only those.
    """
    DROP INDEX calls_app_ts;
    DROP INDEX calls_model_ts;
    DROP INDEX calls_status_ts;
    CREATE INDEX calls_errors_ts ON calls (ts) WHERE status >= 400;
    """,
]
