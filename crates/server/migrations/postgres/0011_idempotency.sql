-- The answers to mutating calls of the external-game API, by API key and the caller's
-- `Idempotency-Key`, so a retry is answered again and never applied twice. `fingerprint`
-- (SHA-256 of method, path and body) tells a retry from a different request reusing the
-- key. `status` is NULL while the first request is being applied. Rows are kept for the
-- retention window (a day), then swept.
CREATE TABLE idempotency (
    api_key TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT,
    body TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (api_key, idem_key)
);
CREATE INDEX idempotency_created ON idempotency (created_ms);
