//! Seeds: generated from real values (client messages, frames, game views and actions),
//! written once with `arbiter-fuzz seed-corpus` and committed under `corpus/<target>/`, and
//! read back from there by every run.

use crate::targets::{assemble, frame_op};
use arbiter_engine::{Game, Playtest, Viewer};
use arbiter_games::{dicegame::DiceGame, poker::Poker, tictactoe::TicTacToe};
use arbiter_protocol::{ClientMsg, Encoding, JoinRole};
use serde_json::{Value, json};
use std::io;
use std::path::{Path, PathBuf};

/// The committed corpus, one directory per target.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Where crashing inputs are written, one directory per target.
pub fn crash_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes")
}

/// Every file in `dir`, by name; an absent directory is an empty corpus.
pub fn load(dir: &Path) -> io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            files.push((path, bytes));
        }
    }
    files.sort();
    Ok(files)
}

/// Write `seeds` as `dir/seed-NNN`, replacing earlier generated seeds (regression seeds,
/// named otherwise, stay).
pub fn write(dir: &Path, seeds: &[Vec<u8>]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (path, _) in load(dir)? {
        let generated = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"));
        if generated {
            std::fs::remove_file(path)?;
        }
    }
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:03}")), seed)?;
    }
    Ok(())
}

/// Client messages of every kind, with real game actions and configs.
fn client_messages() -> Vec<ClientMsg> {
    let room = || "r_8f2k1".to_owned();
    let mut msgs = vec![
        ClientMsg::Hello {
            v: 1,
            token: None,
            name: Some("Ada".into()),
            instance: None,
        },
        ClientMsg::Hello {
            v: 1,
            token: Some("g1.eyJwIjoicF8xIn0.c2ln".into()),
            name: None,
            instance: None,
        },
        ClientMsg::Hello {
            v: 2,
            token: None,
            name: Some("Zoë \u{1f600}".into()),
            instance: None,
        },
        ClientMsg::Join {
            rid: Some(2),
            room: room(),
            role: JoinRole::default(),
            since: None,
            password: None,
            invite: None,
        },
        ClientMsg::Join {
            rid: Some(3),
            room: "KQXZT".into(),
            role: JoinRole::Spectator,
            since: Some(41),
            password: None,
            invite: None,
        },
        ClientMsg::Leave {
            rid: Some(4),
            room: room(),
        },
        ClientMsg::AddBot {
            rid: None,
            room: room(),
        },
        ClientMsg::Undo {
            room: room(),
            seq: 9,
            ask: false,
        },
        ClientMsg::Undo {
            room: room(),
            seq: 11,
            ask: true,
        },
        ClientMsg::Redo {
            room: room(),
            seq: 10,
        },
        ClientMsg::Consent {
            room: room(),
            seq: 12,
            proposal: 7,
            accept: true,
        },
        ClientMsg::Chat {
            room: room(),
            text: "gg, well played".into(),
        },
        ClientMsg::Chat {
            room: room(),
            text: "\u{202e}reversed \u{0}nul".into(),
        },
        ClientMsg::WatchRooms {
            rid: Some(23),
            filter: arbiter_protocol::RoomFilter {
                game: Some("party".into()),
                space: true,
                lang: Some("pt-br".into()),
                tags: vec!["casual".into()],
            },
        },
        ClientMsg::UnwatchRooms {},
        ClientMsg::Invite {
            rid: Some(24),
            room: room(),
        },
        ClientMsg::ChatHistory {
            rid: Some(21),
            room: room(),
            before: Some(181),
            limit: Some(50),
        },
        ClientMsg::ChatDelete {
            rid: Some(22),
            room: room(),
            id: 181,
        },
        ClientMsg::ChatMute {
            rid: None,
            room: room(),
            player: "p_0b7d4c118f1c2a9e".into(),
            muted: true,
        },
        ClientMsg::Signal {
            room: room(),
            to: "p_0b7d4c118f1c2a9e".into(),
            kind: arbiter_protocol::SignalKind::Ice,
            data: serde_json::json!({"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host", "sdpMid": "0"}),
        },
        ClientMsg::JoinOrCreate {
            rid: Some(9),
            game: "race".into(),
            config: Some(serde_json::json!({"target": 30})),
            max_players: Some(4),
            lang: None,
            tags: Vec::new(),
        },
        ClientMsg::Media {
            room: room(),
            camera: true,
            mic: false,
        },
        ClientMsg::Sync { room: room() },
        ClientMsg::Pause {
            rid: Some(18),
            room: room(),
        },
        ClientMsg::Resume {
            rid: None,
            room: room(),
        },
        ClientMsg::Ping { n: Some(17) },
        ClientMsg::Ping { n: None },
    ];
    let configs = [
        ("tictactoe", json!({"turn_ms": 30000})),
        ("poker", Value::Null),
        ("tcg", json!({"format": "commander"})),
        ("race", json!({"target": 10, "turn_ms": 0})),
        ("snake", json!({"width": 32, "height": 20, "step_ticks": 3})),
        ("dicegame", Value::Null),
    ];
    for (i, (game, config)) in configs.into_iter().enumerate() {
        msgs.push(ClientMsg::Create {
            rid: Some(i as u64),
            game: game.into(),
            config: (!config.is_null()).then_some(config),
            public: Some(i % 2 == 0),
            max_players: Some(2),
            max_spectators: None,
            role: JoinRole::default(),
            seed: (i == 3).then_some(42),
            key: None,
            password: None,
            lang: None,
            tags: Vec::new(),
        });
    }
    let actions = [
        json!({"type": "move", "cell": 4}),
        json!({"type": "add", "n": 3}),
        json!({"type": "add", "n": -9007199254740993i64}),
        json!({"type": "raise", "to": 400}),
        json!({"type": "fold"}),
        json!({"type": "move", "cards": [12, 13], "to": {"zone": "battlefield"}, "position": {"index": 0}}),
        json!({"type": "counter", "card": 7, "name": "+1/+1", "delta": -1}),
        json!([1, 2.5, "x", null, {"deep": [[[]]]}]),
    ];
    for (i, action) in actions.into_iter().enumerate() {
        msgs.push(ClientMsg::Act {
            room: room(),
            seq: i as u64 + 1,
            base: (i % 2 == 1).then_some(i as u64 * 3),
            action,
        });
    }
    msgs
}

