-- Tenants own apps; apps own consumer keys (hash only).
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
