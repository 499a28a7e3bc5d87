//! A small game with hidden information, timers and RNG, used to test the engine without a
//! network, and a recording outbox standing in for a connection's queue.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use arbiter_engine::protocol::{Encoding, ErrorCode, PlayerId, PlayerInfo, ServerMsg};
use arbiter_engine::{
    Actor, Caller, Ctx, Frame, Game, GameError, GameInfo, Outbox, Seat, Seats, Viewer,
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Each seated player holds a secret token drawn from the room RNG. A player sees only their
/// own; spectators see none — until a timed `reveal` shows them all.
pub struct Secrets;

#[derive(Clone, Serialize, Deserialize)]
pub struct State {
    pub secrets: BTreeMap<PlayerId, String>,
    pub counter: u64,
    pub chat: Vec<String>,
    pub rolls: Vec<u32>,
    pub revealed: bool,
    pub big: Vec<u32>,
    /// Seated players whose connection is down.
    pub away: Vec<PlayerId>,
    /// Bots bump the counter until it reaches this.
    pub bot_target: u64,
    /// Whose turn clocks ran out, in order.
    pub timeouts: Vec<PlayerId>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Bump,
    Say {
        text: String,
    },
    Roll,
    RollThenFail,
    Arm {
        after_ms: u64,
    },
    Reveal,
    /// Show every secret (`up`), or hide them again. Undoable; showing them is a reveal.
    Flip {
        up: bool,
    },
    Scramble,
    Target {
        n: u64,
    },
    /// Start the actor's turn clock (or stop the running one with `ms: 0`).
    Clock {
        ms: u64,
    },
}

impl Game for Secrets {
    type State = State;
    type Action = Action;
    type Config = Value;

    fn info(&self) -> GameInfo {
        let description = "test game with hidden information";
        GameInfo::new("secrets", "Secrets", description, 1..=3)
    }

    fn setup(&self, _c: &Value, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State {
            secrets: BTreeMap::new(),
            counter: 0,
            chat: Vec::new(),
            rolls: Vec::new(),
            revealed: false,
            big: (0..40).collect(),
            away: Vec::new(),
            bot_target: 0,
            timeouts: Vec::new(),
        })
    }

    fn join(&self, s: &mut State, p: &Seat, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let token = format!("SECRET{:016x}", cx.rng().next_u64());
        s.secrets.insert(p.id.clone(), token);
        Ok(())
    }

    fn leave(&self, s: &mut State, p: &Seat, _cx: &mut Ctx<'_, Action>) {
        s.secrets.remove(&p.id);
    }

    fn apply(
        &self,
        s: &mut State,
        by: &Actor,
        a: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        match (a, by) {
            (Action::Bump, _) => s.counter += 1,
            (Action::Say { text }, _) => s.chat.push(text),
            (Action::Roll, _) => s.rolls.push(cx.rng().below(1_000_000)),
            (Action::RollThenFail, _) => {
                s.rolls.push(cx.rng().below(1_000_000));
                s.counter += 100;
                return Err(GameError::invalid_move("this action always fails"));
            }
            (Action::Arm { after_ms }, _) => {
                cx.schedule(after_ms, Action::Reveal);
            }
            (Action::Reveal, Actor::System) => s.revealed = true,
            (Action::Reveal, Actor::Player(_)) => {
                return Err(GameError::new(
                    ErrorCode::InvalidMove,
                    "only the room reveals",
                ));
            }
            (Action::Flip { up }, _) => {
                if up && !s.revealed {
                    cx.reveal();
                }
                s.revealed = up;
            }
            (Action::Target { n }, _) => s.bot_target = n,
            (Action::Clock { ms: 0 }, _) => cx.stop_clock(),
            (Action::Clock { ms }, Actor::Player(p)) => cx.start_clock(p, ms),
            (Action::Clock { .. }, Actor::System) => {}
            (Action::Scramble, _) => {
                for x in &mut s.big {
                    *x = cx.rng().below(1_000_000) + 1_000_000;
                }
            }
        }
        Ok(())
    }

    fn view(&self, s: &State, _seats: &Seats, viewer: &Viewer) -> Value {
        let secrets: BTreeMap<&PlayerId, Option<&String>> = s
            .secrets
            .iter()
            .map(|(id, secret)| {
                let visible = s.revealed || *viewer == Viewer::Player(id.clone());
                (id, visible.then_some(secret))
            })
            .collect();
        json!({
            "secrets": secrets,
            "counter": s.counter,
            "chat": s.chat,
            "rolls": s.rolls,
            "revealed": s.revealed,
            "big": s.big,
            "away": s.away,
            "timeouts": s.timeouts,
        })
    }

    fn order_independent(&self, a: &Action) -> bool {
        matches!(a, Action::Say { .. })
    }

    fn tracks_connections(&self) -> bool {
        true
    }

    /// Bumps, chat and flips can be taken back (a flip that shows the secrets says so as it
    /// is applied); a roll draws from the RNG and shows its result.
    fn undoable(&self, _s: &State, a: &Action) -> bool {
        matches!(a, Action::Bump | Action::Say { .. } | Action::Flip { .. })
    }

    fn connection(&self, s: &mut State, p: &PlayerId, connected: bool, _cx: &mut Ctx<'_, Action>) {
        s.away.retain(|a| a != p);
        if !connected {
            s.away.push(p.clone());
        }
    }

    fn has_bots(&self) -> bool {
        true
    }

    fn bot_name(&self, n: u32) -> String {
        format!("Robo {n}")
    }

    fn out_of_time(
        &self,
        s: &mut State,
        p: &PlayerId,
        _cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        s.timeouts.push(p.clone());
        Ok(())
    }

    fn bot_move(
        &self,
        s: &State,
        _bot: &Seat,
        rng: &mut arbiter_engine::GameRng,
    ) -> Option<arbiter_engine::BotMove<Action>> {
        (s.counter < s.bot_target).then(|| arbiter_engine::BotMove {
            action: Action::Bump,
            delay_ms: 100 + u64::from(rng.below(50)),
        })
    }
}