/// `protocol_json`: real client messages, and a few near misses the server must refuse.
pub fn protocol_json() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = client_messages()
        .iter()
        .map(|m| crate::targets::encode_client(Encoding::Json, m))
        .collect();
    seeds.extend(
        [
            r#"{"t":"ping","n":1,"extra":true}"#,
            r#"{"t":"act","room":"r_1","seq":-1,"action":{}}"#,
            r#"{"t":"hello","v":1,"v":1}"#,
            r#"[{"t":"ping"},{"t":"sync","room":"r_1"}]"#,
            r#"{"t":"join","room":"r_1","as":"referee"}"#,
        ]
        .map(|s| s.as_bytes().to_vec()),
    );
    seeds
}

/// `protocol_msgpack`: the same messages in MessagePack.
pub fn protocol_msgpack() -> Vec<Vec<u8>> {
    client_messages()
        .iter()
        .map(|m| crate::targets::encode_client(Encoding::MsgPack, m))
        .collect()
}

/// Frame programs (see [`assemble`]) for a session: text or binary messages, fragments,
/// control frames and a close.
fn programs(encoding: Encoding) -> Vec<Vec<u8>> {
    const TEXT: u8 = 0x10;
    const BINARY: u8 = 0x20;
    const CONTINUATION: u8 = 0x00;
    const CLOSE: u8 = 0x30;
    const PING: u8 = 0x40;
    const PONG: u8 = 0x50;
    const FIN: u8 = 0x80;
    let data = if encoding == Encoding::Json {
        TEXT
    } else {
        BINARY
    };
    let msgs: Vec<Vec<u8>> = client_messages()
        .iter()
        .map(|m| crate::targets::encode_client(encoding, m))
        .collect();
    let mut out = Vec::new();
    for (i, msg) in msgs.iter().enumerate() {
        let program = match i % 5 {
            0 => frame_op(FIN | data, msg),
            1 => {
                let (a, b) = msg.split_at(msg.len() / 2);
                [frame_op(data, a), frame_op(FIN | CONTINUATION, b)].concat()
            }
            2 => [
                frame_op(FIN | PING, b"are you there"),
                frame_op(FIN | data, msg),
                frame_op(FIN | PONG, b""),
            ]
            .concat(),
            3 => {
                let (a, b) = msg.split_at(msg.len() / 3);
                [
                    frame_op(data, a),
                    frame_op(FIN | PING, b"mid"),
                    frame_op(FIN | CONTINUATION, b),
                    frame_op(FIN | CLOSE, &[0x03, 0xe8, b'b', b'y', b'e']),
                ]
                .concat()
            }
            _ => [frame_op(FIN | data, msg), frame_op(FIN | data, &msgs[0])].concat(),
        };
        out.push(program);
    }
    // Past the 64 KiB cap: one frame of fill, and a message in fragments that add up to it.
    out.push(vec![FIN | data | 2, 0x01, 0x40, b'a', 1, 2, 3, 4]);
    out.push(
        [
            vec![data | 2, 0x00, 0x30, b'a', 1, 2, 3, 4],
            vec![FIN | CONTINUATION | 2, 0x00, 0x30, b'a', 1, 2, 3, 4],
        ]
        .concat(),
    );
    // A header claiming 2^63 bytes.
    out.push(vec![
        FIN | data | 3,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0x80,
        0,
        1,
        2,
        3,
        4,
    ]);
    out
}

