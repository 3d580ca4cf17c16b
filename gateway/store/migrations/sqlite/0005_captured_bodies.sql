-- Captured request and response bodies (gateway/calllog/capture.py), redacted and capped.
ALTER TABLE calls ADD COLUMN request_body TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN response_body TEXT NOT NULL DEFAULT '';
