//! Who sits where, and whose turn clock runs: the part of every room the engine keeps for
//! its game. It changes only through log entries (join, leave, connection, clock), so a
//! replayed room has the same seats in the same order as the live one had.

use arbiter_protocol::{PlayerId, PlayerInfo};
use serde::{Deserialize, Serialize};

/// One taken seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// Seat number, from 0. A newcomer takes the lowest free one.
    pub number: usize,
    /// The player in it.
    pub id: PlayerId,
    /// Their display name.
    pub name: String,
    /// Seated with `add_bot`: the engine plays it through `Game::bot_move`.
    pub bot: bool,
    /// False while a human's last connection is closed and the seat is held for them. Only
    /// games that track connections see this change (it is then logged); elsewhere it
    /// stays true.
    pub connected: bool,
}

/// A running turn clock: when it runs out, the engine logs a clock entry and the game's
/// `Game::out_of_time` decides what happens to `player`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Whose time is running.
    pub player: PlayerId,
    /// Room time (ms since the Unix epoch) at which it runs out.
    pub due_ms: u64,
}

/// The room's seats in seat order. A newcomer takes the lowest free seat, so a player who
/// joins after another left gets the leaver's seat (and, in tic-tac-toe, their mark).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seats {
    /// Taken seats, ordered by number.
    taken: Vec<Seat>,
    /// At most one clock runs per room: starting one stops the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<Clock>,
}

impl Seats {
    /// Taken seats in seat order.
    pub fn iter(&self) -> std::slice::Iter<'_, Seat> {
        self.taken.iter()
    }

    /// Players in seat order.
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = &PlayerId> + Clone {
        self.taken.iter().map(|s| &s.id)
    }

    /// How many seats are taken.
    pub fn len(&self) -> usize {
        self.taken.len()
    }

    /// Nobody is seated.
    pub fn is_empty(&self) -> bool {
        self.taken.is_empty()
    }

    /// The seat of `player`, if they have one.
    pub fn get(&self, player: &PlayerId) -> Option<&Seat> {
        self.taken.iter().find(|s| &s.id == player)
    }

    /// Whether `player` is seated.
    pub fn contains(&self, player: &PlayerId) -> bool {
        self.get(player).is_some()
    }

    /// Who sits in seat `number`.
    pub fn at(&self, number: usize) -> Option<&Seat> {
        self.taken.iter().find(|s| s.number == number)
    }

    /// The first taken seat after seat `number` in seat order, wrapping around, never seat
    /// `number` itself (which may be free: a leaver's turn passes on this way).
    pub fn after(&self, number: usize) -> Option<&Seat> {
        let later = self.taken.iter().find(|s| s.number > number);
        later
            .or_else(|| self.taken.first())
            .filter(|s| s.number != number)
    }

    /// The running turn clock, if any.
    pub fn clock(&self) -> Option<&Clock> {
        self.clock.as_ref()
    }

    /// Seat `player` in the lowest free seat; returns its number.
    pub(crate) fn sit(&mut self, player: &PlayerInfo, bot: bool) -> usize {
        let number = (0..)
            .zip(&self.taken)
            .find(|(n, s)| s.number != *n)
            .map_or(self.taken.len(), |(n, _)| n);
        let seat = Seat {
            number,
            id: player.id.clone(),
            name: player.name.clone(),
            bot,
            connected: true,
        };
        self.taken.insert(number, seat);
        number
    }

    /// Free `player`'s seat and stop their clock.
    pub(crate) fn stand(&mut self, player: &PlayerId) -> Option<Seat> {
        let idx = self.taken.iter().position(|s| &s.id == player)?;
        if self.clock.as_ref().is_some_and(|c| &c.player == player) {
            self.clock = None;
        }
        Some(self.taken.remove(idx))
    }

    pub(crate) fn set_connected(&mut self, player: &PlayerId, connected: bool) {
        if let Some(seat) = self.taken.iter_mut().find(|s| &s.id == player) {
            seat.connected = connected;
        }
    }

    pub(crate) fn start_clock(&mut self, player: PlayerId, due_ms: u64) {
        self.clock = Some(Clock { player, due_ms });
    }

    pub(crate) fn stop_clock(&mut self) -> Option<Clock> {
        self.clock.take()
    }

    pub(crate) fn set_clock(&mut self, clock: Option<Clock>) {
        self.clock = clock;
    }

    /// Move the running clock's deadline `ms` later (the room was paused that long).
    pub(crate) fn postpone_clock(&mut self, ms: u64) {
        if let Some(c) = &mut self.clock {
            c.due_ms = c.due_ms.saturating_add(ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> PlayerInfo {
        PlayerInfo {
            id: PlayerId(id.to_owned()),
            name: id.to_uppercase(),
        }
    }

    #[test]
    fn newcomers_take_the_lowest_free_seat() {
        let mut seats = Seats::default();
        assert_eq!(seats.sit(&info("a"), false), 0);
        assert_eq!(seats.sit(&info("b"), false), 1);
        assert_eq!(seats.sit(&info("c"), true), 2);
        seats.stand(&PlayerId("a".into()));
        assert_eq!(seats.sit(&info("d"), false), 0);
        let order: Vec<&str> = seats.ids().map(|p| p.as_str()).collect();
        assert_eq!(order, ["d", "b", "c"]);
        assert!(seats.get(&PlayerId("c".into())).is_some_and(|s| s.bot));
    }

    #[test]
    fn after_wraps_and_skips_free_seats() {
        let mut seats = Seats::default();
        for p in ["a", "b", "c"] {
            seats.sit(&info(p), false);
        }
        seats.stand(&PlayerId("b".into()));
        let after = |seats: &Seats, n: usize| seats.after(n).map(|s| s.id.as_str().to_owned());
        assert_eq!(after(&seats, 0).as_deref(), Some("c"));
        assert_eq!(
            after(&seats, 1).as_deref(),
            Some("c"),
            "the seat after a free one"
        );
        assert_eq!(after(&seats, 2).as_deref(), Some("a"));
        seats.stand(&PlayerId("c".into()));
        assert_eq!(after(&seats, 0), None, "nobody else is seated");
    }

    #[test]
    fn standing_up_stops_your_clock_only() {
        let mut seats = Seats::default();
        seats.sit(&info("a"), false);
        seats.sit(&info("b"), false);
        seats.start_clock(PlayerId("a".into()), 10);
        seats.stand(&PlayerId("b".into()));
        assert!(seats.clock().is_some());
        seats.stand(&PlayerId("a".into()));
        assert!(seats.clock().is_none());
        assert!(seats.is_empty());
    }
}
