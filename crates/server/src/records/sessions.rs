//! External game sessions and their players (migration 0013).

use super::{Records, err, from_db, to_db};
use crate::store::{Db, lite};
use arbiter_engine::StoreError;
use serde::Serialize;
use serde_json::Value;

/// A party's launch of an external game.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Session {
    /// `x_` and 16 hex digits.
    pub(crate) id: String,
    /// The external game's id.
    pub(crate) game: String,
    /// The party's room id.
    pub(crate) party: String,
    /// The party's round.
    pub(crate) round: u64,
    /// The settings the host picked.
    pub(crate) settings: Value,
    /// `playing`, `ended` or `returned`.
    pub(crate) status: String,
    /// What the game reported at its end.
    pub(crate) results: Option<Value>,
    /// When it ended or everyone returned.
    pub(crate) ended_ms: Option<u64>,
    /// When it was launched.
    pub(crate) created_ms: u64,
    /// The game's own state.
    pub(crate) state: Option<Value>,
    /// The version of `state`: 0 before the first write, one more per write.
    pub(crate) state_version: u64,
    /// The members launched into it, in seat order.
    pub(crate) players: Vec<SessionPlayer>,
}

/// A member in a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionPlayer {
    /// The member's player id.
    pub(crate) id: String,
    /// Their name at launch.
    pub(crate) name: String,
    /// Their seat in the party.
    pub(crate) seat: u64,
    /// `lobby`, `game` or `disconnected`.
    pub(crate) location: String,
    /// One more per change of `location`.
    pub(crate) version: u64,
    /// Their latest heartbeat.
    pub(crate) last_seen_ms: Option<u64>,
}

/// What a location report found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Located {
    /// Written: the player now.
    Done(SessionPlayer),
    /// The report named an older version: nothing written; the player now.
    Stale(SessionPlayer),
    /// No such player in the session.
    Missing,
}

/// What a state write found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StateWrite {
    /// Written at this version.
    Done(u64),
    /// The write named an older version: nothing written; the state and version now.
    Stale(Option<Value>, u64),
    /// No such session.
    Missing,
}

type SessionRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    Option<String>,
    i64,
);

type PlayerRow = (String, String, i64, String, i64, Option<i64>);

const SESSION_COLUMNS: &str = "id, game, party, round, settings, status, results, ended_ms, \
     created_ms, state, state_version";
const PLAYER_COLUMNS: &str = "player, name, seat, location, version, last_seen_ms";

fn json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(err)
}

fn player_from_row(row: PlayerRow) -> SessionPlayer {
    let (id, name, seat, location, version, seen) = row;
    SessionPlayer {
        id,
        name,
        seat: from_db(seat),
        location,
        version: from_db(version),
        last_seen_ms: seen.map(from_db),
    }
}

impl Records {
    /// Keep a new session (status `playing`, no state) and its players (in the lobby, at
    /// version 0).
    pub(crate) async fn open_session(
        &self,
        session: &Session,
        players: &[SessionPlayer],
    ) -> Result<(), StoreError> {
        let add = format!(
            "INSERT INTO external_sessions ({SESSION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, 'playing', NULL, NULL, $6, NULL, 0)"
        );
        let seat = format!(
            "INSERT INTO external_players (session, {PLAYER_COLUMNS}) \
             VALUES ($1, $2, $3, $4, 'lobby', 0, NULL)"
        );
        let settings = session.settings.to_string();
        on_db!(&self.db, |pool, q| {
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query(&q(&add))
                .bind(&session.id)
                .bind(&session.game)
                .bind(&session.party)
                .bind(to_db(session.round))
                .bind(&settings)
                .bind(to_db(session.created_ms))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            for p in players {
                sqlx::query(&q(&seat))
                    .bind(&session.id)
                    .bind(&p.id)
                    .bind(&p.name)
                    .bind(to_db(p.seat))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
        });
        Ok(())
    }

    /// A session with its players.
    pub(crate) async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let one = format!("SELECT {SESSION_COLUMNS} FROM external_sessions WHERE id = $1");
        let seats = format!(
            "SELECT {PLAYER_COLUMNS} FROM external_players WHERE session = $1 \
             ORDER BY seat, player"
        );
        let (row, players) = on_db!(&self.db, |pool, q| {
            let row = sqlx::query_as::<_, SessionRow>(&q(&one))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            let players = sqlx::query_as::<_, PlayerRow>(&q(&seats))
                .bind(id)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            (row, players)
        });
        let Some(row) = row else { return Ok(None) };
        let (id, game, party, round, settings, status, results, ended, created, state, v) = row;
        Ok(Some(Session {
            id,
            game,
            party,
            round: from_db(round),
            settings: json(&settings)?,
            status,
            results: results.as_deref().map(json).transpose()?,
            ended_ms: ended.map(from_db),
            created_ms: from_db(created),
            state: state.as_deref().map(json).transpose()?,
            state_version: from_db(v),
            players: players.into_iter().map(player_from_row).collect(),
        }))
    }

