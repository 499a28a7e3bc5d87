//! Actions and the de-duplication books: per-player seqs, remembered answers, stale bases.

use super::*;

/// How many answers per book the room remembers for retried sequence numbers.
pub(super) const SEQ_MEMORY: usize = 64;

/// How many books the room keeps per player for named client instances: a player's
/// instances beyond this (tabs long closed) lose theirs, least recently applied first.
pub(super) const INSTANCE_BOOKS: usize = 16;

/// Whose seqs one book counts: a player and the client instance that sent them (`None` for
/// clients that name no instance, and for bots).
pub(super) type BookKey = (PlayerId, Option<String>);

/// The remembered answer to one sequence number.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    Ack(u64),
    Reject(GameError),
}

/// De-duplication for one (player, instance): the highest seq seen and the answers to the
/// latest ones.
#[derive(Default)]
pub(super) struct SeqBook {
    pub(super) last: u64,
    pub(super) recent: VecDeque<(u64, Answer)>,
    /// The version of the latest entry this book acknowledged: which instance book goes
    /// first when a player has too many. Derived from acks only, so replay agrees.
    pub(super) applied_v: u64,
}

impl SeqBook {
    pub(super) fn remember(&mut self, seq: u64, answer: Answer) {
        self.last = self.last.max(seq);
        if let Answer::Ack(v) = answer {
            self.applied_v = self.applied_v.max(v);
        }
        if self.recent.len() == SEQ_MEMORY {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, answer));
    }

    pub(super) fn answer(&self, seq: u64) -> Option<&Answer> {
        self.recent.iter().find(|(s, _)| *s == seq).map(|(_, a)| a)
    }
}

/// The de-duplication books of a room, one per (player, instance).
#[derive(Default)]
pub(super) struct Books(HashMap<BookKey, SeqBook>);

impl Books {
    pub(super) fn get(&self, key: &BookKey) -> Option<&SeqBook> {
        self.0.get(key)
    }

    /// The highest seq seen from `key`, 0 if none.
    pub(super) fn last(&self, key: &BookKey) -> u64 {
        self.get(key).map_or(0, |b| b.last)
    }

    /// Remember the answer to `seq` from `key`, opening its book if needed (and closing the
    /// player's least recently applied instance book if that makes too many).
    pub(super) fn remember(&mut self, key: BookKey, seq: u64, answer: Answer) {
        if !self.0.contains_key(&key) && key.1.is_some() {
            self.make_room_for(&key.0);
        }
        self.0.entry(key).or_default().remember(seq, answer);
    }

    fn make_room_for(&mut self, player: &PlayerId) {
        let mine = || {
            self.0
                .iter()
                .filter(|((p, i), _)| p == player && i.is_some())
        };
        if mine().count() < INSTANCE_BOOKS {
            return;
        }
        let oldest = mine()
            .min_by(|(ka, a), (kb, b)| a.applied_v.cmp(&b.applied_v).then(ka.1.cmp(&kb.1)))
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.0.remove(&k);
        }
    }

    pub(super) fn insert(&mut self, key: BookKey, book: SeqBook) {
        self.0.insert(key, book);
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&BookKey, &SeqBook)> {
        self.0.iter()
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
        let msg = if self.is_input(&action) {
            // A tick game's input waits for the next tick, whatever version it was based on.
            self.buffer_input(caller, seq, action)
        } else {
            Some(self.answer_act(caller.conn, seq, base, action))
        };
        if let Some(msg) = msg {
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        }
        self.settle();
    }

    pub(super) fn answer_act(
        &mut self,
        conn: ConnId,
        seq: u64,
        base: Option<u64>,
        action: Value,
    ) -> ServerMsg {
        self.answer_seq(conn, seq, move |room, (player, instance)| {
            room.check_and_commit(player, instance, seq, base, action)
        })
    }

    /// [`Room::answer_act`] for entries that are not game actions (undo, redo, consent).
    pub(super) fn answer_entry(
        &mut self,
        conn: ConnId,
        seq: u64,
        entry: impl FnOnce(BookKey) -> EntryKind,
    ) -> ServerMsg {
        self.answer_seq(conn, seq, move |room, key| match room.commit(entry(key)) {
            Ok(v) => Answer::Ack(v),
            Err(e) => Answer::Reject(e),
        })
    }

    /// The checks every seq-carrying request shares: membership, a seat, de-duplication;
    /// then `run` decides, and its answer is remembered for retries.
    pub(super) fn answer_seq(
        &mut self,
        conn: ConnId,
        seq: u64,
        run: impl FnOnce(&mut Self, BookKey) -> Answer,
    ) -> ServerMsg {
        let room = self.spec.id.clone();
        let key = match self.seq_key(conn, seq) {
            Ok(key) => key,
            Err(answer) => return *answer,
        };
        let answer = run(self, key.clone());
        let msg = match &answer {
            Answer::Ack(v) => ServerMsg::Ack {
                room: room.clone(),
                seq,
                v: *v,
            },
            Answer::Reject(e) => reject(&room, seq, e),
        };
        self.books.remember(key, seq, answer);
        msg
    }

    /// Whose book a request with `seq` on `conn` counts in — or, when it must not run, the
    /// answer: the sender is not a seated member, or the seq was answered before (that
    /// answer again, or `SEQ_REUSED` once it is no longer kept).
    pub(super) fn seq_key(&self, conn: ConnId, seq: u64) -> Result<BookKey, Box<ServerMsg>> {
        let room = self.spec.id.clone();
        let player = match self.member_index_of_conn(conn) {
            None => return Err(Box::new(reject(&room, seq, &not_in_room()))),
            Some(idx) if self.members[idx].role != Role::Player => {
                let e = GameError::new(ErrorCode::NotAPlayer, "spectators cannot act");
                return Err(Box::new(reject(&room, seq, &e)));
            }
            Some(idx) => self.members[idx].info.id.clone(),
        };
        let instance = self.conns.get(&conn).and_then(|c| c.instance.clone());
        let key = (player, instance);
        if let Some(book) = self.books.get(&key)
            && seq <= book.last
        {
            return Err(Box::new(match book.answer(seq) {
                Some(Answer::Ack(v)) => ServerMsg::Ack { room, seq, v: *v },
                Some(Answer::Reject(e)) => reject(&room, seq, e),
                None => {
                    let message = format!(
                        "seq {seq} is not above {} and its answer is no longer kept",
                        book.last
                    );
                    reject(&room, seq, &GameError::new(ErrorCode::SeqReused, message))
                }
            }));
        }
        Ok(key)
    }

    pub(super) fn check_and_commit(
        &mut self,
        player: PlayerId,
        instance: Option<String>,
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
            player,
            seq,
            instance,
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
}