/// Records every frame pushed to a connection.
#[derive(Default)]
pub struct Inbox {
    frames: Mutex<Vec<Bytes>>,
    pub refuse: std::sync::atomic::AtomicBool,
    pub encoding: Encoding,
}

impl Outbox for Inbox {
    fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn push(&self, frame: Frame) -> bool {
        if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        self.frames.lock().unwrap().push(frame.bytes);
        true
    }
}

/// A participant: its caller identity and what it received.
pub struct Peer {
    pub caller: Caller,
    pub inbox: Arc<Inbox>,
    seen: usize,
}

impl Peer {
    pub fn new(conn: u64, id: &str) -> Self {
        Self::with_encoding(conn, id, Encoding::Json)
    }

    pub fn with_encoding(conn: u64, id: &str, encoding: Encoding) -> Self {
        let inbox = Arc::new(Inbox {
            encoding,
            ..Inbox::default()
        });
        Self {
            caller: Caller {
                conn,
                player: PlayerInfo {
                    id: id.into(),
                    name: id.to_uppercase(),
                },
                instance: None,
                outbox: inbox.clone(),
            },
            inbox,
            seen: 0,
        }
    }

    pub fn id(&self) -> PlayerId {
        self.caller.player.id.clone()
    }

    /// Every frame ever received, as text.
    pub fn raw(&self) -> Vec<String> {
        self.inbox
            .frames
            .lock()
            .unwrap()
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    /// Every frame ever received, as bytes.
    pub fn raw_bytes(&self) -> Vec<Bytes> {
        self.inbox.frames.lock().unwrap().clone()
    }

    /// Frames received since the last call, decoded.
    pub fn take(&mut self) -> Vec<ServerMsg> {
        let frames = self.inbox.frames.lock().unwrap();
        let out = frames[self.seen..]
            .iter()
            .flat_map(|b| self.inbox.encoding.decode_server(b).unwrap())
            .collect();
        self.seen = frames.len();
        out
    }
}

/// A client-side copy of one room's view, kept by applying what the server sent.
#[derive(Default)]
pub struct Mirror {
    pub v: u64,
    pub view: Value,
    pub versions: Vec<u64>,
}

impl Mirror {
    pub fn absorb(&mut self, msgs: &[ServerMsg]) {
        for m in msgs {
            match m {
                ServerMsg::Snapshot { v, view, .. } => {
                    self.v = *v;
                    self.view = view.clone();
                    self.versions.push(*v);
                }
                ServerMsg::Patch { from, v, ops, .. } => {
                    assert_eq!(*from, self.v, "patch does not start at the version held");
                    json_patch::patch(&mut self.view, ops).unwrap();
                    self.v = *v;
                    self.versions.push(*v);
                }
                _ => {}
            }
        }
    }
}
