-- The caller's parameters a target's rules dropped, or clamped to its range
-- (gateway/models/params.py), comma-separated: CallRecord.dropped_params and clamped_params.
ALTER TABLE calls ADD COLUMN dropped_params text NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN clamped_params text NOT NULL DEFAULT '';
