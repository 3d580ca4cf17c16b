-- Every index on `calls` is a B-tree insert on every request's record (~4k instructions
-- each in the writer). Listings walk `calls_ts` newest first and stop at a page, so app and
-- model filters need no index of their own (a tenant's token always adds the tenant, which
-- has one). Errors are the rare rows people filter for: a partial index holds only those.
DROP INDEX calls_app_ts;
DROP INDEX calls_model_ts;
DROP INDEX calls_status_ts;
CREATE INDEX calls_errors_ts ON calls (ts) WHERE status >= 400;
