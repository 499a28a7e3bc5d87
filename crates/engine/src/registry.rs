//! Games registered by name, behind a type-erased entry.

use crate::actor::{self, RoomClock, RoomHandle, RoomLifetimes};
use crate::game::{Game, GameError, GameInfo};
use crate::room::{Room, RoomSpec};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A registered game with its types erased: it can describe itself and start rooms.
trait GameEntry: Send + Sync {
    fn info(&self) -> GameInfo;
    fn spawn(
        &self,
        spec: RoomSpec,
        clock: RoomClock,
        lifetimes: RoomLifetimes,
        on_close: Box<dyn FnOnce() + Send>,
    ) -> Result<RoomHandle, GameError>;
}

struct Entry<G>(Arc<G>);

impl<G: Game> GameEntry for Entry<G> {
    fn info(&self) -> GameInfo {
        self.0.info()
    }

    fn spawn(
        &self,
        spec: RoomSpec,
        clock: RoomClock,
        lifetimes: RoomLifetimes,
        on_close: Box<dyn FnOnce() + Send>,
    ) -> Result<RoomHandle, GameError> {
        let room = Room::new(self.0.clone(), spec)?;
        Ok(actor::spawn(room, clock, lifetimes, on_close))
    }
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

    /// Facts about every registered game, by name.
    pub fn games(&self) -> Vec<GameInfo> {
        self.games.values().map(|g| g.info()).collect()
    }

    /// Facts about one game.
    pub fn info(&self, name: &str) -> Option<GameInfo> {
        self.games.get(name).map(|g| g.info())
    }

    pub(crate) fn spawn(
        &self,
        game: &str,
        spec: RoomSpec,
        lifetimes: RoomLifetimes,
        on_close: Box<dyn FnOnce() + Send>,
    ) -> Option<Result<RoomHandle, GameError>> {
        let entry = self.games.get(game)?;
        let clock = RoomClock::start();
        let spec = RoomSpec {
            created_ms: clock.now_ms(),
            ..spec
        };
        Some(entry.spawn(spec, clock, lifetimes, on_close))
    }
}
