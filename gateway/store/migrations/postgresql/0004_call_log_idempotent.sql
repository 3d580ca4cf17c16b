-- A call record is stored once: a batch written again (its first try's outcome unknown, or read
-- again from a worker's journal after a crash) adds nothing that is already there
-- (gateway/calllog/journal.py). A unique index on a partitioned table holds its partition key.
CREATE UNIQUE INDEX calls_request_once ON calls (request_id, ts);
