//! Durable storage for rooms on SQLite (the embedded default) or PostgreSQL.
//!
//! One writer task owns all writes. It takes every write waiting at that moment — from any
//! number of rooms — and commits them in one transaction, so many rooms share one fsync
//! (group commit). Each caller is answered only after that commit. Reads go straight to the
//! pool.

use crate::metrics::{STORE_COMMIT_SECONDS, STORE_COMMIT_WRITES, STORE_ERRORS};
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{
    Archive, CHAT_KEPT, ChatChange, CreateKey, GameResult, Loaded, LogEntry, ResultsOf, Snapshot,
    Store, StoreError, StoreFuture, StoredChat, StoredRoom,
};
use metrics::{counter, histogram};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Row, Sqlite, Transaction};
use std::path::Path;
use std::str::FromStr;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed in one transaction.
const GROUP: usize = 1024;

/// The database behind the store.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

enum Write {
    Create(StoredRoom),
    Append {
        room: String,
        fence: u64,
        entries: Vec<LogEntry>,
        results: Vec<GameResult>,
        snapshot: Option<Snapshot>,
    },
    Archive {
        room: String,
        fence: u64,
        why: Archive,
        at_ms: u64,
    },
    Chat {
        room: String,
        fence: u64,
        change: ChatChange,
    },
}

impl Write {
    /// The operation, as [`STORE_ERRORS`] labels it.
    fn op(&self) -> &'static str {
        match self {
            Write::Create(_) => "create",
            Write::Append { .. } => "append",
            Write::Archive { .. } => "archive",
            Write::Chat { .. } => "chat",
        }
    }
}

/// A store on SQLite or PostgreSQL with group commit.
pub struct SqlStore {
    db: Db,
    writes: mpsc::Sender<(Write, oneshot::Sender<Result<(), StoreError>>)>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(e.to_string())
}

/// Count a failure of operation `op` in [`STORE_ERRORS`]. A fenced write or a code already
/// taken is the store's answer, not a failure.
fn counted<T>(op: &'static str, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if let Err(StoreError::Failed(_)) = &result {
        counter!(STORE_ERRORS, "op" => op).increment(1);
    }
    result
}

/// u64 values (versions, seeds, hashes) go into BIGINT columns bit for bit.
fn to_db(x: u64) -> i64 {
    x as i64
}

fn from_db(x: i64) -> u64 {
    x as u64
}

/// A version used as a bound in a query. Stored versions are far below 2^63, where
/// `to_db`'s bit cast keeps their order; a larger bound (from a client) must compare as
/// larger than all of them, not wrap to a negative number.
fn bound(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqlStore {
    /// Open (creating and migrating as needed) the database at `url`: `sqlite://path` or
    /// `postgres://…`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        // A node paused mid-commit (SIGSTOP, a long GC, a partition) holds its
                        // rooms' row locks: PostgreSQL ends its session after 5 s idle in the
                        // transaction, releasing them (the commit then fails, nothing is
                        // acknowledged), and a takeover's claim waits at most 2 s for a lock
                        // before giving up until the next sweep.
                        conn.execute(
                            "SET idle_in_transaction_session_timeout = '5s'; SET lock_timeout = '2s'",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await
                .map_err(|e| StoreError::Failed(format!("cannot connect to PostgreSQL: {e}")))?;
            sqlx::migrate!("./migrations/postgres")
                .run(&pool)
                .await
                .map_err(|e| StoreError::Failed(format!("PostgreSQL migration failed: {e}")))?;
            Db::Postgres(pool)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Db::Sqlite(open_sqlite(Path::new(path)).await?)
        } else {
            return Err(StoreError::Failed(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
            )));
        };
        let (writes, rx) = mpsc::channel(8192);
        tokio::spawn(writer(db.clone(), rx));
        Ok(Self { db, writes })
    }

    /// The operator-facing records (API keys) kept in the same database.
    pub fn records(&self) -> crate::records::Records {
        crate::records::Records::on(self.db.clone())
    }

    /// The one value (if any row) a query with one text parameter returns.
    async fn scalar<T>(&self, query: &str, arg: &str) -> Result<Option<T>, StoreError>
    where
        T: Send + Unpin,
        T: for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
        T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        let value = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar::<_, T>(&lite(query))
                    .bind(arg)
                    .fetch_optional(pool)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar::<_, T>(query)
                    .bind(arg)
                    .fetch_optional(pool)
                    .await
            }
        };
        value.map_err(err)
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        let op = write.op();
        let (reply, answer) = oneshot::channel();
        let written = async {
            self.writes
                .send((write, reply))
                .await
                .map_err(|_| StoreError::failed("the store's writer has stopped"))?;
            answer
                .await
                .map_err(|_| StoreError::failed("the store's writer has stopped"))?
        };
        counted(op, written.await)
    }
}

