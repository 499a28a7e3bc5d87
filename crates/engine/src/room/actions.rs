//! Actions and the de-duplication books: per-player seqs, remembered answers, stale bases,
//! undo and redo.

use super::*;

/// How many answers per player the room remembers for retried sequence numbers.
pub(super) const SEQ_MEMORY: usize = 64;

/// The remembered answer to one sequence number.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    Ack(u64),
    Reject(GameError),
}

/// Per-player de-duplication: the highest seq seen and the answers to the latest ones.
#[derive(Default)]
pub(super) struct SeqBook {
    pub(super) last: u64,
    pub(super) recent: VecDeque<(u64, Answer)>,
}

impl SeqBook {
    pub(super) fn remember(&mut self, seq: u64, answer: Answer) {
        self.last = self.last.max(seq);
        if self.recent.len() == SEQ_MEMORY {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, answer));
    }

    pub(super) fn answer(&self, seq: u64) -> Option<&Answer> {
        self.recent.iter().find(|(s, _)| *s == seq).map(|(_, a)| a)
    }
}

pub(super) fn not_in_room() -> GameError {
    GameError::new(ErrorCode::NotInRoom, "not in this room")
}

pub(super) fn reject(room: &str, seq: u64, e: &GameError) -> ServerMsg {
    metrics::counter!(crate::metrics::REJECTS, "code" => e.code.as_str()).increment(1);
    ServerMsg::Reject {
        room: room.to_owned(),
        seq,
        code: e.code,
        message: e.message.clone(),
        details: e.details.clone(),
    }
}

impl<G: Game> Room<G> {
    /// A player's action: de-duplicate, check the base version, apply, fan out, answer.
    pub fn act(
        &mut self,
        caller: &Caller,
        seq: u64,
        base: Option<u64>,
        action: Value,
        now_ms: u64,
    ) {
        self.now_ms = now_ms;
        let msg = self.answer_act(caller.conn, seq, base, action);
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }

    pub(super) fn answer_act(
        &mut self,
        conn: ConnId,
        seq: u64,
        base: Option<u64>,
        action: Value,
    ) -> ServerMsg {
        self.answer_seq(conn, seq, move |room, player| {
            room.check_and_commit(&player, seq, base, action)
        })
    }

    /// [`Room::answer_act`] for entries that are not game actions (undo, redo).
    pub(super) fn answer_entry(
        &mut self,
        conn: ConnId,
        seq: u64,
        entry: impl FnOnce(PlayerId) -> EntryKind,
    ) -> ServerMsg {
        self.answer_seq(conn, seq, move |room, player| {
            match room.commit(entry(player)) {
                Ok(v) => Answer::Ack(v),
                Err(e) => Answer::Reject(e),
            }
        })
    }

    /// The checks every seq-carrying request shares: membership, a seat, de-duplication;
    /// then `run` decides, and its answer is remembered for retries.
    pub(super) fn answer_seq(
        &mut self,
        conn: ConnId,
        seq: u64,
        run: impl FnOnce(&mut Self, PlayerId) -> Answer,
    ) -> ServerMsg {
        let room = self.spec.id.clone();
        let player = match self.member_index_of_conn(conn) {
            None => return reject(&room, seq, &not_in_room()),
            Some(idx) if self.members[idx].role != Role::Player => {
                let e = GameError::new(ErrorCode::NotAPlayer, "spectators cannot act");
                return reject(&room, seq, &e);
            }
            Some(idx) => self.members[idx].info.id.clone(),
        };
        let book = self.books.entry(player.clone()).or_default();
        if seq <= book.last {
            return match book.answer(seq) {
                Some(Answer::Ack(v)) => ServerMsg::Ack { room, seq, v: *v },
                Some(Answer::Reject(e)) => reject(&room, seq, e),
                None => {
                    let message = format!(
                        "seq {seq} is not above {} and its answer is no longer kept",
                        book.last
                    );
                    reject(&room, seq, &GameError::new(ErrorCode::SeqReused, message))
                }
            };
        }
        let answer = run(self, player.clone());
        let msg = match &answer {
            Answer::Ack(v) => ServerMsg::Ack {
                room: room.clone(),
                seq,
                v: *v,
            },
            Answer::Reject(e) => reject(&room, seq, e),
        };
        self.books.entry(player).or_default().remember(seq, answer);
        msg
    }

    pub(super) fn check_and_commit(
        &mut self,
        player: &PlayerId,
        seq: u64,
        base: Option<u64>,
        action: Value,
    ) -> Answer {
        match base {
            Some(b) if b > self.v => {
                return Answer::Reject(GameError {
                    code: ErrorCode::InvalidField,
                    message: format!("base {b} is ahead of the room's version {}", self.v),
                    details: Some(json!({ "v": self.v })),
                });
            }
            Some(b) if b < self.v => {
                let independent = match parse_action::<G>(&action) {
                    Ok(a) => self.game.order_independent(&a),
                    Err(e) => return Answer::Reject(e),
                };
                if !independent {
                    return Answer::Reject(GameError {
                        code: ErrorCode::Stale,
                        message: format!(
                            "the action was based on version {b}; the room is at {}",
                            self.v
                        ),
                        details: Some(json!({ "v": self.v })),
                    });
                }
            }
            _ => {}
        }
        let kind = EntryKind::Act {
            player: player.clone(),
            seq,
            action,
        };
        match self.commit(kind) {
            Ok(v) => {
                self.metrics.applied.increment(1);
                Answer::Ack(v)
            }
            Err(e) => Answer::Reject(e),
        }
    }

    /// Take back (`redo: false`) or re-apply (`redo: true`) the caller's latest undoable
    /// action. Uses the caller's seq like an action, so a retry is answered, not repeated.
    pub fn undo(&mut self, caller: &Caller, seq: u64, redo: bool, now_ms: u64) {
        self.now_ms = now_ms;
        let msg = self.answer_entry(caller.conn, seq, |player| {
            if redo {
                EntryKind::Redo { player, seq }
            } else {
                EntryKind::Undo { player, seq }
            }
        });
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }
}
