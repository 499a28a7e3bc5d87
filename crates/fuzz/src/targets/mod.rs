//! The fuzz targets: each takes any bytes, must not panic, and asserts its invariant.

mod games;
mod patch;
mod protocol;
mod ws;

pub(crate) use protocol::encode as encode_client;
pub(crate) use ws::{assemble, frame_op};

use crate::mutate::Format;
use arbiter_engine::Game;
use arbiter_games::{
    counter::Counter, dicegame::DiceGame, drift::Drift, owedrahn::OweDrahn, party::Party,
    poker::Poker, race::Race, snake::Snake, tcg::Tcg, tellit::TellIt, tictactoe::TicTacToe,
};

/// One fuzz target.
#[derive(Clone)]
pub struct Target {
    /// Its name on the command line and its corpus and crash directories.
    pub name: String,
    /// Run one input; a panic is a finding.
    pub run: fn(&[u8]),
    /// How the input is laid out, for the structure-aware mutations.
    pub format: Format,
    /// Seeds generated from real values (`arbiter-fuzz seed-corpus` writes them).
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target: the wire, the client's patching, then one per built-in game.
pub fn targets() -> Vec<Target> {
    let mut all = vec![
        Target {
            name: "protocol_json".into(),
            run: protocol::json,
            format: Format::Json { prefix: 0 },
            seeds: crate::corpus::protocol_json,
        },
        Target {
            name: "protocol_msgpack".into(),
            run: protocol::msgpack,
            format: Format::MsgPack,
            seeds: crate::corpus::protocol_msgpack,
        },
        Target {
            name: "ws_frames".into(),
            run: ws::raw,
            format: Format::Bytes,
            seeds: crate::corpus::ws_frames,
        },
        Target {
            name: "server_frames".into(),
            run: ws::frames,
            format: Format::Bytes,
            seeds: crate::corpus::server_frames,
        },
        Target {
            name: "json_patch".into(),
            run: patch::apply,
            format: Format::Json { prefix: 0 },
            seeds: crate::corpus::json_patch,
        },
    ];
    all.extend([
        game::<TicTacToe>(),
        game::<DiceGame>(),
        game::<OweDrahn>(),
        game::<TellIt>(),
        game::<Poker>(),
        game::<Tcg>(),
        game::<Counter>(),
        game::<Drift>(),
        game::<Race>(),
        game::<Snake>(),
        game::<Party>(),
    ]);
    all
}

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    targets().into_iter().find(|t| t.name == name)
}

fn game<G: Game + Default + Clone>() -> Target {
    Target {
        name: format!("game_{}", G::default().info().name),
        run: games::act::<G>,
        format: Format::Json {
            prefix: games::PREFIX,
        },
        seeds: || games::seeds::<G>(32),
    }
}
