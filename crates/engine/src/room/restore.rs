//! Snapshots and restore: the room's persistent state, and rebuilding a room from a snapshot
//! plus the entries after it through the same code path as live play.

use super::*;

impl<G: Game> Room<G> {
    /// FNV-1a of the game state's JSON, the determinism fingerprint stored with snapshots.
    pub fn state_hash(&self) -> u64 {
        fnv1a(&serde_json::to_vec(&self.current.state).unwrap_or_default())
    }

    /// The room's full persistent state at the current version.
    pub fn snapshot(&self) -> Snapshot {
        let seats: Vec<Value> = self
            .members
            .iter()
            .filter(|m| m.role == Role::Player)
            .map(|m| json!({ "info": m.info, "bot": m.bot }))
            .collect();
        let books: Vec<Value> = self
            .books
            .iter()
            .map(|((p, instance), b)| {
                let acks: Vec<(u64, u64)> = b
                    .recent
                    .iter()
                    .filter_map(|(s, a)| match a {
                        Answer::Ack(v) => Some((*s, *v)),
                        Answer::Reject(_) => None,
                    })
                    .collect();
                let mut book = json!({ "player": p, "last": b.last, "acks": acks });
                // Only when named, so books of clients without instances look as before.
                if let Some(i) = instance {
                    book["instance"] = json!(i);
                }
                book
            })
            .collect();
        Snapshot {
            v: self.v,
            hash: self.state_hash(),
            state: json!({
                "state": serde_json::to_value(&self.current.state).unwrap_or(Value::Null),
                "rng": self.current.rng,
                "timers": serde_json::to_value(&self.current.timers).unwrap_or(Value::Null),
                "undo": serde_json::to_value(&self.current.undo).unwrap_or(Value::Null),
                "redo": serde_json::to_value(&self.current.redo).unwrap_or(Value::Null),
                "proposal": serde_json::to_value(&self.current.proposal).unwrap_or(Value::Null),
                "table": serde_json::to_value(&self.current.seats).unwrap_or(Value::Null),
                "seats": seats,
                "books": books,
                "bots_added": self.bots_added,
            }),
        }
    }

    /// Rebuild a room from storage: the older snapshot (if any), then every later entry
    /// through the same code path as live play. When a second snapshot lies within the
    /// replayed entries, the rebuilt state's hash must equal the one it recorded — proof
    /// that replay reproduces the room exactly. Seated humans get the grace period to
    /// come back.
    pub fn restore(
        game: Arc<G>,
        spec: RoomSpec,
        snapshots: &[Snapshot],
        log: &[LogEntry],
        now_ms: u64,
    ) -> Result<Self, GameError> {
        let mut room = Room::new(game, spec)?;
        if let Some(base) = snapshots.first() {
            room.load_snapshot(base)?;
            room.base = Some(base.clone());
        }
        let check = snapshots.get(1);
        let start = room.v;
        for entry in log.iter().filter(|e| e.v > start) {
            room.replay_entry(entry)?;
            if let Some(c) = check.filter(|c| c.v == room.v)
                && room.state_hash() != c.hash
            {
                return Err(GameError::new(
                    ErrorCode::Internal,
                    format!("replay diverged from the snapshot at version {}", c.v),
                ));
            }
        }
        room.persisted_v = room.v;
        room.restored_at = Some(room.v);
        room.now_ms = now_ms;
        let deadline = now_ms + room.spec.options.seat_grace_ms;
        for m in room.members.iter().filter(|m| !m.bot) {
            room.seat_deadlines.insert(m.info.id.clone(), deadline);
        }
        Ok(room)
    }

