//! The directory of live rooms on this node: create, find by id or code, list.

use crate::actor::{Persistence, RoomCmd, RoomHandle, RoomLifetimes};
use crate::game::GameError;
use crate::game::Viewer;
use crate::registry::Registry;
use crate::registry::{Launch, Stored};
use crate::room::Query;
use crate::room::{RoomOptions, RoomSpec};
use crate::store::{CreateKey, Loaded, Store, StoreError, StoredRoom};
use arbiter_protocol::{ErrorCode, PlayerId, RoomInfo};
use rand::Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Most log entries read to rebuild an archived room for a history query.
const MAX_STORED_LOG: usize = 1_000_000;

/// Letters for room codes: no vowels (no words), no look-alikes (0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"BCDFGHJKMNPQRSTVWXZ";
const CODE_LEN: usize = 6;
/// Codes of rooms made before codes grew to six letters; still found, never made.
const OLD_CODE_LEN: usize = 5;
/// Codes tried before `create` gives up (a clash needs another node to have drawn the same
/// code among 19^6 at the same moment).
const CODE_ATTEMPTS: usize = 8;

/// Whether `name` could be a room's id (`r_` and 16 hex digits) or its code (six letters of
/// the code alphabet — five for rooms made by older versions — any case, spaces around
/// allowed). Every room this engine makes is named
/// so; anything else is refused before storage is asked, so that messages naming made-up
/// rooms cost a string check, not a database round trip under the loading lock.
pub fn could_name_a_room(name: &str) -> bool {
    match name.strip_prefix("r_") {
        Some(hex) => hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        None => {
            let code = name.trim();
            (code.len() == CODE_LEN || code.len() == OLD_CODE_LEN)
                && code
                    .bytes()
                    .all(|b| CODE_ALPHABET.contains(&b.to_ascii_uppercase()))
        }
    }
}

/// Node-wide limits on rooms.
#[derive(Debug, Clone, Copy)]
pub struct RoomLimits {
    /// Live rooms this node will hold.
    pub max_rooms: usize,
    /// Spectator places when `create` does not say.
    pub default_spectators: u32,
    /// Most spectator places a room may ask for.
    pub max_spectators: u32,
    /// When idle rooms close.
    pub lifetimes: RoomLifetimes,
    /// Whether `create` may fix the room's RNG seed.
    pub allow_seeded_rooms: bool,
    /// How long a disconnected player's seat is held.
    pub seat_grace: Duration,
}

impl Default for RoomLimits {
    fn default() -> Self {
        Self {
            max_rooms: 10_000,
            default_spectators: 64,
            max_spectators: 1_000,
            lifetimes: RoomLifetimes::default(),
            allow_seeded_rooms: false,
            seat_grace: Duration::from_secs(120),
        }
    }
}

/// What `create` asks for besides the game and its config.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Listed publicly (default true).
    pub public: Option<bool>,
    /// Seats (default and cap: the game's maximum).
    pub max_players: Option<u32>,
    /// Spectator places.
    pub max_spectators: Option<u32>,
    /// A fixed RNG seed, for reproducible rooms (tests, demos). Only honoured when the
    /// directory allows it: a player who knows the seed of a card game knows the deck.
    pub seed: Option<u64>,
    /// The request's key: stored with the room, so that [`Rooms::created_by`] finds it for
    /// a retry (a store refuses a second room with the same key).
    pub key: Option<CreateKey>,
    /// The player creating the room, stored with it (see [`Rooms::live_created`]).
    pub creator: Option<PlayerId>,
    /// The argon2id hash of the room's password (the server hashes it; see
    /// [`RoomOptions::lock`]).
    pub lock: Option<String>,
    /// The language the room plays in (checked by the server).
    pub lang: Option<String>,
    /// Tags for the room list (checked by the server).
    pub tags: Vec<String>,
}

#[derive(Default)]
struct Live {
    by_id: HashMap<String, RoomHandle>,
    by_code: HashMap<String, String>,
    /// Live rooms made by a keyed `create`, by key.
    by_key: HashMap<CreateKey, String>,
}

