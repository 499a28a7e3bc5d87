//! The records of the operator-facing API, kept in the rooms' database (SQLite or
//! PostgreSQL): API keys, the answers kept for `Idempotency-Key`s, external games and their
//! sessions, and webhooks with their deliveries. A server that keeps no rooms on disk keeps them in a private SQLite
//! database in memory, so there is one implementation, tested on both databases.
//!
//! These are few and rarely written, so they go straight to the pool, not through the rooms'
//! group-commit writer.

use crate::api_keys::{KeyRecord, Scope};
use crate::external::ExternalGame;
use crate::limits::Rate;
use crate::store::{Db, lite};
use arbiter_engine::StoreError;

/// Run `$body` on whichever database `$db` is: `$pool` is its pool, and `$q(SQL)` spells a
/// query (written for PostgreSQL) for it.
macro_rules! on_db {
    ($db:expr, |$pool:ident, $q:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => {
                let $q = |sql: &str| lite(sql);
                $body
            }
            Db::Postgres($pool) => {
                let $q = |sql: &str| sql.to_owned();
                $body
            }
        }
    };
}

/// Bind a key's columns, in [`KEY_COLUMNS`] order, to `$query`.
macro_rules! bind_key {
    ($query:expr, $key:expr) => {
        $query
            .bind(&$key.id)
            .bind(&$key.name)
            .bind(&$key.hash)
            .bind(scopes_text(&$key.scopes))
            .bind(&$key.game)
            .bind($key.rate.to_string())
            .bind(to_db($key.created_ms))
            .bind($key.expires_ms.map(to_db))
            .bind($key.revoked_ms.map(to_db))
            .bind($key.last_used_ms.map(to_db))
            .bind(&$key.rotated_from)
            .bind(&$key.replaced_by)
    };
}

mod sessions;
mod webhooks;

pub(crate) use sessions::{Located, Session, SessionPlayer, StateWrite};
pub(crate) use webhooks::{Delivery, Webhook};

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

