//! Views: what each view key was last sent, and the patches, snapshots and control frames
//! that keep every connection in step.

use super::*;

/// State frames kept per view key so a returning client can be sent exactly what it missed.
pub(super) const HISTORY: usize = 128;

/// Patches at most this long (bytes) are sent without measuring the snapshot: no snapshot
/// envelope is smaller.
pub(super) const SMALL_PATCH: usize = 96;

/// Who sees which view. Spectators share one; in games with a public view everyone does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ViewKey {
    Public,
    Seat(PlayerId),
}

impl ViewKey {
    pub(super) fn viewer(&self) -> Viewer {
        match self {
            Self::Public => Viewer::Spectator,
            Self::Seat(p) => Viewer::Player(p.clone()),
        }
    }
}

/// The last view sent to one view key, the base of its next patch, and the recent state
/// messages that led to it.
pub(super) struct SentView {
    pub(super) v: u64,
    pub(super) view: Value,
    /// The latest state messages (patches, or a snapshot where that was smaller), oldest
    /// first, each with the version it starts from, forming a chain that ends at `v`.
    pub(super) history: VecDeque<(u64, Arc<ServerMsg>)>,
}

impl SentView {
    pub(super) fn new(v: u64, view: Value) -> Self {
        Self {
            v,
            view,
            history: VecDeque::new(),
        }
    }

    pub(super) fn record(&mut self, from: u64, msg: Arc<ServerMsg>) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((from, msg));
    }

    /// The state messages that take a viewer holding version `since` to `v`, if the history
    /// still reaches back that far.
    pub(super) fn since(&self, since: u64) -> Option<Vec<Arc<ServerMsg>>> {
        if since == self.v {
            return Some(Vec::new());
        }
        let start = self.history.iter().position(|(from, _)| *from == since)?;
        Some(
            self.history
                .iter()
                .skip(start)
                .map(|(_, m)| m.clone())
                .collect(),
        )
    }
}

/// Count a snapshot sent in place of patches.
pub(super) fn fallback(reason: &'static str) {
    metrics::counter!(crate::metrics::SNAPSHOT_FALLBACKS, "reason" => reason).increment(1);
}

impl<G: Game> Room<G> {
    pub(super) fn key_for(&self, player: &PlayerId, role: Role) -> ViewKey {
        if role == Role::Spectator || self.game.public_view() {
            ViewKey::Public
        } else {
            ViewKey::Seat(player.clone())
        }
    }

    /// Send each view key its patch (or snapshot) for the new version: one view, one diff and
    /// one encoded frame per key and encoding, shared by all of the key's connections.
    pub(super) fn fan_out(&mut self) {
        let mut msgs: HashMap<ViewKey, (Arc<ServerMsg>, FrameKind, Bytes)> =
            HashMap::with_capacity(self.views.len());
        for (key, sent) in self.views.iter_mut() {
            let view = self
                .game
                .view(&self.current.state, &self.current.seats, &key.viewer());
            let ops = json_patch::diff(&sent.view, &view);
            let patch = ServerMsg::Patch {
                room: self.spec.id.clone(),
                from: sent.v,
                v: self.v,
                ops,
            };
            let patch_json = Encoding::Json.encode(&patch);
            let mut chosen = (Arc::new(patch), FrameKind::Patch, patch_json);
            if chosen.2.len() > SMALL_PATCH {
                let snapshot = ServerMsg::Snapshot {
                    room: self.spec.id.clone(),
                    v: self.v,
                    view: view.clone(),
                };
                let snapshot_json = Encoding::Json.encode(&snapshot);
                if snapshot_json.len() < chosen.2.len() {
                    chosen = (Arc::new(snapshot), FrameKind::Snapshot, snapshot_json);
                }
            }
            let from = sent.v;
            sent.v = self.v;
            sent.view = view;
            sent.record(from, chosen.0.clone());
            msgs.insert(key.clone(), chosen);
        }
        let mut other_encodings: HashMap<ViewKey, Bytes> = HashMap::new();
        for (&id, conn) in &self.conns {
            let Some((msg, kind, json)) = msgs.get(&conn.key) else {
                continue;
            };
            let encoding = conn.outbox.encoding();
            let bytes = match encoding {
                Encoding::Json => json.clone(),
                other => other_encodings
                    .entry(conn.key.clone())
                    .or_insert_with(|| other.encode(msg))
                    .clone(),
            };
            let frame = Frame {
                kind: *kind,
                room: self.room_id.clone(),
                bytes,
            };
            self.mail.send(id, &conn.outbox, frame);
        }
    }

