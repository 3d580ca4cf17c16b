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
]