/// Times are ms since the epoch; far below 2^63.
fn to_db(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn from_db(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

const KEY_COLUMNS: &str = "id, name, hash, scopes, game, rate, created_ms, expires_ms, \
     revoked_ms, last_used_ms, rotated_from, replaced_by";

/// A row of `api_keys`, as both databases decode it.
type KeyRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn key_from_row(row: KeyRow) -> Result<KeyRecord, StoreError> {
    let (id, name, hash, scopes, game, rate, created, expires, revoked, used, from, by) = row;
    let scopes = scopes
        .split_whitespace()
        .map(|s| Scope::parse(s).ok_or_else(|| err(format!("key {id}: unknown scope {s:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let rate: Rate = rate
        .parse()
        .map_err(|e| err(format!("key {id}: bad rate: {e}")))?;
    Ok(KeyRecord {
        id,
        name,
        hash,
        scopes,
        game,
        rate,
        created_ms: from_db(created),
        expires_ms: expires.map(from_db),
        revoked_ms: revoked.map(from_db),
        last_used_ms: used.map(from_db),
        rotated_from: from,
        replaced_by: by,
    })
}

fn scopes_text(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.join(" ")
}

/// What a rotation found.
pub(crate) enum Rotated {
    /// Done: the old key now ends at its grace period's end (or earlier, if it already did).
    Done(KeyRecord),
    /// No key has that id.
    Missing,
    /// The key is revoked or was already rotated; nothing was written.
    Refused(KeyRecord),
}

/// What a mutating call's `Idempotency-Key` found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Claim {
    /// The key is new: this request is applied, and its answer kept.
    Fresh,
    /// The same request was answered before: this answer (status, JSON body).
    Replay(u16, String),
    /// The key was used for a different request.
    Conflict,
    /// The same request is being applied right now.
    InProgress,
}

/// A handle on the records; cheap to clone.
#[derive(Clone)]
pub struct Records {
    db: Db,
}

impl Records {
    pub(crate) fn on(db: Db) -> Self {
        Self { db }
    }

    /// Records in a private database in memory, gone with the process.
    pub(crate) async fn memory() -> Result<Self, StoreError> {
        Ok(Self::on(Db::Sqlite(crate::store::memory_sqlite().await?)))
    }

    /// Keep a new key.
    pub(crate) async fn insert_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        on_db!(&self.db, |pool, q| {
            bind_key!(sqlx::query(&q(&sql)), key)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    /// One key, by id.
    pub(crate) async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, KeyRow>(&q(&sql))
                .bind(id)
                .fetch_optional(pool)
                .await
        });
        row.map_err(err)?.map(key_from_row).transpose()
    }

    /// Every key, oldest first.
    pub(crate) async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ms, id");
        let rows = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, KeyRow>(&q(&sql)).fetch_all(pool).await
        });
        rows.map_err(err)?.into_iter().map(key_from_row).collect()
    }

    /// Revoke a key at `at_ms` (a key revoked before keeps its first time). The key as it is
    /// now, or `None` if there is none with that id.
    pub(crate) async fn revoke(
        &self,
        id: &str,
        at_ms: u64,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let sql = "UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL";
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(to_db(at_ms))
                .bind(id)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        self.key(id).await
    }

    /// Replace key `old` by `new` (whose `rotated_from` names it): in one transaction, the old
    /// key learns its successor and ends at `grace_end_ms` at the latest, and the new one is
    /// kept. A revoked or already rotated key is refused.
    pub(crate) async fn rotate(
        &self,
        old: &str,
        new: &KeyRecord,
        grace_end_ms: u64,
    ) -> Result<Rotated, StoreError> {
        let retire = "UPDATE api_keys SET replaced_by = $1, \
             expires_ms = CASE WHEN expires_ms IS NULL OR expires_ms > $2 THEN $2 \
             ELSE expires_ms END \
             WHERE id = $3 AND revoked_ms IS NULL AND replaced_by IS NULL";
        let add = format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let retired = on_db!(&self.db, |pool, q| {
            let mut tx = pool.begin().await.map_err(err)?;
            let retired = sqlx::query(&q(retire))
                .bind(&new.id)
                .bind(to_db(grace_end_ms))
                .bind(old)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
            if retired == 1 {
                bind_key!(sqlx::query(&q(&add)), new)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)?;
            }
            retired
        });
        Ok(match (retired, self.key(old).await?) {
            (_, None) => Rotated::Missing,
            (1, Some(old)) => Rotated::Done(old),
            (_, Some(old)) => Rotated::Refused(old),
        })
    }

    /// Note that key `id` was used at `at_ms`.
    pub(crate) async fn touch(&self, id: &str, at_ms: u64) -> Result<(), StoreError> {
        let sql = "UPDATE api_keys SET last_used_ms = $1 WHERE id = $2";
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(to_db(at_ms))
                .bind(id)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    /// Take `idem` (of API key `key`) for a request with `fingerprint` at `now_ms`. A kept
    /// answer older than `retention_ms`, or a claim left unanswered for `abandon_ms` (its
    /// node died mid-request), no longer counts. Exactly one of concurrent claims is
    /// [`Claim::Fresh`]: the row's primary key decides.
    pub(crate) async fn claim(
        &self,
        key: &str,
        idem: &str,
        fingerprint: &str,
        now_ms: u64,
        retention_ms: u64,
        abandon_ms: u64,
    ) -> Result<Claim, StoreError> {
        let forget = "DELETE FROM idempotency WHERE api_key = $1 AND idem_key = $2 \
             AND (created_ms < $3 OR (status IS NULL AND created_ms < $4))";
        let take = "INSERT INTO idempotency (api_key, idem_key, fingerprint, status, body, \
             created_ms) VALUES ($1, $2, $3, NULL, NULL, $4) ON CONFLICT DO NOTHING";
        let read = "SELECT fingerprint, status, body FROM idempotency \
             WHERE api_key = $1 AND idem_key = $2";
        let (kept_after, live_after) = (
            to_db(now_ms.saturating_sub(retention_ms)),
            to_db(now_ms.saturating_sub(abandon_ms)),
        );
        let row = on_db!(&self.db, |pool, q| {
            sqlx::query(&q(forget))
                .bind(key)
                .bind(idem)
                .bind(kept_after)
                .bind(live_after)
                .execute(pool)
                .await
                .map_err(err)?;
            let taken = sqlx::query(&q(take))
                .bind(key)
                .bind(idem)
                .bind(fingerprint)
                .bind(to_db(now_ms))
                .execute(pool)
                .await
                .map_err(err)?
                .rows_affected();
            if taken == 1 {
                return Ok(Claim::Fresh);
            }
            sqlx::query_as::<_, (String, Option<i64>, Option<String>)>(&q(read))
                .bind(key)
                .bind(idem)
                .fetch_optional(pool)
                .await
                .map_err(err)?
        });
        Ok(match row {
            // Forgotten between the insert and the read: a race with a sweep; say busy.
            None => Claim::InProgress,
            Some((kept, _, _)) if kept != fingerprint => Claim::Conflict,
            Some((_, Some(status), body)) => Claim::Replay(
                u16::try_from(status).unwrap_or(500),
                body.unwrap_or_default(),
            ),
            Some((_, None, _)) => Claim::InProgress,
        })
    }

    /// Keep the answer to the request that claimed `idem`.
    pub(crate) async fn answered(
        &self,
        key: &str,
        idem: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE idempotency SET status = $1, body = $2 \
             WHERE api_key = $3 AND idem_key = $4";
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(i64::from(status))
                .bind(body)
                .bind(key)
                .bind(idem)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    /// Forget the claim on `idem` (its request failed on the server's side: a retry may
    /// apply it).
    pub(crate) async fn release(&self, key: &str, idem: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM idempotency WHERE api_key = $1 AND idem_key = $2";
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(key)
                .bind(idem)
                .execute(pool)
                .await
                .map_err(err)?;
        });
        Ok(())
    }

    /// Forget every kept answer made before `before_ms`.
    pub(crate) async fn sweep_idempotency(&self, before_ms: u64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM idempotency WHERE created_ms < $1";
        let swept = on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(to_db(before_ms))
                .execute(pool)
                .await
                .map_err(err)?
                .rows_affected()
        });
        Ok(swept)
    }

    /// Register `game`, or update the one with its id (its revision goes up by one): the
    /// game as it is now.
    pub(crate) async fn register_game(
        &self,
        game: &ExternalGame,
    ) -> Result<ExternalGame, StoreError> {
        let sql = format!(
            "INSERT INTO external_games ({GAME_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url, \
             min_players = excluded.min_players, max_players = excluded.max_players, \
             settings_schema = excluded.settings_schema, \
             revision = external_games.revision + 1, \
             registered_by = excluded.registered_by, updated_ms = excluded.updated_ms"
        );
        let schema = game.settings_schema.to_string();
        on_db!(&self.db, |pool, q| {
            sqlx::query(&q(&sql))
                .bind(&game.id)
                .bind(&game.name)
                .bind(&game.url)
                .bind(i64::from(game.min_players))
                .bind(i64::from(game.max_players))
                .bind(&schema)
                .bind(&game.registered_by)
                .bind(to_db(game.updated_ms))
                .execute(pool)
                .await
                .map_err(err)?;
        });
        self.game(&game.id)
            .await?
            .ok_or_else(|| err("the registered game is gone"))
    }

    /// One external game, by id.
    pub(crate) async fn game(&self, id: &str) -> Result<Option<ExternalGame>, StoreError> {
        let sql = format!("SELECT {GAME_COLUMNS} FROM external_games WHERE id = $1");
        let row = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, GameRow>(&q(&sql))
                .bind(id)
                .fetch_optional(pool)
                .await
        });
        row.map_err(err)?.map(game_from_row).transpose()
    }

    /// Every external game, by id.
    pub(crate) async fn games(&self) -> Result<Vec<ExternalGame>, StoreError> {
        let sql = format!("SELECT {GAME_COLUMNS} FROM external_games ORDER BY id");
        let rows = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, GameRow>(&q(&sql)).fetch_all(pool).await
        });
        rows.map_err(err)?.into_iter().map(game_from_row).collect()
    }
}

const GAME_COLUMNS: &str = "id, name, url, min_players, max_players, settings_schema, \
     revision, registered_by, created_ms, updated_ms";

/// A row of `external_games`.
type GameRow = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    i64,
    String,
    i64,
    i64,
);

fn game_from_row(row: GameRow) -> Result<ExternalGame, StoreError> {
    let (id, name, url, min, max, schema, revision, by, created, updated) = row;
    let settings_schema = serde_json::from_str(&schema)
        .map_err(|e| err(format!("external game {id}: bad settings schema: {e}")))?;
    Ok(ExternalGame {
        id,
        name,
        url,
        min_players: u32::try_from(min).unwrap_or(0),
        max_players: u32::try_from(max).unwrap_or(0),
        settings_schema,
        revision: from_db(revision),
        registered_by: by,
        created_ms: from_db(created),
        updated_ms: from_db(updated),
    })
}