    /// The version to tell a client resuming from `since` that the room went back to, when
    /// `since` is a version this room's history does not have: above the room's version, or —
    /// in a room loaded from storage — above the version it was loaded at while `player` has
    /// not been back since (what they hold was acknowledged under relaxed durability and
    /// lost). `None` when `since` is one of this room's versions.
    pub(super) fn rewound(&self, player: &PlayerId, since: u64) -> Option<u64> {
        let floor = self.restored_at.unwrap_or(self.v);
        if since > self.v {
            return Some(floor);
        }
        let back = self.returned.get(player).copied().unwrap_or(u64::MAX);
        (since > floor && since < back).then_some(floor)
    }

    /// Bring a connection up to date: the state frames it missed since `since`, or a snapshot.
    pub(super) fn catch_up(&mut self, caller: &Caller, key: &ViewKey, since: Option<u64>) {
        let v = self.v;
        let sent = self.views.entry(key.clone()).or_insert_with(|| {
            SentView::new(
                v,
                self.game
                    .view(&self.current.state, &self.current.seats, &key.viewer()),
            )
        });
        let missed = since.and_then(|s| sent.since(s));
        if since.is_some() && missed.is_none() {
            fallback("resume");
        }
        let frames: Vec<(FrameKind, Arc<ServerMsg>)> = match missed {
            Some(msgs) => msgs
                .into_iter()
                .map(|m| {
                    let kind = match *m {
                        ServerMsg::Snapshot { .. } => FrameKind::Snapshot,
                        _ => FrameKind::Patch,
                    };
                    (kind, m)
                })
                .collect(),
            None => vec![(
                FrameKind::Snapshot,
                Arc::new(ServerMsg::Snapshot {
                    room: self.spec.id.clone(),
                    v: sent.v,
                    view: sent.view.clone(),
                }),
            )],
        };
        for (kind, msg) in frames {
            self.send_to(caller.conn, &caller.outbox, kind, &msg);
        }
    }

    /// Resend the caller's current view as a snapshot.
    pub fn sync(&mut self, caller: &Caller) {
        let Some(key) = self.conns.get(&caller.conn).map(|c| c.key.clone()) else {
            return self.send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        fallback("sync");
        self.catch_up(caller, &key, None);
        self.settle();
    }

    /// Tell every open connection about a presence change.
    pub(super) fn presence(&mut self, event: PresenceEvent, member: Member) {
        let said = match event {
            PresenceEvent::Joined => Some(ChatEventKind::Joined),
            PresenceEvent::Left => Some(ChatEventKind::Left),
            _ => None,
        };
        let who = PlayerInfo {
            id: member.id.clone(),
            name: member.name.clone(),
        };
        let msg = ServerMsg::Presence {
            room: self.spec.id.clone(),
            event,
            member,
        };
        self.broadcast_control(&msg);
        if let Some(kind) = said {
            self.announce(kind, who);
        }
    }

    /// Send one message to every open connection, encoded once per encoding.
    pub(super) fn broadcast_control(&mut self, msg: &ServerMsg) {
        let mut encoded: HashMap<Encoding, Bytes> = HashMap::new();
        for (&id, conn) in &self.conns {
            let encoding = conn.outbox.encoding();
            let bytes = encoded
                .entry(encoding)
                .or_insert_with(|| encoding.encode(msg))
                .clone();
            let frame = Frame {
                kind: FrameKind::Control,
                room: self.room_id.clone(),
                bytes,
            };
            self.mail.send(id, &conn.outbox, frame);
        }
    }
}
