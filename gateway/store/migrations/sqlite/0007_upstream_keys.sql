-- Provider keys added at runtime; the secret AES-GCM sealed (gateway/store/sealing.py).
CREATE TABLE upstream_keys (
    provider TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at REAL NOT NULL,
    rotated_at REAL,
    PRIMARY KEY (provider, key_id)
);
