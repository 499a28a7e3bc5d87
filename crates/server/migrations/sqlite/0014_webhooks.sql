-- Webhooks (docs/external-games.md#webhooks): an API key's endpoints for party and game
-- events, and every delivery with its attempts. `secret` signs the bodies (HMAC-SHA256), so
-- it is kept as given out. `events` is space-separated. Deliveries of one webhook for one
-- party leave in `seq` order: one waits while an older one is pending.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    api_key TEXT NOT NULL,
    game TEXT,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE webhook_deliveries (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    webhook TEXT NOT NULL,
    party TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at_ms BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status, seq);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, seq);