/// A private SQLite database in memory, gone with the process (the records of a server that
/// keeps nothing on disk).
pub(crate) async fn memory_sqlite() -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(err)?;
    // Every connection to `:memory:` is a database of its own: keep exactly one, for ever.
    let pool = SqlitePoolOptions::new()
        .min_connections(1)
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(err)?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .map_err(err)?;
    Ok(pool)
}

async fn open_sqlite(path: &Path) -> Result<SqlitePool, StoreError> {
    // A write-ahead log without its database means the database was lost: refuse rather
    // than start empty and silently drop every room.
    let wal = path.with_extension("db-wal");
    if !path.exists() && wal.exists() {
        return Err(StoreError::Failed(format!(
            "{} is missing but its write-ahead log {} exists; restore the database file",
            path.display(),
            wal.display()
        )));
    }
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(err)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // An acknowledged action must survive power loss, not only a process crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Failed(format!("cannot open {}: {e}", path.display())))?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .map_err(|e| {
            StoreError::Failed(format!(
                "{} is not a usable Arbiter database: {e}",
                path.display()
            ))
        })?;
    Ok(pool)
}

/// The writer: commit every waiting write in one transaction, then answer them all. A write
/// refused on its own (fenced, a code taken) is answered so and leaves the others alone.
async fn writer(db: Db, mut rx: mpsc::Receiver<(Write, oneshot::Sender<Result<(), StoreError>>)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let writes: Vec<&Write> = batch.iter().map(|(w, _)| w).collect();
        let started = std::time::Instant::now();
        let result = match &db {
            Db::Sqlite(pool) => commit_sqlite(pool, &writes).await,
            Db::Postgres(pool) => commit_postgres(pool, &writes).await,
        };
        histogram!(STORE_COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
        histogram!(STORE_COMMIT_WRITES).record(batch.len() as f64);
        let outcomes = match result {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::error!(error = %e, writes = batch.len(), "group commit failed");
                vec![Err(e); batch.len()]
            }
        };
        for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }
}