    async fn player(
        &self,
        session: &str,
        player: &str,
    ) -> Result<Option<SessionPlayer>, StoreError> {
        let sql = format!(
            "SELECT {PLAYER_COLUMNS} FROM external_players WHERE session = $1 AND player = $2"
        );
        let row = on_db!(&self.db, |pool, q| {
            sqlx::query_as::<_, PlayerRow>(&q(&sql))
                .bind(session)
                .bind(player)
                .fetch_optional(pool)
                .await
        });
        Ok(row.map_err(err)?.map(player_from_row))
    }

    /// Move `player` of `session` to `location` if their version is still `version`
    /// (`None`: whatever it is); the version goes up by one.
    pub(crate) async fn locate_player(
        &self,
        session: &str,
        player: &str,
        location: &str,
        version: Option<u64>,
    ) -> Result<Located, StoreError> {
        let sql = "UPDATE external_players SET location = $1, version = version + 1 \
             WHERE session = $2 AND player = $3 AND ($4 < 0 OR version = $4)";
        let expected = version.map_or(-1, to_db);
        let moved = on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(location)
                .bind(session)
                .bind(player)
                .bind(expected)
                .execute(pool)
                .await
                .map_err(err)?
                .rows_affected()
        });
        Ok(match (moved, self.player(session, player).await?) {
            (_, None) => Located::Missing,
            (1, Some(now)) => Located::Done(now),
            (_, Some(now)) => Located::Stale(now),
        })
    }

    /// Note a heartbeat of `player` at `now_ms`; `false` if there is no such player.
    pub(crate) async fn heartbeat(
        &self,
        session: &str,
        player: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE external_players SET last_seen_ms = $1 \
             WHERE session = $2 AND player = $3";
        let seen = on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(to_db(now_ms))
                .bind(session)
                .bind(player)
                .execute(pool)
                .await
                .map_err(err)?
                .rows_affected()
        });
        Ok(seen == 1)
    }

    /// Write the game's state if its version is still `version`; it becomes `version + 1`.
    pub(crate) async fn write_state(
        &self,
        session: &str,
        state: &Value,
        version: u64,
    ) -> Result<StateWrite, StoreError> {
        let sql = "UPDATE external_sessions SET state = $1, state_version = state_version + 1 \
             WHERE id = $2 AND state_version = $3";
        let text = state.to_string();
        let written = on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(&text)
                .bind(session)
                .bind(to_db(version))
                .execute(pool)
                .await
                .map_err(err)?
                .rows_affected()
        });
        Ok(match (written, self.session(session).await?) {
            (_, None) => StateWrite::Missing,
            (1, Some(now)) => StateWrite::Done(now.state_version),
            (_, Some(now)) => StateWrite::Stale(now.state, now.state_version),
        })
    }

    /// End a `playing` session with `results` at `now_ms` (`status` becomes `ended`, or
    /// `returned` when no results are given); `false` if it was not playing.
    pub(crate) async fn end_session(
        &self,
        session: &str,
        results: Option<&Value>,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE external_sessions SET status = $1, results = $2, ended_ms = $3 \
             WHERE id = $4 AND status = 'playing'";
        let status = if results.is_some() {
            "ended"
        } else {
            "returned"
        };
        let text = results.map(Value::to_string);
        let ended = on_db!(&self.db, |pool, q| {
            sqlx::query(&q(sql))
                .bind(status)
                .bind(&text)
                .bind(to_db(now_ms))
                .bind(session)
                .execute(pool)
                .await
                .map_err(err)?
                .rows_affected()
        });
        Ok(ended == 1)
    }
}
