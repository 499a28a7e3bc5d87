//! Webhooks and their deliveries (migration 0014).

use super::{Records, err, from_db, to_db};
use crate::store::{Db, lite};
use arbiter_engine::StoreError;
use serde::Serialize;

/// An endpoint an API key registered for events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Webhook {
    /// `wh_` and 16 hex digits.
    pub(crate) id: String,
    /// The API key that registered it (and may read its deliveries).
    pub(crate) api_key: String,
    /// Only this external game's events; `None`: every game's.
    pub(crate) game: Option<String>,
    /// Where deliveries go (`http://`).
    pub(crate) url: String,
    /// Signs the bodies; shown once, at registration.
    #[serde(skip)]
    pub(crate) secret: String,
    /// The events it wants.
    pub(crate) events: Vec<String>,
    /// When it was registered.
    pub(crate) created_ms: u64,
}

/// One event for one webhook, and how its delivery went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Delivery {
    /// Order of creation, over all webhooks.
    pub(crate) seq: u64,
    /// `dl_` and 16 hex digits; sent as `x-arbiter-delivery`.
    pub(crate) id: String,
    /// The webhook.
    pub(crate) webhook: String,
    /// The party the event is about.
    pub(crate) party: String,
    /// The event's name.
    pub(crate) event: String,
    /// The JSON body sent.
    pub(crate) body: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub(crate) status: String,
    /// Attempts made.
    pub(crate) attempts: u64,
    /// When the next attempt is due.
    pub(crate) next_at_ms: u64,
    /// The HTTP status of the last attempt.
    pub(crate) last_status: Option<u64>,
    /// Why the last attempt failed, when it did not get an answer.
    pub(crate) last_error: Option<String>,
    /// When the event happened.
    pub(crate) created_ms: u64,
    /// When an attempt succeeded.
    pub(crate) delivered_ms: Option<u64>,
}

type HookRow = (String, String, Option<String>, String, String, String, i64);

type DeliveryRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

const HOOK_COLUMNS: &str = "id, api_key, game, url, secret, events, created_ms";
const DELIVERY_COLUMNS: &str = "seq, id, webhook, party, event, body, status, attempts, \
     next_at_ms, last_status, last_error, created_ms, delivered_ms";

fn hook_from_row(row: HookRow) -> Webhook {
    let (id, api_key, game, url, secret, events, created) = row;
    Webhook {
        id,
        api_key,
        game,
        url,
        secret,
        events: events.split_whitespace().map(str::to_owned).collect(),
        created_ms: from_db(created),
    }
}

fn delivery_from_row(row: DeliveryRow) -> Delivery {
    let (seq, id, webhook, party, event, body, status, attempts, next, last, error, at, done) = row;
    Delivery {
        seq: from_db(seq),
        id,
        webhook,
        party,
        event,
        body,
        status,
        attempts: from_db(attempts),
        next_at_ms: from_db(next),
        last_status: last.map(from_db),
        last_error: error,
        created_ms: from_db(at),
        delivered_ms: done.map(from_db),
    }
}

impl Records {
    /// Keep a new webhook.
    pub(crate) async fn add_webhook(&self, hook: &Webhook) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO webhooks ({HOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        let events = hook.events.join(" ");
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(&sql))
                .bind(&hook.id)
                .bind(&hook.api_key)
                .bind(&hook.game)
                .bind(&hook.url)
                .bind(&hook.secret)
                .bind(&events)
                .bind(to_db(hook.created_ms))
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    /// Every webhook, oldest first.
    pub(crate) async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks ORDER BY created_ms, id");
        let rows = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, HookRow>(&q(&sql)).fetch_all(pool).await
        });
        Ok(rows.map_err(err)?.into_iter().map(hook_from_row).collect())
    }

    /// Queue `event` about `party` for `webhook`, due at `now_ms`.
    pub(crate) async fn enqueue(
        &self,
        id: &str,
        webhook: &str,
        party: &str,
        event: &str,
        body: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
             SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5, 'pending', 0, $6, NULL, \
             NULL, $6, NULL FROM webhook_deliveries"
        );
        // Two nodes may take the same next seq; the primary key refuses one, which tries again.
        let mut tries = 0;
        loop {
            let added = on_db!(&self.db, |pool, q| {
                sqlx::query(&q(&sql))
                    .bind(id)
                    .bind(webhook)
                    .bind(party)
                    .bind(event)
                    .bind(body)
                    .bind(to_db(now_ms))
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            });
            match added {
                Ok(_) => return Ok(()),
                Err(_) if tries < 3 => tries += 1,
                Err(e) => return Err(err(e)),
            }
        }
    }

    /// Every pending delivery, in order.
    pub(crate) async fn pending(&self) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE status = 'pending' \
             ORDER BY seq LIMIT 1000"
        );
        let rows = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, DeliveryRow>(&q(&sql))
                .fetch_all(pool)
                .await
        });
        Ok(rows
            .map_err(err)?
            .into_iter()
            .map(delivery_from_row)
            .collect())
    }

    /// A webhook's deliveries, newest first, at most `limit`.
    pub(crate) async fn deliveries(
        &self,
        webhook: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook = $1 \
             ORDER BY seq DESC LIMIT $2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, DeliveryRow>(&q(&sql))
                .bind(webhook)
                .bind(limit)
                .fetch_all(pool)
                .await
        });
        Ok(rows
            .map_err(err)?
            .into_iter()
            .map(delivery_from_row)
            .collect())
    }

    /// Note an attempt of delivery `seq`: its new status, when the next is due, and what the
    /// endpoint answered (or why it did not).
    pub(crate) async fn attempted(
        &self,
        seq: u64,
        status: &str,
        next_at_ms: u64,
        answer: Result<u16, String>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, \
             next_at_ms = $2, last_status = $3, last_error = $4, delivered_ms = $5 \
             WHERE seq = $6";
        let (last, error) = match answer {
            Ok(code) => (Some(i64::from(code)), None),
            Err(e) => (None, Some(e)),
        };
        let done = (status == "delivered").then_some(to_db(now_ms));
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(status)
                .bind(to_db(next_at_ms))
                .bind(last)
                .bind(&error)
                .bind(done)
                .bind(to_db(seq))
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }
}
