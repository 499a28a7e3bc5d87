//! The Arbiter room engine.
//!
//! A [`Game`] is plain rules over plain data. The engine hosts each room as an actor that
//! owns its state and is its only writer: it de-duplicates actions by (player, seq), checks
//! the version an action was based on, applies it to a copy of the state, logs it, and sends
//! every viewer the patch from their last view to their new one. All randomness comes from
//! the room's seeded [`GameRng`] and all time from the log, so a room's state is a function
//! of (game, config, seed, log) — see [`replay`].

mod actor;
mod game;
mod log;
pub mod metrics;
mod outbox;
mod playtest;
mod registry;
mod rng;
mod room;
mod rooms;
mod seats;
mod store;
mod turns;

pub use actor::{Durability, Persistence, RoomCmd, RoomGone, RoomHandle, RoomLifetimes};
pub use arbiter_protocol as protocol;
pub use game::{
    Actor, BotMove, Ctx, Game, GameError, GameInfo, Input, InputMode, Pause, Status, Timer,
    TimerId, Timers, Viewer,
};
pub use log::{EntryKind, LogEntry, Proposal, Replayed, TickInput, replay};
pub use outbox::{Caller, ConnId, Frame, FrameKind, Outbox};
pub use playtest::Playtest;
pub use registry::{GameListing, Registry};
pub use rng::GameRng;
pub use room::{AdminOp, CHAT_KEPT, Query, Room, RoomOptions, RoomSpec};
pub use rooms::{CreateOptions, RoomLimits, Rooms, could_name_a_room};
pub use seats::{Clock, Seat, Seats};
pub use store::{
    Archive, ChatChange, CreateKey, GameResult, Loaded, ResultsOf, Snapshot, Store, StoreError,
    StoreFuture, StoredChat, StoredRoom, fnv1a,
};
pub use turns::{Next, Round, TurnAction, TurnConfig, TurnGame, Turns};