struct Inner {
    registry: Registry,
    /// Read at each use, so an operator's reload applies to the next room.
    limits: Mutex<RoomLimits>,
    persistence: Option<Persistence>,
    /// A std mutex: held for map lookups only, never across an await.
    live: Mutex<Live>,
    /// Held while loading a stored room, so two requests cannot load it twice.
    loading: tokio::sync::Mutex<()>,
}

/// Live rooms, shared by every connection and the REST API.
#[derive(Clone)]
pub struct Rooms(Arc<Inner>);

impl Rooms {
    /// A directory serving the games in `registry`, keeping rooms in memory only.
    pub fn new(registry: Registry, limits: RoomLimits) -> Self {
        Self::with_persistence(registry, limits, None)
    }

    /// A directory whose rooms are kept in `persistence` (when given): created durably,
    /// every entry appended, restored with [`Rooms::restore_all`].
    pub fn with_persistence(
        registry: Registry,
        limits: RoomLimits,
        persistence: Option<Persistence>,
    ) -> Self {
        Self(Arc::new(Inner {
            registry,
            limits: Mutex::new(limits),
            persistence,
            live: Mutex::new(Live::default()),
            loading: tokio::sync::Mutex::new(()),
        }))
    }

    /// The store rooms are kept in, if any.
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.0.persistence.as_ref().map(|p| &p.store)
    }

    /// The limits rooms are created under now.
    pub fn limits(&self) -> RoomLimits {
        *self.0.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the limits (an operator's reload): rooms created from now on get them; live
    /// rooms keep the lifetimes and grace they started with, and a lower `max_rooms` closes
    /// none, it only refuses new rooms until enough have closed.
    pub fn set_limits(&self, limits: RoomLimits) {
        *self.0.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// The games on offer.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        // A panic while holding this lock cannot leave the maps half-updated (each update
        // is a single insert or remove), so a poisoned lock is still usable.
        self.0.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Create a room (durably, when there is a store) and start its actor.
    pub async fn create(
        &self,
        game: &str,
        config: Value,
        options: CreateOptions,
    ) -> Result<RoomHandle, GameError> {
        let info = self.0.registry.info(game).ok_or_else(|| {
            GameError::new(ErrorCode::UnknownGame, format!("no game named {game:?}"))
        })?;
        let max_players = options.max_players.unwrap_or(info.max_players);
        if max_players < info.min_players.max(1) || max_players > info.max_players {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                format!(
                    "max_players must be between {} and {} for {}",
                    info.min_players.max(1),
                    info.max_players,
                    info.name
                ),
            ));
        }
        let limits = self.limits();
        let max_spectators = options.max_spectators.unwrap_or(limits.default_spectators);
        if max_spectators > limits.max_spectators {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                format!("max_spectators is at most {}", limits.max_spectators),
            ));
        }
        if options.seed.is_some() && !limits.allow_seeded_rooms {
            return Err(GameError::new(
                ErrorCode::InvalidField,
                "this server does not accept room seeds",
            ));
        }
        // A code is unique among live rooms: here, and across nodes by the store's refusal.
        for _ in 0..CODE_ATTEMPTS {
            let (id, code, seed) = self.fresh_names(options.seed)?;
            let spec = RoomSpec {
                id,
                code,
                config: config.clone(),
                seed,
                created_ms: wall_ms(),
                options: RoomOptions {
                    public: options.public.unwrap_or(true),
                    max_players,
                    max_spectators,
                    seat_grace_ms: limits.seat_grace.as_millis() as u64,
                    lock: options.lock.clone(),
                    lang: options.lang.clone(),
                    tags: options.tags.clone(),
                },
            };
            let stored = StoredRoom {
                id: spec.id.clone(),
                code: spec.code.clone(),
                game: game.to_owned(),
                config: spec.config.clone(),
                seed: spec.seed,
                created_ms: spec.created_ms,
                public: spec.options.public,
                max_players: spec.options.max_players,
                max_spectators: spec.options.max_spectators,
                seat_grace_ms: spec.options.seat_grace_ms,
                key: options.key.clone(),
                creator: options.creator.clone(),
                lock: options.lock.clone(),
                lang: options.lang.clone(),
                tags: options.tags.clone(),
            };
            // The game must accept the config before anything is stored.
            let start = self.0.registry.prepare(game, spec)?;
            if let Some(p) = &self.0.persistence {
                match p.store.create(stored.clone()).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict) => {
                        if let Some(key) = &options.key
                            && let Ok(Some(_)) = p.store.find_created(key).await
                        {
                            // Another node stored a retry of this request a moment ago.
                            return Err(GameError::new(
                                ErrorCode::Unavailable,
                                "this request's room is being created by another node; retry",
                            ));
                        }
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "storing a new room failed");
                        return Err(GameError::new(
                            ErrorCode::Unavailable,
                            "the room could not be stored",
                        ));
                    }
                }
            }
            let handle = start(self.launch(&stored, 0));
            self.insert(&stored, handle.clone());
            metrics::counter!(crate::metrics::ROOMS_CREATED, "game" => info.name).increment(1);
            return Ok(handle);
        }
        Err(GameError::new(
            ErrorCode::Unavailable,
            "no free room code was found; try again",
        ))
    }

    /// A new room's id, a code no live room here has, and its seed.
    fn fresh_names(&self, seed: Option<u64>) -> Result<(String, String, u64), GameError> {
        // The thread RNG must not live across an await.
        let mut rng = rand::rng();
        let live = self.live();
        if live.by_id.len() >= self.limits().max_rooms {
            return Err(GameError::new(
                ErrorCode::Unavailable,
                "this server holds as many rooms as it may",
            ));
        }
        let code = loop {
            let code: String = (0..CODE_LEN)
                .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
                .collect();
            if !live.by_code.contains_key(&code) {
                break code;
            }
        };
        let id: String = format!("r_{:016x}", rng.random::<u64>());
        Ok((id, code, seed.unwrap_or_else(|| rng.random())))
    }

    fn insert(&self, room: &StoredRoom, handle: RoomHandle) {
        let mut live = self.live();
        live.by_code.insert(room.code.clone(), room.id.clone());
        if let Some(key) = &room.key {
            live.by_key.insert(key.clone(), room.id.clone());
        }
        live.by_id.insert(room.id.clone(), handle);
    }

    /// The id of the room that the `create` request `key` made, if any: live here, or
    /// (with a store) live elsewhere or archived.
    pub async fn created_by(&self, key: &CreateKey) -> Result<Option<String>, StoreError> {
        if let Some(id) = self.live().by_key.get(key) {
            return Ok(Some(id.clone()));
        }
        match &self.0.persistence {
            Some(p) => p.store.find_created(key).await,
            None => Ok(None),
        }
    }

    /// How many live rooms `player` created, counted by the store (so across every node that
    /// shares it, and across restarts); `None` without a store.
    pub async fn live_created(&self, player: &PlayerId) -> Result<Option<u64>, StoreError> {
        match &self.0.persistence {
            Some(p) => p.store.live_created(player).await.map(Some),
            None => Ok(None),
        }
    }

    /// How rooms of this directory start: its lifetimes and store, and a callback that makes
    /// the directory forget the room when it stops by itself.
    fn launch(&self, room: &StoredRoom, fence: u64) -> Launch {
        let weak = Arc::downgrade(&self.0);
        let (close_id, close_code) = (room.id.clone(), room.code.clone());
        let close_key = room.key.clone();
        Launch {
            lifetimes: self.limits().lifetimes,
            persistence: self.0.persistence.clone(),
            fence,
            on_close: Box::new(move || {
                if let Some(inner) = weak.upgrade() {
                    let mut live = inner.live.lock().unwrap_or_else(|p| p.into_inner());
                    live.by_id.remove(&close_id);
                    live.by_code.remove(&close_code);
                    if let Some(key) = &close_key {
                        live.by_key.remove(key);
                    }
                }
            }),
        }
    }

    /// Rebuild and start every room the store holds that is not archived (a single node
    /// owns them all). Fails, naming the rooms, if any cannot be rebuilt exactly: better a
    /// clear startup error than a room that silently lost moves.
    pub async fn restore_all(&self) -> Result<usize, StoreError> {
        let Some(p) = &self.0.persistence else {
            return Ok(0);
        };
        let ids = p.store.active().await?;
        let mut failures = Vec::new();
        let mut restored = 0;
        for id in ids {
            match self.adopt(&id).await {
                Ok(Some(_)) => restored += 1,
                Ok(None) => failures.push(format!("{id}: listed as active but not found")),
                Err(e) => failures.push(format!("{id}: {e}")),
            }
        }
        if failures.is_empty() {
            Ok(restored)
        } else {
            Err(StoreError::Failed(format!(
                "{} room(s) could not be restored: {}",
                failures.len(),
                failures.join("; ")
            )))
        }
    }

    /// Take a stored live room over and start serving it here: raise its fencing token (so
    /// a previous owner can no longer write), rebuild it from its latest snapshot and log
    /// tail, and start it with its timers. Returns the handle and the room's new fencing
    /// token; `None` if the store has no live room `id`. The caller makes sure no other live
    /// handle of the room exists on this node.
    pub async fn adopt(&self, id: &str) -> Result<Option<(RoomHandle, u64)>, StoreError> {
        let Some(p) = &self.0.persistence else {
            return Ok(None);
        };
        let Some(fence) = p.store.claim(id).await? else {
            return Ok(None);
        };
        let Some(loaded) = p.store.load(id).await? else {
            return Ok(None);
        };
        let room = &loaded.room;
        let spec = room.spec();
        let launch = self.launch(room, fence);
        match self.0.registry.restore(&room.game, spec, &loaded, launch) {
            Some(Ok(handle)) => {
                self.insert(room, handle.clone());
                Ok(Some((handle, fence)))
            }
            Some(Err(e)) => Err(StoreError::Failed(e.to_string())),
            None => Err(StoreError::Failed(format!("no game named {:?}", room.game))),
        }
    }

    /// A live room by id or code, loading it from the store if it is stored as live but not
    /// running here (it stopped after a storage failure). For a single node, which owns
    /// every room; a cluster node takes rooms over through its leases instead.
    pub async fn find_or_load(&self, id_or_code: &str) -> Result<Option<RoomHandle>, StoreError> {
        if let Some(h) = self.find(id_or_code) {
            return Ok(Some(h));
        }
        let Some(p) = &self.0.persistence else {
            return Ok(None);
        };
        if !could_name_a_room(id_or_code) {
            return Ok(None);
        }
        let id = if id_or_code.starts_with("r_") {
            id_or_code.to_owned()
        } else {
            match p
                .store
                .find_code(&id_or_code.trim().to_ascii_uppercase())
                .await?
            {
                Some(id) => id,
                None => return Ok(None),
            }
        };
        let _one_at_a_time = self.0.loading.lock().await;
        if let Some(h) = self.find(&id) {
            return Ok(Some(h));
        }
        Ok(self.adopt(&id).await?.map(|(h, _)| h))
    }

    /// Stop serving a room here (see [`RoomCmd::HandOver`]); returns once it has stopped.
    pub async fn hand_over(&self, id: &str) {
        let Some(handle) = self.find(id) else { return };
        let (done, stopped) = tokio::sync::oneshot::channel();
        if handle.send(RoomCmd::HandOver { done }).await.is_ok() {
            let _ = stopped.await;
        }
    }

    /// Ids of the rooms live here.
    pub fn ids(&self) -> Vec<String> {
        self.live().by_id.keys().cloned().collect()
    }

    /// Answer a history query about a room that is not live (archived) from the store.
    pub async fn query_stored(
        &self,
        id: &str,
        viewer: &Viewer,
        query: &Query,
    ) -> Result<Value, GameError> {
        let not_found = || GameError::new(ErrorCode::RoomNotFound, format!("no room {id:?}"));
        let store = self.store().ok_or_else(not_found)?;
        let failed = |e: StoreError| {
            tracing::error!(error = %e, "reading a stored room failed");
            GameError::new(ErrorCode::Internal, "reading the room from storage failed")
        };
        // Rebuild from the nearest snapshot: a past state from the newest snapshot at or
        // below it (the room's record is all it needs besides), the present (also what
        // decides who may read a log page) from the last snapshot `load` reads. A log page is
        // read as asked, apart: no question reads more than a page or the entries since a
        // snapshot, however old the room.
        let (room, base, log, page) = match query {
            Query::StateAt { v: Some(v) } => {
                let room = store
                    .room(id)
                    .await
                    .map_err(failed)?
                    .ok_or_else(not_found)?;
                let base = store.snapshot_at(id, *v).await.map_err(failed)?;
                let from = base.as_ref().map_or(0, |s| s.v);
                let want = usize::try_from(v.saturating_sub(from)).unwrap_or(MAX_STORED_LOG);
                let log = store.log(id, from, want).await.map_err(failed)?;
                (room, base, log, None)
            }
            _ => {
                let Loaded {
                    room,
                    snapshots,
                    log: recent,
                    ..
                } = store
                    .load(id)
                    .await
                    .map_err(failed)?
                    .ok_or_else(not_found)?;
                let page = match query {
                    Query::Log { after, limit } => {
                        Some(store.log(id, *after, *limit).await.map_err(failed)?)
                    }
                    _ => None,
                };
                (room, snapshots.into_iter().next(), recent, page)
            }
        };
        let spec = room.spec();
        let stored = Stored {
            base: base.as_ref(),
            log: &log,
            page: page.as_deref(),
        };
        self.0
            .registry
            .answer(&room.game, spec, stored, viewer, query)
            .ok_or_else(not_found)?
    }

    /// A live room by id (`r_…`) or code (case-insensitive).
    pub fn find(&self, id_or_code: &str) -> Option<RoomHandle> {
        let live = self.live();
        if let Some(h) = live.by_id.get(id_or_code) {
            return Some(h.clone());
        }
        let code = id_or_code.trim().to_ascii_uppercase();
        let id = live.by_code.get(&code)?;
        live.by_id.get(id).cloned()
    }

    /// Facts about live rooms; only public ones when `public_only`.
    pub fn list(&self, public_only: bool) -> Vec<RoomInfo> {
        let handles: Vec<RoomHandle> = self.live().by_id.values().cloned().collect();
        let mut rooms: Vec<RoomInfo> = handles
            .iter()
            .map(RoomHandle::info)
            .filter(|r| r.public || !public_only)
            .collect();
        rooms.sort_by(|a, b| a.id.cmp(&b.id));
        rooms
    }

    /// Number of live rooms.
    pub fn len(&self) -> usize {
        self.live().by_id.len()
    }

    /// True when no room is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stop every room here, for a server that is stopping: each makes what it did durable
    /// and closes its connections; returns once all have stopped.
    pub async fn shut_down(&self) {
        let handles: Vec<RoomHandle> = {
            let mut live = self.live();
            live.by_code.clear();
            live.by_key.clear();
            live.by_id.drain().map(|(_, h)| h).collect()
        };
        // Ask them all first, so that they stop side by side; then wait for each.
        let mut stopping = Vec::with_capacity(handles.len());
        for handle in handles {
            let (done, stopped) = tokio::sync::oneshot::channel();
            if handle.send(RoomCmd::Shutdown { done }).await.is_ok() {
                stopping.push(stopped);
            }
        }
        for stopped in stopping {
            let _ = stopped.await;
        }
    }
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_names_the_engine_could_have_made_are_looked_up() {
        // Six letters, and five for rooms made before codes grew.
        for name in [
            "r_3f9a0c1d2e4b5a69",
            "KXQTPM",
            "kxqtpm",
            " KXQTPM ",
            "KXQTP",
        ] {
            assert!(could_name_a_room(name), "{name}");
        }
        for name in [
            "",
            "r_",
            "r_1",
            "r_3F9A0C1D2E4B5A69",
            "r_3f9a0c1d2e4b5a690",
            "KXQT",
            "KXQTPMM",
            "KXQTPA",
            "KXQTP1",
            "KXQTPO",
            "K QTP",
            "ΚXQTP",
            &"r_".repeat(4_000),
        ] {
            assert!(!could_name_a_room(name), "{name}");
        }
        // Every code and id `create` draws passes.
        let rooms = Rooms::new(Registry::new(), RoomLimits::default());
        for _ in 0..1_000 {
            let (id, code, _) = rooms.fresh_names(None).unwrap();
            assert!(
                code.len() == 6 && could_name_a_room(&id) && could_name_a_room(&code),
                "{id} {code}"
            );
        }
    }
}
