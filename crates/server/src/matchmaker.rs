//! `join_or_create`: quick play. Players asking for the same game with the same options share
//! a pool of the public rooms made for them on this node, and are seated in the oldest one
//! with a free seat, or in a new room when none has one.
//!
//! A room never overfills, because the room actor decides each seat ([`RoomCmd::Seat`]): a
//! refusal comes back to the matchmaker instead of the client, which then tries the next room.
//! A pool is also taken one request at a time, so concurrent quick-joins fill one room before
//! opening the next instead of each making its own.
//!
//! In a cluster each node matches its own connections into the rooms it made; a room another
//! node serves is not in its pools (the edge cannot ask a remote room for a seat).

use crate::app::App;
use arbiter_engine::protocol::ErrorCode;
use arbiter_engine::{Caller, CreateOptions, GameError, RoomCmd, RoomHandle};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Rooms one pool remembers, oldest first. An older room is forgotten (its players keep it;
/// its code still lets others in).
const POOL_ROOMS: usize = 16;

/// Pools kept at once; past this, pools without a live room are dropped.
const POOLS: usize = 1024;

type Pool = Arc<tokio::sync::Mutex<Vec<RoomHandle>>>;

/// The pools, by game, seats and options.
#[derive(Default)]
pub(crate) struct Matchmaker {
    pools: Mutex<HashMap<String, Pool>>,
}

impl Matchmaker {
    fn pool(&self, key: String) -> Pool {
        // Inserts and removes only: a poisoned lock still holds a consistent map.
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if pools.len() >= POOLS && !pools.contains_key(&key) {
            pools.retain(|_, pool| {
                pool.try_lock()
                    .map_or(true, |rooms| rooms.iter().any(|r| !r.is_closed()))
            });
        }
        pools.entry(key).or_default().clone()
    }
}

/// Ask `room` for a seat for `caller`; `Ok(true)` when they got one (and their answers).
async fn seat(room: &RoomHandle, caller: &Caller, rid: Option<u64>) -> Result<bool, GameError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let cmd = RoomCmd::Seat {
        caller: caller.clone(),
        rid,
        reply,
    };
    if room.send(cmd).await.is_err() {
        return Ok(false);
    }
    match answer.await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(e)) if matches!(e.code, ErrorCode::RoomFull | ErrorCode::JoinRefused) => Ok(false),
        Ok(Err(e)) => Err(e),
        // The room stopped before answering.
        Err(_) => Ok(false),
    }
}

impl App {
    /// Seat `caller` in a pooled room of `game` with `config`, `max_players` and the listing
    /// (language, tags), or in a new public one; the room answered them like a `join`.
    pub(crate) async fn join_or_create(
        &self,
        caller: &Caller,
        rid: Option<u64>,
        game: &str,
        config: Value,
        max_players: Option<u32>,
        (lang, tags): (Option<String>, Vec<String>),
    ) -> Result<RoomHandle, GameError> {
        let key = json!([game, max_players, config, lang, tags]).to_string();
        let pool = self.matchmaker().pool(key);
        let mut rooms = pool.lock().await;
        rooms.retain(|room| !room.is_closed());
        for room in rooms.iter() {
            let info = room.info();
            if info.players >= info.max_players {
                continue;
            }
            if seat(room, caller, rid).await? {
                return Ok(room.clone());
            }
        }
        let options = CreateOptions {
            public: Some(true),
            max_players,
            lang,
            tags,
            ..CreateOptions::default()
        };
        let room = self
            .create_room_for(&caller.player.id, game, config, options)
            .await?;
        if !seat(&room, caller, rid).await? {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "the new room refused a seat; try again",
            ));
        }
        if rooms.len() == POOL_ROOMS {
            rooms.remove(0);
        }
        rooms.push(room.clone());
        Ok(room)
    }
}
