-- The configuration a cluster shares: what SQLite's migrations 1, 2, 4, 6 and 7 hold, in
-- PostgreSQL's types. Ids are never reused (sequences): a limit's or budget's id names its
-- bucket or counter in each node's shared memory.
CREATE TABLE meta (key text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO meta (key, value) VALUES ('generation', 1);

-- Every bump of the generation is announced to the processes that follow it (LISTEN), on every
-- node, when the change commits.
CREATE FUNCTION aigw_generation_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('aigw_generation', NEW.value::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER meta_generation_notify AFTER UPDATE ON meta
    FOR EACH ROW WHEN (NEW.key = 'generation') EXECUTE FUNCTION aigw_generation_notify();

CREATE TABLE tenants (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at double precision NOT NULL
);
CREATE TABLE apps (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL,
    models text NOT NULL,
    created_at double precision NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE consumer_keys (
    id text PRIMARY KEY,
    app_id bigint NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    digest bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    name text,
    created_at double precision NOT NULL,
    revoked_at double precision,
    expires_at double precision,
    temporary integer NOT NULL DEFAULT 0,
    allowed text
);
CREATE INDEX consumer_keys_app ON consumer_keys (app_id);

CREATE TABLE limits (
    id bigserial PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('tenant', 'app', 'key', 'model', 'service')),
    subject text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('requests', 'tokens')),
    amount bigint NOT NULL CHECK (amount > 0),
    period_s bigint NOT NULL CHECK (period_s > 0),
    burst bigint NOT NULL CHECK (burst > 0),
    UNIQUE (scope, subject, kind, period_s)
);
CREATE TABLE budgets (
    id bigserial PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('tenant', 'app', 'key')),
    subject text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('requests', 'tokens', 'cost')),
    period text NOT NULL CHECK (period IN ('day', 'month', 'lifetime')),
    amount bigint NOT NULL CHECK (amount > 0),
    UNIQUE (scope, subject, kind, period)
);

-- Tenancy (docs/tenancy.md). "user" is quoted: PostgreSQL reserves the word.
CREATE TABLE members (
    tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    "user" text NOT NULL,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at double precision NOT NULL,
    PRIMARY KEY (tenant_id, "user")
);
CREATE TABLE admin_tokens (
    id text PRIMARY KEY,
    digest bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    "user" text NOT NULL,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE,
    created_at double precision NOT NULL,
    expires_at double precision,
    revoked_at double precision
);
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    ts double precision NOT NULL,
    actor text NOT NULL,
    token_id text NOT NULL,
    tenant text NOT NULL DEFAULT '',
    method text NOT NULL,
    path text NOT NULL,
    status integer NOT NULL,
    client text NOT NULL DEFAULT ''
);
CREATE INDEX audit_tenant_ts ON audit_log (tenant, ts);
CREATE TABLE services (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    approval integer NOT NULL DEFAULT 0,
    created_at double precision NOT NULL
);
CREATE TABLE service_versions (
    service_id bigint NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    version integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('model', 'prompt')),
    state text NOT NULL CHECK (state IN ('draft', 'published', 'deprecated', 'retired')),
    model_group text NOT NULL,
    spec text NOT NULL,
    deprecated_at double precision,
    sunset_at double precision,
    created_at double precision NOT NULL,
    PRIMARY KEY (service_id, version)
);
CREATE TABLE subscriptions (
    id bigserial PRIMARY KEY,
    service_id bigint NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    app_id bigint NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'revoked')),
    reason text NOT NULL DEFAULT '',
    decided_by text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    decided_at double precision,
    UNIQUE (service_id, app_id)
);

-- Provider keys added at runtime; the secret AES-GCM sealed under AIGW_SECRET_KEY.
CREATE TABLE upstream_keys (
    provider text NOT NULL,
    key_id text NOT NULL,
    sealed bytea NOT NULL,
    created_at double precision NOT NULL,
    rotated_at double precision,
    PRIMARY KEY (provider, key_id)
);