/// `ws_frames`: assembled streams, cut into reads of different sizes.
pub fn ws_frames() -> Vec<Vec<u8>> {
    let mut programs = programs(Encoding::Json);
    programs.extend(programs_sample(Encoding::MsgPack));
    programs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut seed = vec![[0u8, 1, 7, 64, 127][i % 5]];
            seed.extend(assemble(p));
            seed
        })
        .collect()
}

fn programs_sample(encoding: Encoding) -> Vec<Vec<u8>> {
    programs(encoding).into_iter().step_by(4).collect()
}

/// `server_frames`: the programs themselves, JSON and MessagePack sessions.
pub fn server_frames() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (bit, encoding) in [(0u8, Encoding::Json), (1, Encoding::MsgPack)] {
        for (i, p) in programs(encoding).into_iter().enumerate() {
            let cut = [0u8, 2, 14, 126][i % 4];
            let mut seed = vec![bit | cut];
            seed.extend(p);
            seeds.push(seed);
        }
    }
    seeds
}

/// `json_patch`: real views and the patches the server would send between them, and
/// hand-made operations on the edges of RFC 6902.
pub fn json_patch() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let mut pair = |before: &Value, after: &Value| {
        let ops = json_patch::diff(before, after);
        let seed = serde_json::to_vec(&json!([before, ops])).expect("a seed serialises");
        seeds.push(seed);
    };
    views(TicTacToe, 2, 6, &mut pair);
    views(Poker, 3, 10, &mut pair);
    views(DiceGame, 2, 8, &mut pair);
    let doc = json!({"board": [null, "X", null], "a/b": {"~": 1}, "turn": "p_1", "n": [1, 2]});
    let hand = [
        json!([{"op": "add", "path": "/board/-", "value": "O"}]),
        json!([{"op": "remove", "path": "/a~1b/~0"}]),
        json!([{"op": "move", "from": "/n/0", "path": "/n/1"}]),
        json!([{"op": "copy", "from": "/board", "path": "/board/0"}]),
        json!([{"op": "move", "from": "/board", "path": "/board/1"}]),
        json!([{"op": "replace", "path": "", "value": 5}]),
        json!([{"op": "test", "path": "/turn", "value": "p_1"}, {"op": "remove", "path": "/turn"}]),
        json!([{"op": "remove", "path": "/turn"}, {"op": "test", "path": "/turn", "value": 1}]),
        json!([{"op": "add", "path": "/n/01", "value": 0}]),
        json!([{"op": "add", "path": "/n/3", "value": 0}]),
        json!([{"op": "replace", "path": "/missing", "value": 0}]),
    ];
    for ops in hand {
        seeds.push(serde_json::to_vec(&json!([doc, ops])).expect("a seed serialises"));
    }
    seeds.push(
        serde_json::to_vec(&json!([doc, [{"op": "add", "path": "/x", "value": 1}], 6]))
            .expect("a seed serialises"),
    );
    seeds
}

/// Play `game` with `players` seats for `steps` legal actions and hand each (spectator
/// view before, after) pair to `each`.
fn views<G: Game>(game: G, players: u32, steps: usize, each: &mut impl FnMut(&Value, &Value)) {
    let mut table = Playtest::new(game);
    let seats: Vec<_> = (0..players)
        .filter_map(|n| table.seat(&format!("s{n}")).ok())
        .collect();
    let viewer = seats
        .first()
        .map_or(Viewer::Spectator, |p| Viewer::Player(p.clone()));
    for _ in 0..steps {
        let before = table.view(&viewer);
        let Some((p, action)) = seats
            .iter()
            .find_map(|p| Some((p, table.legal_actions(p).into_iter().next()?)))
        else {
            break;
        };
        if table.act(p, action).is_err() {
            break;
        }
        each(&before, &table.view(&viewer));
    }
}