/// The SQL of each write, with `$n` placeholders (rewritten to `?n` for SQLite).
mod sql {
    /// Refused (nothing inserted) when a live room has the code, or a room the request key.
    pub(super) const CREATE: &str = "INSERT INTO rooms (id, code, game, config, seed, created_ms, public, max_players, max_spectators, seat_grace_ms, creator, create_key, lock, lang, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING";
    pub(super) const CREATED: &str = "SELECT id FROM rooms WHERE creator = $1 AND create_key = $2";
    pub(super) const KEEP_LEGACY: &str = "INSERT INTO legacy_sessions (client, body, expires_ms) VALUES ($1, $2, $3) ON CONFLICT (client) DO UPDATE SET body = excluded.body, expires_ms = excluded.expires_ms";
    pub(super) const SWEEP_LEGACY: &str = "DELETE FROM legacy_sessions WHERE expires_ms < $1";
    pub(super) const TAKE_LEGACY: &str =
        "DELETE FROM legacy_sessions WHERE client = $1 RETURNING body, expires_ms";
    pub(super) const LIVE_CREATED: &str =
        "SELECT COUNT(*) FROM rooms WHERE creator = $1 AND archived IS NULL";
    pub(super) const CLAIM: &str =
        "UPDATE rooms SET fence = fence + 1 WHERE id = $1 AND archived IS NULL RETURNING fence";
    pub(super) const CODE: &str = "SELECT id FROM rooms WHERE code = $1 AND archived IS NULL";
    pub(super) const SNAPSHOT: &str =
        "INSERT INTO snapshots (room, v, hash, state) VALUES ($1, $2, $3, $4)";
    pub(super) const ARCHIVE: &str =
        "UPDATE rooms SET archived = $2, archived_ms = $3 WHERE id = $1 AND fence = $4";
    pub(super) const ACTIVE: &str =
        "SELECT id FROM rooms WHERE archived IS NULL ORDER BY created_ms";
    pub(super) const ROOM: &str = "SELECT id, code, game, config, seed, created_ms, public, max_players, max_spectators, seat_grace_ms, creator, create_key, lock, lang, tags FROM rooms WHERE id = $1";
    pub(super) const SNAPSHOT_AT: &str =
        "SELECT v, hash, state FROM snapshots WHERE room = $1 AND v <= $2 ORDER BY v DESC LIMIT 1";
    pub(super) const SNAPSHOTS: &str =
        "SELECT v, hash, state FROM snapshots WHERE room = $1 ORDER BY v DESC LIMIT 2";
    pub(super) const RESULT: &str =
        "INSERT INTO results (room, v, game, at_ms, ranking) VALUES ($1, $2, $3, $4, $5)";
    pub(super) const RESULT_PLAYER: &str =
        "INSERT INTO result_players (room, v, player, place) VALUES ($1, $2, $3, $4)";
    pub(super) const RESULTS_OF_ROOM: &str = "SELECT room, v, game, at_ms, ranking FROM results WHERE room = $1 ORDER BY v DESC LIMIT $2";
    pub(super) const RESULTS_OF_PLAYER: &str = "SELECT r.room, r.v, r.game, r.at_ms, r.ranking FROM results r JOIN result_players p ON p.room = r.room AND p.v = r.v WHERE p.player = $1 ORDER BY r.at_ms DESC LIMIT $2";
    pub(super) const LOG: &str = "SELECT entry FROM log WHERE room = $1 AND v > $2 ORDER BY v";
    /// A chat write's fence check (with no change to the muted).
    pub(super) const CHAT_FENCE: &str =
        "UPDATE rooms SET fence = fence WHERE id = $1 AND fence = $2";
    pub(super) const CHAT_MUTE: &str =
        "UPDATE rooms SET chat_muted = $3 WHERE id = $1 AND fence = $2";
    /// Ids are never given twice; a clash is refused, not allowed to fail the group.
    pub(super) const CHAT_SAY: &str =
        "INSERT INTO chat (room, id, at_ms, line) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    pub(super) const CHAT_DELETE: &str = "UPDATE chat SET line = NULL WHERE room = $1 AND id = $2";
    pub(super) const CHAT_LINES: &str =
        "SELECT line FROM chat WHERE room = $1 AND line IS NOT NULL ORDER BY id DESC LIMIT $2";
    pub(super) const CHAT_LAST: &str = "SELECT MAX(id) AS last FROM chat WHERE room = $1";
    pub(super) const CHAT_MUTED: &str = "SELECT chat_muted FROM rooms WHERE id = $1";
    pub(super) const LOG_PAGE: &str =
        "SELECT entry FROM log WHERE room = $1 AND v > $2 ORDER BY v LIMIT $3";
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two_largest_first_and_cover_everything() {
        for n in [0usize, 1, 2, 3, 37, 255, 256, 257, 600, 1024] {
            let items: Vec<usize> = (0..n).collect();
            let sizes: Vec<usize> = super::chunks(&items).map(<[usize]>::len).collect();
            assert!(
                sizes
                    .iter()
                    .all(|s| s.is_power_of_two() && *s <= super::ROWS),
                "{n}: {sizes:?}"
            );
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{n}: {sizes:?}");
            assert_eq!(sizes.iter().sum::<usize>(), n);
            let joined: Vec<usize> = super::chunks(&items).flatten().copied().collect();
            assert_eq!(joined, items);
        }
    }
}

/// A query written for PostgreSQL (`$1`, `$2`…) in SQLite's spelling (`?`, in order).
pub(crate) fn lite(q: &str) -> String {
    q.replace('$', "?")
}

fn archive_name(why: Archive) -> &'static str {
    match why {
        Archive::Idle => "idle",
        Archive::Closed => "closed",
    }
}

/// Most rows one statement names: (room, fence) pairs of a fence check, log entries of an
/// insert. Well within both databases' limits on parameters (4 per entry row).
const ROWS: usize = 256;

/// `items` in chunks of a power of two rows (at most [`ROWS`]), largest first: a statement's
/// text depends on its row count, and this keeps the shapes to nine, so the connection's
/// statement cache holds them all instead of parsing a new shape per commit.
fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = (1usize << rest.len().ilog2()).min(ROWS);
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// `UPDATE rooms … RETURNING` for `n` (room, fence) pairs: the rooms whose fence still
/// holds, their rows locked until commit (a takeover waits for an append in progress).
fn fences_sql(n: usize) -> String {
    let pairs: Vec<String> = (0..n)
        .map(|i| format!("(${}, CAST(${} AS BIGINT))", 2 * i + 1, 2 * i + 2))
        .collect();
    format!(
        "UPDATE rooms SET fence = fence WHERE (id, fence) IN (VALUES {}) RETURNING id, fence",
        pairs.join(", ")
    )
}

/// `INSERT INTO log …` of `n` entries.
fn entries_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let p = 4 * i;
            format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4)
        })
        .collect();
    format!(
        "INSERT INTO log (room, v, at_ms, entry) VALUES {}",
        rows.join(", ")
    )
}

