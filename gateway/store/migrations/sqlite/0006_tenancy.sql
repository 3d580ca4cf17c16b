-- Tenancy (docs/tenancy.md). Members hold a role in a tenant; admin tokens (hash only) act
-- as a member of one tenant, or globally; the audit log keeps every admin read and change.
-- Services are published per tenant in versions; apps subscribe to them. Consumer keys gain
-- an expiry (rotation overlap, temporary keys) and a temporary key's allowances (its caps are
-- lifetime budgets of the key).
-- `limits` is rebuilt to accept the 'service' scope (SQLite cannot alter a CHECK).
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
CREATE TABLE limits_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key', 'model', 'service')),
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    period_s INTEGER NOT NULL CHECK (period_s > 0),
    burst INTEGER NOT NULL CHECK (burst > 0),
    UNIQUE (scope, subject, kind, period_s)
);
INSERT INTO limits_new SELECT * FROM limits;
DROP TABLE limits;
ALTER TABLE limits_new RENAME TO limits;
