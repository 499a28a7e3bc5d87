//! Games registered by name, behind a type-erased entry.

use crate::actor::{self, Persistence, RoomClock, RoomHandle, RoomLifetimes};
use crate::game::{Game, GameError, GameInfo, Viewer};
use crate::log::LogEntry;
use crate::room::{Query, Room, RoomSpec};
use crate::store::{Loaded, Snapshot};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How to start a room's actor, whatever its game.
pub(crate) struct Launch {
    pub(crate) lifetimes: RoomLifetimes,
    pub(crate) persistence: Option<Persistence>,
    /// The fencing token the room writes with.
    pub(crate) fence: u64,
    pub(crate) on_close: Box<dyn FnOnce() + Send>,
}

/// A room that passed its game's setup and waits to be started (after it is stored).
pub(crate) type Prepared = Box<dyn FnOnce(Launch) -> RoomHandle + Send>;

/// A registered game as `GET /api/v1/games` lists it: the game's facts and what the engine
/// offers for its rooms.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GameListing {
    /// The game's own facts.
    #[serde(flatten)]
    pub info: GameInfo,
    /// Whether `add_bot` can seat a bot in its rooms.
    pub bots: bool,
    /// Whether a seated player's connection closing and coming back are entries of their own
    /// (`connection` in the log: each makes the version go up), or presence only.
    pub connections: bool,
}

/// A registered game with its types erased: it can describe itself and start rooms.
trait GameEntry: Send + Sync {
    fn info(&self) -> GameInfo;
    fn bots(&self) -> bool;
    fn connections(&self) -> bool;
    fn prepare(&self, spec: RoomSpec) -> Result<Prepared, GameError>;
    fn check_config(&self, config: &Value) -> Result<(), GameError>;
    fn restore(
        &self,
        spec: RoomSpec,
        loaded: &Loaded,
        clock: RoomClock,
        launch: Launch,
    ) -> Result<RoomHandle, GameError>;
    fn answer(
        &self,
        spec: RoomSpec,
        stored: Stored<'_>,
        viewer: &Viewer,
        query: &Query,
    ) -> Result<Value, GameError>;
}

/// What storage read to answer a history question about a room that is not live.
pub(crate) struct Stored<'a> {
    /// A stored snapshot to rebuild from, or `None` for the room's creation.
    pub(crate) base: Option<&'a Snapshot>,
    /// The entries after `base`.
    pub(crate) log: &'a [LogEntry],
    /// For [`Query::Log`]: the entries asked for, read apart from the rebuilt room, which
    /// only decides what the viewer may see of them.
    pub(crate) page: Option<&'a [LogEntry]>,
}

struct Entry<G>(Arc<G>);

impl<G: Game> GameEntry for Entry<G> {
    fn info(&self) -> GameInfo {
        self.0.info()
    }

    fn bots(&self) -> bool {
        self.0.has_bots()
    }

    fn connections(&self) -> bool {
        self.0.tracks_connections()
    }

    fn answer(
        &self,
        spec: RoomSpec,
        stored: Stored<'_>,
        viewer: &Viewer,
        query: &Query,
    ) -> Result<Value, GameError> {
        let created = spec.created_ms;
        let base = stored.base.map_or(&[][..], std::slice::from_ref);
        let room = Room::restore(self.0.clone(), spec, base, stored.log, created)?;
        match (query, stored.page) {
            (Query::Log { .. }, Some(page)) => Ok(room.log_page(viewer, page)),
            _ => room.query(viewer, query),
        }
    }

    fn check_config(&self, config: &Value) -> Result<(), GameError> {
        let config = crate::log::parse_config::<G>(config)?;
        let mut rng = crate::rng::GameRng::from_seed(0);
        let mut timers = crate::game::Timers::default();
        let mut seats = crate::seats::Seats::default();
        let mut cx = crate::game::Ctx::new(&mut rng, 0, &mut timers, &mut seats);
        self.0.setup(&config, &mut cx).map(|_| ())
    }