macro_rules! commit_all {
    ($name:ident, $db:ty, $pool:ty, $fix:expr) => {
        /// Every statement is a round trip (for SQLite, to its worker thread and back), so
        /// appends are checked together — one fence statement per run of appends — and
        /// their log entries inserted together at the end, a few hundred rows a statement.
        async fn $name(
            pool: &$pool,
            writes: &[&Write],
        ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
            let fix: fn(&str) -> String = $fix;
            let mut tx: Transaction<'_, $db> = pool.begin().await.map_err(err)?;
            let mut outcomes = Vec::with_capacity(writes.len());
            let mut entries: Vec<(&str, &LogEntry)> = Vec::new();
            let mut i = 0;
            while i < writes.len() {
                let run = writes[i..]
                    .iter()
                    .take_while(|w| matches!(w, Write::Append { .. }))
                    .count();
                if run > 0 {
                    let appends = &writes[i..i + run];
                    i += run;
                    let pairs: Vec<(&str, u64)> = appends
                        .iter()
                        .filter_map(|w| match w {
                            Write::Append { room, fence, .. } => Some((room.as_str(), *fence)),
                            _ => None,
                        })
                        .collect();
                    // Each room's fences that still hold (one, unless a stale append of the
                    // same room shares the run).
                    let mut held: std::collections::HashMap<String, Vec<u64>> =
                        std::collections::HashMap::new();
                    for chunk in chunks(&pairs) {
                        let sql = fix(&fences_sql(chunk.len()));
                        let mut q = sqlx::query(&sql);
                        for (room, fence) in chunk {
                            q = q.bind(*room).bind(to_db(*fence));
                        }
                        for row in q.fetch_all(&mut *tx).await.map_err(err)? {
                            let id: String = row.try_get("id").map_err(err)?;
                            let fence = from_db(row.try_get("fence").map_err(err)?);
                            held.entry(id).or_default().push(fence);
                        }
                    }
                    for w in appends {
                        let Write::Append {
                            room,
                            fence,
                            entries: logged,
                            results,
                            snapshot,
                        } = w
                        else {
                            continue;
                        };
                        if !held.get(room.as_str()).is_some_and(|f| f.contains(fence)) {
                            outcomes.push(Err(StoreError::Fenced));
                            continue;
                        }
                        entries.extend(logged.iter().map(|e| (room.as_str(), e)));
                        for r in results {
                            let ranking = serde_json::to_string(&r.ranking).map_err(err)?;
                            sqlx::query(&fix(sql::RESULT))
                                .bind(room)
                                .bind(to_db(r.v))
                                .bind(&r.game)
                                .bind(to_db(r.at_ms))
                                .bind(ranking)
                                .execute(&mut *tx)
                                .await
                                .map_err(err)?;
                            for (place, group) in r.ranking.iter().enumerate() {
                                for player in group {
                                    sqlx::query(&fix(sql::RESULT_PLAYER))
                                        .bind(room)
                                        .bind(to_db(r.v))
                                        .bind(player.as_str())
                                        .bind(place as i64 + 1)
                                        .execute(&mut *tx)
                                        .await
                                        .map_err(err)?;
                                }
                            }
                        }
                        if let Some(s) = snapshot {
                            sqlx::query(&fix(sql::SNAPSHOT))
                                .bind(room)
                                .bind(to_db(s.v))
                                .bind(to_db(s.hash))
                                .bind(s.state.to_string())
                                .execute(&mut *tx)
                                .await
                                .map_err(err)?;
                        }
                        outcomes.push(Ok(()));
                    }
                    continue;
                }
                match writes[i] {
                    Write::Create(r) => {
                        let created = sqlx::query(&fix(sql::CREATE))
                            .bind(&r.id)
                            .bind(&r.code)
                            .bind(&r.game)
                            .bind(r.config.to_string())
                            .bind(to_db(r.seed))
                            .bind(to_db(r.created_ms))
                            .bind(r.public)
                            .bind(i64::from(r.max_players))
                            .bind(i64::from(r.max_spectators))
                            .bind(to_db(r.seat_grace_ms))
                            .bind(
                                r.creator
                                    .as_ref()
                                    .or(r.key.as_ref().map(|k| &k.player))
                                    .map(PlayerId::as_str),
                            )
                            .bind(r.key.as_ref().map(|k| k.key.as_str()))
                            .bind(r.lock.as_deref())
                            .bind(r.lang.as_deref())
                            .bind(
                                (!r.tags.is_empty())
                                    .then(|| serde_json::to_string(&r.tags))
                                    .transpose()
                                    .map_err(err)?,
                            )
                            .execute(&mut *tx)
                            .await
                            .map_err(err)?;
                        outcomes.push(match created.rows_affected() {
                            0 => Err(StoreError::Conflict),
                            _ => Ok(()),
                        });
                    }
                    Write::Archive {
                        room,
                        fence,
                        why,
                        at_ms,
                    } => {
                        let archived = sqlx::query(&fix(sql::ARCHIVE))
                            .bind(room)
                            .bind(archive_name(*why))
                            .bind(to_db(*at_ms))
                            .bind(to_db(*fence))
                            .execute(&mut *tx)
                            .await
                            .map_err(err)?;
                        outcomes.push(match archived.rows_affected() {
                            0 => Err(StoreError::Fenced),
                            _ => Ok(()),
                        });
                    }
                    Write::Chat {
                        room,
                        fence,
                        change,
                    } => {
                        let held = match &change.muted {
                            Some(muted) => {
                                let muted = (!muted.is_empty())
                                    .then(|| serde_json::to_string(muted))
                                    .transpose()
                                    .map_err(err)?;
                                sqlx::query(&fix(sql::CHAT_MUTE))
                                    .bind(room)
                                    .bind(to_db(*fence))
                                    .bind(muted)
                                    .execute(&mut *tx)
                                    .await
                            }
                            None => {
                                sqlx::query(&fix(sql::CHAT_FENCE))
                                    .bind(room)
                                    .bind(to_db(*fence))
                                    .execute(&mut *tx)
                                    .await
                            }
                        }
                        .map_err(err)?
                        .rows_affected();
                        if held == 0 {
                            outcomes.push(Err(StoreError::Fenced));
                            i += 1;
                            continue;
                        }
                        let mut outcome = Ok(());
                        for line in &change.said {
                            let said = sqlx::query(&fix(sql::CHAT_SAY))
                                .bind(room)
                                .bind(to_db(line.id))
                                .bind(to_db(line.at))
                                .bind(serde_json::to_string(line).map_err(err)?)
                                .execute(&mut *tx)
                                .await
                                .map_err(err)?;
                            if said.rows_affected() == 0 {
                                outcome = Err(StoreError::Conflict);
                            }
                        }
                        for id in &change.deleted {
                            sqlx::query(&fix(sql::CHAT_DELETE))
                                .bind(room)
                                .bind(to_db(*id))
                                .execute(&mut *tx)
                                .await
                                .map_err(err)?;
                        }
                        outcomes.push(outcome);
                    }
                    Write::Append { .. } => unreachable!("appends are taken in runs above"),
                }
                i += 1;
            }
            for chunk in chunks(&entries) {
                let sql = fix(&entries_sql(chunk.len()));
                let mut q = sqlx::query(&sql);
                for (room, e) in chunk {
                    let entry = serde_json::to_string(e).map_err(err)?;
                    q = q
                        .bind(*room)
                        .bind(to_db(e.v))
                        .bind(to_db(e.at_ms))
                        .bind(entry);
                }
                q.execute(&mut *tx).await.map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            Ok(outcomes)
        }
    };
}

commit_all!(commit_sqlite, Sqlite, SqlitePool, lite);
commit_all!(commit_postgres, Postgres, PgPool, str::to_owned);

macro_rules! read_record {
    ($name:ident, $pool:ty, $fix:expr) => {
        async fn $name(pool: &$pool, id: &str) -> Result<Option<StoredRoom>, StoreError> {
            let fix: fn(&str) -> String = $fix;
            let Some(row) = sqlx::query(&fix(sql::ROOM))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(err)?
            else {
                return Ok(None);
            };
            let config: String = row.try_get("config").map_err(err)?;
            let creator = row
                .try_get::<Option<String>, _>("creator")
                .map_err(err)?
                .map(PlayerId);
            let room = StoredRoom {
                id: row.try_get("id").map_err(err)?,
                code: row.try_get("code").map_err(err)?,
                game: row.try_get("game").map_err(err)?,
                config: serde_json::from_str(&config).map_err(err)?,
                seed: from_db(row.try_get("seed").map_err(err)?),
                created_ms: from_db(row.try_get("created_ms").map_err(err)?),
                public: row.try_get("public").map_err(err)?,
                max_players: u32::try_from(row.try_get::<i64, _>("max_players").map_err(err)?)
                    .map_err(err)?,
                max_spectators: u32::try_from(
                    row.try_get::<i64, _>("max_spectators").map_err(err)?,
                )
                .map_err(err)?,
                seat_grace_ms: from_db(row.try_get("seat_grace_ms").map_err(err)?),
                key: match (
                    &creator,
                    row.try_get::<Option<String>, _>("create_key")
                        .map_err(err)?,
                ) {
                    (Some(player), Some(key)) => Some(CreateKey {
                        player: player.clone(),
                        key,
                    }),
                    _ => None,
                },
                creator,
                lock: row.try_get("lock").map_err(err)?,
                lang: row.try_get("lang").map_err(err)?,
                tags: match row.try_get::<Option<String>, _>("tags").map_err(err)? {
                    Some(tags) => serde_json::from_str(&tags).map_err(err)?,
                    None => Vec::new(),
                },
            };
            Ok(Some(room))
        }
    };
}

macro_rules! read_room {
    ($name:ident, $pool:ty, $record:ident, $fix:expr) => {
        async fn $name(pool: &$pool, id: &str) -> Result<Option<Loaded>, StoreError> {
            let fix: fn(&str) -> String = $fix;
            let Some(room) = $record(pool, id).await? else {
                return Ok(None);
            };
            let mut snapshots = Vec::new();
            for row in sqlx::query(&fix(sql::SNAPSHOTS))
                .bind(id)
                .fetch_all(pool)
                .await
                .map_err(err)?
            {
                let state: String = row.try_get("state").map_err(err)?;
                snapshots.push(Snapshot {
                    v: from_db(row.try_get("v").map_err(err)?),
                    hash: from_db(row.try_get("hash").map_err(err)?),
                    state: serde_json::from_str::<Value>(&state).map_err(err)?,
                });
            }
            snapshots.reverse();
            let after = snapshots.first().map_or(0, |s| to_db(s.v));
            let mut log = Vec::new();
            for row in sqlx::query(&fix(sql::LOG))
                .bind(id)
                .bind(after)
                .fetch_all(pool)
                .await
                .map_err(err)?
            {
                let entry: String = row.try_get("entry").map_err(err)?;
                log.push(serde_json::from_str::<LogEntry>(&entry).map_err(|e| {
                    StoreError::Failed(format!("room {id}: unreadable log entry: {e}"))
                })?);
            }
            let mut lines = Vec::new();
            for row in sqlx::query(&fix(sql::CHAT_LINES))
                .bind(id)
                .bind(i64::try_from(CHAT_KEPT).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
                .map_err(err)?
            {
                let line: String = row.try_get("line").map_err(err)?;
                lines.push(serde_json::from_str(&line).map_err(|e| {
                    StoreError::Failed(format!("room {id}: unreadable chat message: {e}"))
                })?);
            }
            lines.reverse();
            let last: Option<i64> = sqlx::query(&fix(sql::CHAT_LAST))
                .bind(id)
                .fetch_one(pool)
                .await
                .and_then(|row| row.try_get("last"))
                .map_err(err)?;
            let muted: Option<String> = sqlx::query(&fix(sql::CHAT_MUTED))
                .bind(id)
                .fetch_one(pool)
                .await
                .and_then(|row| row.try_get("chat_muted"))
                .map_err(err)?;
            let chat = StoredChat {
                lines,
                last_id: last.map_or(0, from_db),
                muted: match muted {
                    Some(m) => serde_json::from_str(&m).map_err(err)?,
                    None => Vec::new(),
                },
            };
            Ok(Some(Loaded {
                room,
                snapshots,
                log,
                chat,
            }))
        }
    };
}

macro_rules! read_results {
    ($name:ident, $pool:ty, $fix:expr) => {
        async fn $name(
            pool: &$pool,
            of: &ResultsOf,
            limit: usize,
        ) -> Result<Vec<GameResult>, StoreError> {
            let fix: fn(&str) -> String = $fix;
            let (q, key) = match of {
                ResultsOf::Room(room) => (sql::RESULTS_OF_ROOM, room.as_str()),
                ResultsOf::Player(player) => (sql::RESULTS_OF_PLAYER, player.as_str()),
            };
            let rows = sqlx::query(&fix(q))
                .bind(key)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter()
                .map(|row| {
                    let ranking: String = row.try_get("ranking").map_err(err)?;
                    Ok(GameResult {
                        room: row.try_get("room").map_err(err)?,
                        game: row.try_get("game").map_err(err)?,
                        v: from_db(row.try_get("v").map_err(err)?),
                        at_ms: from_db(row.try_get("at_ms").map_err(err)?),
                        ranking: serde_json::from_str(&ranking).map_err(err)?,
                    })
                })
                .collect()
        }
    };
}

macro_rules! read_log {
    ($name:ident, $pool:ty, $fix:expr) => {
        async fn $name(
            pool: &$pool,
            room: &str,
            after: u64,
            limit: usize,
        ) -> Result<Vec<LogEntry>, StoreError> {
            let fix: fn(&str) -> String = $fix;
            let rows = sqlx::query(&fix(sql::LOG_PAGE))
                .bind(room)
                .bind(bound(after))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter()
                .map(|row| {
                    let entry: String = row.try_get("entry").map_err(err)?;
                    serde_json::from_str(&entry).map_err(err)
                })
                .collect()
        }
    };
}

macro_rules! read_snapshot {
    ($name:ident, $pool:ty, $fix:expr) => {
        async fn $name(pool: &$pool, room: &str, v: u64) -> Result<Option<Snapshot>, StoreError> {
            let fix: fn(&str) -> String = $fix;
            let Some(row) = sqlx::query(&fix(sql::SNAPSHOT_AT))
                .bind(room)
                .bind(bound(v))
                .fetch_optional(pool)
                .await
                .map_err(err)?
            else {
                return Ok(None);
            };
            let state: String = row.try_get("state").map_err(err)?;
            Ok(Some(Snapshot {
                v: from_db(row.try_get("v").map_err(err)?),
                hash: from_db(row.try_get("hash").map_err(err)?),
                state: serde_json::from_str::<Value>(&state).map_err(err)?,
            }))
        }
    };
}

read_snapshot!(snapshot_sqlite, SqlitePool, lite);
read_snapshot!(snapshot_postgres, PgPool, str::to_owned);
read_log!(log_sqlite, SqlitePool, lite);
read_log!(log_postgres, PgPool, str::to_owned);
read_results!(results_sqlite, SqlitePool, lite);
read_results!(results_postgres, PgPool, str::to_owned);
read_record!(record_sqlite, SqlitePool, lite);
read_record!(record_postgres, PgPool, str::to_owned);
read_room!(load_sqlite, SqlitePool, record_sqlite, lite);
read_room!(load_postgres, PgPool, record_postgres, str::to_owned);

impl Store for SqlStore {
    fn create(&self, room: StoredRoom) -> StoreFuture<'_, ()> {
        Box::pin(self.write(Write::Create(room)))
    }

    fn claim(&self, room: &str) -> StoreFuture<'_, Option<u64>> {
        let room = room.to_owned();
        Box::pin(async move {
            let fence: Option<i64> = counted("claim", self.scalar(sql::CLAIM, &room).await)?;
            Ok(fence.map(from_db))
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let echo: Option<String> = self.scalar("SELECT $1", "ping").await?;
            match echo.as_deref() {
                Some("ping") => Ok(()),
                _ => Err(StoreError::failed("the database answered a ping wrongly")),
            }
        })
    }

    fn find_code(&self, code: &str) -> StoreFuture<'_, Option<String>> {
        let code = code.to_owned();
        Box::pin(async move { counted("find_code", self.scalar(sql::CODE, &code).await) })
    }

    fn live_created(&self, player: &PlayerId) -> StoreFuture<'_, u64> {
        let player = player.clone();
        Box::pin(async move {
            let n = match &self.db {
                Db::Sqlite(pool) => {
                    sqlx::query_scalar::<_, i64>(&lite(sql::LIVE_CREATED))
                        .bind(player.as_str())
                        .fetch_one(pool)
                        .await
                }
                Db::Postgres(pool) => {
                    sqlx::query_scalar::<_, i64>(sql::LIVE_CREATED)
                        .bind(player.as_str())
                        .fetch_one(pool)
                        .await
                }
            };
            counted("live_created", n.map(from_db).map_err(err))
        })
    }

    fn keep_legacy(&self, client: &str, body: &str, expires_ms: u64) -> StoreFuture<'_, ()> {
        let (client, body) = (client.to_owned(), body.to_owned());
        Box::pin(async move {
            let expires = to_db(expires_ms);
            let now = to_db(crate::auth::now_ms());
            let done = match &self.db {
                Db::Sqlite(pool) => {
                    let mut tx = pool.begin().await.map_err(err)?;
                    sqlx::query(&lite(sql::SWEEP_LEGACY))
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    sqlx::query(&lite(sql::KEEP_LEGACY))
                        .bind(&client)
                        .bind(&body)
                        .bind(expires)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    tx.commit().await
                }
                Db::Postgres(pool) => {
                    let mut tx = pool.begin().await.map_err(err)?;
                    sqlx::query(sql::SWEEP_LEGACY)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    sqlx::query(sql::KEEP_LEGACY)
                        .bind(&client)
                        .bind(&body)
                        .bind(expires)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    tx.commit().await
                }
            };
            counted("keep_legacy", done.map_err(err))
        })
    }

    fn take_legacy(&self, client: &str, now_ms: u64) -> StoreFuture<'_, Option<String>> {
        let client = client.to_owned();
        Box::pin(async move {
            let row = match &self.db {
                Db::Sqlite(pool) => {
                    sqlx::query_as::<_, (String, i64)>(&lite(sql::TAKE_LEGACY))
                        .bind(&client)
                        .fetch_optional(pool)
                        .await
                }
                Db::Postgres(pool) => {
                    sqlx::query_as::<_, (String, i64)>(sql::TAKE_LEGACY)
                        .bind(&client)
                        .fetch_optional(pool)
                        .await
                }
            };
            let row = row.map_err(err);
            counted(
                "take_legacy",
                row.map(|row| {
                    row.and_then(|(body, expires)| (from_db(expires) >= now_ms).then_some(body))
                }),
            )
        })
    }

    fn find_created(&self, key: &CreateKey) -> StoreFuture<'_, Option<String>> {
        let key = key.clone();
        Box::pin(async move {
            let (player, key) = (key.player.as_str(), key.key.as_str());
            let id = match &self.db {
                Db::Sqlite(pool) => {
                    sqlx::query_scalar::<_, String>(&lite(sql::CREATED))
                        .bind(player)
                        .bind(key)
                        .fetch_optional(pool)
                        .await
                }
                Db::Postgres(pool) => {
                    sqlx::query_scalar::<_, String>(sql::CREATED)
                        .bind(player)
                        .bind(key)
                        .fetch_optional(pool)
                        .await
                }
            };
            counted("find_created", id.map_err(err))
        })
    }

    fn append(
        &self,
        room: &str,
        fence: u64,
        entries: Vec<LogEntry>,
        results: Vec<GameResult>,
        snapshot: Option<Snapshot>,
    ) -> StoreFuture<'_, ()> {
        let room = room.to_owned();
        Box::pin(self.write(Write::Append {
            room,
            fence,
            entries,
            results,
            snapshot,
        }))
    }

    fn chat(&self, room: &str, fence: u64, change: ChatChange) -> StoreFuture<'_, ()> {
        let room = room.to_owned();
        Box::pin(async move {
            self.write(Write::Chat {
                room,
                fence,
                change,
            })
            .await
        })
    }

    fn log(&self, room: &str, after: u64, limit: usize) -> StoreFuture<'_, Vec<LogEntry>> {
        let room = room.to_owned();
        Box::pin(async move {
            let log = match &self.db {
                Db::Sqlite(pool) => log_sqlite(pool, &room, after, limit).await,
                Db::Postgres(pool) => log_postgres(pool, &room, after, limit).await,
            };
            counted("log", log)
        })
    }

    fn results(&self, of: ResultsOf, limit: usize) -> StoreFuture<'_, Vec<GameResult>> {
        Box::pin(async move {
            let results = match &self.db {
                Db::Sqlite(pool) => results_sqlite(pool, &of, limit).await,
                Db::Postgres(pool) => results_postgres(pool, &of, limit).await,
            };
            counted("results", results)
        })
    }

    fn archive(&self, room: &str, fence: u64, why: Archive, at_ms: u64) -> StoreFuture<'_, ()> {
        let room = room.to_owned();
        Box::pin(self.write(Write::Archive {
            room,
            fence,
            why,
            at_ms,
        }))
    }

    fn active(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let ids = match &self.db {
                Db::Sqlite(pool) => {
                    sqlx::query_scalar::<_, String>(&lite(sql::ACTIVE))
                        .fetch_all(pool)
                        .await
                }
                Db::Postgres(pool) => {
                    sqlx::query_scalar::<_, String>(sql::ACTIVE)
                        .fetch_all(pool)
                        .await
                }
            };
            counted("active", ids.map_err(err))
        })
    }

    fn snapshot_at(&self, room: &str, v: u64) -> StoreFuture<'_, Option<Snapshot>> {
        let room = room.to_owned();
        Box::pin(async move {
            let snapshot = match &self.db {
                Db::Sqlite(pool) => snapshot_sqlite(pool, &room, v).await,
                Db::Postgres(pool) => snapshot_postgres(pool, &room, v).await,
            };
            counted("snapshot_at", snapshot)
        })
    }

    fn room(&self, room: &str) -> StoreFuture<'_, Option<StoredRoom>> {
        let room = room.to_owned();
        Box::pin(async move {
            let record = match &self.db {
                Db::Sqlite(pool) => record_sqlite(pool, &room).await,
                Db::Postgres(pool) => record_postgres(pool, &room).await,
            };
            counted("room", record)
        })
    }

    fn load(&self, room: &str) -> StoreFuture<'_, Option<Loaded>> {
        let room = room.to_owned();
        Box::pin(async move {
            let loaded = match &self.db {
                Db::Sqlite(pool) => load_sqlite(pool, &room).await,
                Db::Postgres(pool) => load_postgres(pool, &room).await,
            };
            counted("load", loaded)
        })
    }
}
