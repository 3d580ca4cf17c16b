-- Rate limits on tenants, apps, keys and model groups. Ids are never reused (AUTOINCREMENT):
-- an id names the limit's GCRA bucket in shared memory.
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
