-- Budgets of tenants, apps and consumer keys: `amount` requests, tokens or micro-USD per UTC
-- day, month or in all. Ids are never reused: an id names the budget's counter in shared memory,
-- and a changed amount keeps it (what was used stays used).
CREATE TABLE budgets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL CHECK (scope IN ('tenant', 'app', 'key')),
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('requests', 'tokens', 'cost')),
    period TEXT NOT NULL CHECK (period IN ('day', 'month', 'lifetime')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    UNIQUE (scope, subject, kind, period)
);