    pub(super) fn load_snapshot(&mut self, snap: &Snapshot) -> Result<(), GameError> {
        let bad = |what: &str, e: serde_json::Error| {
            GameError::new(ErrorCode::Internal, format!("snapshot {what}: {e}"))
        };
        let s = &snap.state;
        self.current.state = G::State::deserialize(&s["state"]).map_err(|e| bad("state", e))?;
        self.current.rng = GameRng::deserialize(&s["rng"]).map_err(|e| bad("rng", e))?;
        self.current.timers = crate::game::Timers::<G::Action>::deserialize(&s["timers"])
            .map_err(|e| bad("timers", e))?;
        let steps = |what: &str, redo: bool| {
            Staged::<G>::load_steps(&s[what], redo)
                .map_err(|e| GameError::new(ErrorCode::Internal, format!("snapshot {what}: {e}")))
        };
        self.current.undo = steps("undo", false)?;
        self.current.redo = steps("redo", true)?;
        self.current.proposal =
            Option::deserialize(&s["proposal"]).map_err(|e| bad("proposal", e))?;
        self.members.clear();
        for seat in s["seats"].as_array().into_iter().flatten() {
            self.members.push(MemberState {
                info: PlayerInfo::deserialize(&seat["info"]).map_err(|e| bad("seat", e))?,
                role: Role::Player,
                bot: seat["bot"].as_bool().unwrap_or(false),
                conns: 0,
                media: Media::default(),
                muted: false,
            });
        }
        self.current.seats = if s["table"].is_null() {
            // A snapshot from before the engine kept seats: seat the members in join order.
            let mut seats = Seats::default();
            for m in &self.members {
                seats.sit(&m.info, m.bot);
            }
            seats
        } else {
            Seats::deserialize(&s["table"]).map_err(|e| bad("seats", e))?
        };
        self.books.clear();
        for book in s["books"].as_array().into_iter().flatten() {
            let player = PlayerId::deserialize(&book["player"]).map_err(|e| bad("book", e))?;
            let instance =
                Option::<String>::deserialize(&book["instance"]).map_err(|e| bad("book", e))?;
            let acks: Vec<(u64, u64)> =
                Vec::deserialize(&book["acks"]).map_err(|e| bad("book", e))?;
            let mut b = SeqBook {
                last: book["last"].as_u64().unwrap_or(0),
                ..SeqBook::default()
            };
            for (seq, v) in acks {
                b.applied_v = b.applied_v.max(v);
                b.recent.push_back((seq, Answer::Ack(v)));
            }
            self.books.insert((player, instance), b);
        }
        self.bots_added = s["bots_added"].as_u64().unwrap_or(0) as u32;
        self.v = snap.v;
        Ok(())
    }

    /// Re-apply one logged entry, with its effects on seats and seq books.
    pub(super) fn replay_entry(&mut self, entry: &LogEntry) -> Result<(), GameError> {
        if entry.v != self.v + 1 {
            return Err(GameError::new(
                ErrorCode::Internal,
                format!("log gap: version {} after {}", entry.v, self.v),
            ));
        }
        self.current
            .apply(&*self.game, &entry.kind, entry.v, entry.at_ms)?;
        self.v = entry.v;
        match &entry.kind {
            EntryKind::Join { player } => self.members.push(MemberState {
                info: player.clone(),
                role: Role::Player,
                bot: player.id.as_str().starts_with(BOT_PREFIX),
                conns: 0,
                media: Media::default(),
                muted: false,
            }),
            EntryKind::Leave { player } => self.members.retain(|m| &m.info.id != player),
            EntryKind::Act {
                player,
                seq,
                instance,
                ..
            }
            | EntryKind::Undo {
                player,
                seq,
                instance,
                ..
            }
            | EntryKind::Redo {
                player,
                seq,
                instance,
            }
            | EntryKind::Consent {
                player,
                seq,
                instance,
                ..
            } => {
                let key = (player.clone(), instance.clone());
                self.books.remember(key, *seq, Answer::Ack(entry.v));
            }
            EntryKind::Tick { inputs } => {
                for i in inputs {
                    let key = (i.player.clone(), i.instance.clone());
                    self.books.remember(key, i.seq, Answer::Ack(entry.v));
                }
            }
            EntryKind::Connection { .. }
            | EntryKind::Clock { .. }
            | EntryKind::Timer { .. }
            | EntryKind::Notice { .. }
            | EntryKind::Pause { .. }
            | EntryKind::Resume { .. }
            | EntryKind::UndoExpired { .. } => {}
        }
        self.log.push(entry.clone());
        Ok(())
    }
}
