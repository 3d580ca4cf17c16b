PRAGMA user_version = 2;
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
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('limits',1);
COMMIT;