    fn prepare(&self, spec: RoomSpec) -> Result<Prepared, GameError> {
        let room = Room::new(self.0.clone(), spec)?;
        Ok(Box::new(move |launch| {
            start(room, RoomClock::start(), launch)
        }))
    }

    fn restore(
        &self,
        spec: RoomSpec,
        loaded: &Loaded,
        clock: RoomClock,
        launch: Launch,
    ) -> Result<RoomHandle, GameError> {
        let now = clock.now_ms();
        let mut room = Room::restore(self.0.clone(), spec, &loaded.snapshots, &loaded.log, now)?;
        room.restore_chat(&loaded.chat);
        Ok(start(room, clock, launch))
    }
}

fn start<G: Game>(room: Room<G>, clock: RoomClock, launch: Launch) -> RoomHandle {
    actor::spawn(
        room,
        clock,
        launch.lifetimes,
        launch.persistence,
        launch.fence,
        launch.on_close,
    )
}

/// The games a server offers. Adding a game is one `register` call.
#[derive(Clone, Default)]
pub struct Registry {
    games: BTreeMap<&'static str, Arc<dyn GameEntry>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a game under its `info().name`, replacing one of the same name.
    pub fn register<G: Game>(&mut self, game: G) -> &mut Self {
        let name = game.info().name;
        self.games.insert(name, Arc::new(Entry(Arc::new(game))));
        self
    }

    /// Builder form of [`Registry::register`].
    pub fn with<G: Game>(mut self, game: G) -> Self {
        self.register(game);
        self
    }

    /// Every registered game as the lobby lists it, by name.
    pub fn games(&self) -> Vec<GameListing> {
        self.games
            .values()
            .map(|g| GameListing {
                info: g.info(),
                bots: g.bots(),
                connections: g.connections(),
            })
            .collect()
    }

    /// Facts about one game.
    pub fn info(&self, name: &str) -> Option<GameInfo> {
        self.games.get(name).map(|g| g.info())
    }

    /// Whether a room of `game` could be made with `config` (its setup runs on a throwaway
    /// room): the game's facts, or `UNKNOWN_GAME` / `INVALID_CONFIG` as `create` would answer.
    pub fn check_config(&self, game: &str, config: &Value) -> Result<GameInfo, GameError> {
        let entry = self.games.get(game).ok_or_else(|| {
            GameError::new(
                arbiter_protocol::ErrorCode::UnknownGame,
                format!("no game named {game:?}"),
            )
        })?;
        entry.check_config(config)?;
        Ok(entry.info())
    }

    /// Build a new room of `game` (running its setup, so a bad config fails here, before
    /// anything is stored); the result starts it.
    pub(crate) fn prepare(&self, game: &str, spec: RoomSpec) -> Result<Prepared, GameError> {
        let entry = self.games.get(game).ok_or_else(|| {
            GameError::new(
                arbiter_protocol::ErrorCode::UnknownGame,
                format!("no game named {game:?}"),
            )
        })?;
        entry.prepare(spec)
    }

    /// Answer a history query about a room that is not live, by rebuilding it (no actor is
    /// started) from what storage read.
    pub(crate) fn answer(
        &self,
        game: &str,
        spec: RoomSpec,
        stored: Stored<'_>,
        viewer: &Viewer,
        query: &Query,
    ) -> Option<Result<Value, GameError>> {
        let entry = self.games.get(game)?;
        Some(entry.answer(spec, stored, viewer, query))
    }

    /// Rebuild a stored room and start it.
    pub(crate) fn restore(
        &self,
        game: &str,
        spec: RoomSpec,
        loaded: &Loaded,
        launch: Launch,
    ) -> Option<Result<RoomHandle, GameError>> {
        let entry = self.games.get(game)?;
        Some(entry.restore(spec, loaded, RoomClock::start(), launch))
    }
}
