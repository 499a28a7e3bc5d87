//! Arbiter's built-in games. Each game is one module; [`registry`] lists them all, so adding
//! a game is one module plus one line there.

pub mod counter;
pub mod dicegame;
pub mod drift;
#[cfg(test)]
mod golden;
pub mod owedrahn;
pub mod party;
pub mod poker;
pub mod race;
pub mod snake;
pub mod tcg;
pub mod tellit;
pub mod tictactoe;

use arbiter_engine::Registry;

/// Every built-in game, and the party lobby that picks among them.
pub fn registry() -> Registry {
    games().with(party::Party::default())
}

/// The built-in games, without the lobby.
pub(crate) fn games() -> Registry {
    Registry::new()
        .with(tictactoe::TicTacToe)
        .with(dicegame::DiceGame)
        .with(owedrahn::OweDrahn)
        .with(tellit::TellIt)
        .with(poker::Poker)
        .with(tcg::Tcg)
        .with(counter::Counter)
        .with(drift::Drift)
        .with(snake::Snake)
        .with(race::Race)
}
