//! Members and their connections: who is in the room, in which role, seating through the
//! game, bots joining, leaving, dropped connections and held seats.

use super::*;

pub(super) struct MemberState {
    pub(super) info: PlayerInfo,
    pub(super) role: Role,
    pub(super) bot: bool,
    /// Open connections of this member in this room.
    pub(super) conns: u32,
    /// Camera and microphone, as the member last said (`media`); off while unconnected.
    pub(super) media: Media,
    /// The host muted their chat.
    pub(super) muted: bool,
}

impl MemberState {
    pub(super) fn to_member(&self) -> Member {
        Member {
            id: self.info.id.clone(),
            name: self.info.name.clone(),
            role: self.role,
            connected: self.bot || self.conns > 0,
            bot: self.bot,
            media: self.media,
            muted: self.muted,
        }
    }
}

pub(super) struct ConnState {
    pub(super) player: PlayerId,
    /// The client instance (`hello.instance`): its seqs have a book of their own.
    pub(super) instance: Option<String>,
    pub(super) key: ViewKey,
    pub(super) outbox: Arc<dyn Outbox>,
}

impl<G: Game> Room<G> {
    pub(super) fn seated(&self) -> u32 {
        self.members
            .iter()
            .filter(|m| m.role == Role::Player)
            .count() as u32
    }

    pub(super) fn member_index(&self, id: &PlayerId) -> Option<usize> {
        self.members.iter().position(|m| &m.info.id == id)
    }

    pub(super) fn member_index_of_conn(&self, conn: ConnId) -> Option<usize> {
        let player = &self.conns.get(&conn)?.player;
        self.member_index(player)
    }

    /// Enter the room (`create` and `join`). Answers the caller with `joined` and a snapshot,
    /// tells the others with `presence`.
    ///
    /// `since` is the version a returning client holds: it then gets exactly the state frames
    /// it missed (none if it is current) instead of a snapshot, when the room still has them.
    pub fn join(
        &mut self,
        caller: &Caller,
        role: JoinRole,
        rid: Option<u64>,
        since: Option<u64>,
        now_ms: u64,
    ) {
        self.now_ms = now_ms;
        if let Err(e) = self.join_inner(caller, role, rid, since) {
            self.send_error(caller, rid, e.code, e.message);
        }
        self.settle();
    }

    /// Apply news from the server (see [`EntryKind::Notice`]) as a system action; returns the
    /// version it made. Refused news changes nothing and is not logged.
    pub fn notice(&mut self, action: Value, now_ms: u64) -> Result<u64, GameError> {
        self.now_ms = now_ms;
        let made = self.commit(EntryKind::Notice { action });
        self.settle();
        made
    }

    /// `join_or_create`'s try at this room: the caller takes a seat (or the one they hold) and
    /// gets what a `join` gets. When no seat is free, or the game refuses one, the refusal is
    /// returned and sent to no one, so the server can try another room; the room is then
    /// unchanged.
    pub fn seat_for(
        &mut self,
        caller: &Caller,
        rid: Option<u64>,
        now_ms: u64,
    ) -> Result<(), GameError> {
        self.now_ms = now_ms;
        let seated = self.join_inner(caller, JoinRole::Player, rid, None);
        self.settle();
        seated
    }

    /// Enter the room; a refusal to admit the caller is returned for the caller's caller to
    /// answer. Every other answer is sent here.
    fn join_inner(
        &mut self,
        caller: &Caller,
        role: JoinRole,
        rid: Option<u64>,
        since: Option<u64>,
    ) -> Result<(), GameError> {
        if self.conns.contains_key(&caller.conn) {
            self.send_error(
                caller,
                rid,
                ErrorCode::AlreadyInRoom,
                "this connection is already in the room",
            );
            return Ok(());
        }
        let rewound = since.and_then(|s| self.rewound(&caller.player.id, s));
        if self.restored_at.is_some() {
            self.returned
                .entry(caller.player.id.clone())
                .or_insert(self.v);
        }
        let mut notice = None;
        let (idx, is_new) = match self.member_index(&caller.player.id) {
            // Another tab, or a reconnect: the seat (or place) is still there.
            Some(idx) => (idx, false),
            None => match self.admit(&caller.player, role) {
                Ok((new_role, why)) => {
                    notice = why;
                    self.members.push(MemberState {
                        info: caller.player.clone(),
                        role: new_role,
                        bot: false,
                        conns: 0,
                        media: Media::default(),
                        muted: self.is_muted(&caller.player.id),
                    });
                    (self.members.len() - 1, true)
                }
                Err(e) => return Err(e),
            },
        };
        self.members[idx].conns += 1;
        let member = self.members[idx].to_member();
        let role = member.role;
        if is_new {
            self.presence(PresenceEvent::Joined, member);
        } else if self.members[idx].conns == 1 {
            self.presence(PresenceEvent::Connected, member);
            if self.seat_deadlines.remove(&caller.player.id).is_some() {
                self.tell_game_connection(&caller.player.id, true);
            }
        }
        let key = self.key_for(&caller.player.id, role);
        self.conns.insert(
            caller.conn,
            ConnState {
                player: caller.player.id.clone(),
                instance: caller.instance.clone(),
                key: key.clone(),
                outbox: caller.outbox.clone(),
            },
        );
        let joined = ServerMsg::Joined {
            rid,
            room: self.info(),
            role,
            notice,
            members: self.members.iter().map(MemberState::to_member).collect(),
            seq: self
                .books
                .last(&(caller.player.id.clone(), caller.instance.clone())),
            rewound,
        };
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &joined);
        if rewound.is_some() {
            // Patches from `since` would apply to a view the room never had.
            views::fallback("rewound");
            self.catch_up(caller, &key, None);
        } else {
            self.catch_up(caller, &key, since);
        }
        self.replay_chat(caller);
        self.show_undo(caller);
        // A human arriving can wake bots that wait for company.
        self.plan_bot();
        Ok(())
    }

    /// Decide the role of a newcomer, seating them through the game when they get a seat.
    pub(super) fn admit(
        &mut self,
        player: &PlayerInfo,
        role: JoinRole,
    ) -> Result<(Role, Option<String>), GameError> {
        self.game.admit(&self.current.state, &player.id)?;
        if role == JoinRole::Spectator {
            self.spectator_place()?;
            return Ok((Role::Spectator, None));
        }
        let refusal = match self.seat(player) {
            Ok(()) => return Ok((Role::Player, None)),
            Err(e) => e,
        };
        if role == JoinRole::Player {
            return Err(refusal);
        }
        self.spectator_place()?;
        Ok((
            Role::Spectator,
            Some(format!("{}: you are a spectator", refusal.message)),
        ))
    }

    /// Take a seat through the game, if one is free.
    pub(super) fn seat(&mut self, player: &PlayerInfo) -> Result<(), GameError> {
        if self.seated() >= self.spec.options.max_players {
            return Err(GameError::new(ErrorCode::RoomFull, "every seat is taken"));
        }
        let kind = EntryKind::Join {
            player: player.clone(),
        };
        self.commit(kind).map(|_| ())
    }

    pub(super) fn spectator_place(&self) -> Result<(), GameError> {
        let spectators = self.members.len() as u32 - self.seated();
        if spectators < self.spec.options.max_spectators {
            Ok(())
        } else {
            Err(GameError::new(
                ErrorCode::RoomFull,
                "every spectator place is taken",
            ))
        }
    }

    /// Seat a bot (`add_bot`). Any seated player may ask (spectators only watch); the answer
    /// is `bot_added`.
    pub fn add_bot(&mut self, caller: &Caller, rid: Option<u64>, now_ms: u64) {
        self.now_ms = now_ms;
        let Some(idx) = self.member_index_of_conn(caller.conn) else {
            return self.send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        };
        if self.members[idx].role != Role::Player {
            return self.send_error(
                caller,
                rid,
                ErrorCode::NotAPlayer,
                "spectators cannot add bots",
            );
        }
        if !self.game.has_bots() {
            let game = self.game.info().title;
            return self.send_error(
                caller,
                rid,
                ErrorCode::Unsupported,
                format!("{game} has no bots"),
            );
        }
        let n = self.bots_added + 1;
        let bot = PlayerInfo {
            id: PlayerId(format!("{BOT_PREFIX}{n}")),
            name: self.game.bot_name(n),
        };
        if let Err(e) = self.seat(&bot) {
            return self.send_error(caller, rid, e.code, e.message);
        }
        self.bots_added = n;
        self.members.push(MemberState {
            info: bot,
            role: Role::Player,
            bot: true,
            conns: 0,
            media: Media::default(),
            muted: false,
        });
        let member = self.members[self.members.len() - 1].to_member();
        self.presence(PresenceEvent::Joined, member.clone());
        let added = ServerMsg::BotAdded {
            rid,
            room: self.spec.id.clone(),
            bot: member,
        };
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &added);
        self.plan_bot();
        self.settle();
    }

    /// Leave the room. A seated player's seat is released through the game.
    pub fn leave(&mut self, caller: &Caller, rid: Option<u64>, now_ms: u64) {
        self.now_ms = now_ms;
        // A player may give up their seat from a connection that never entered the room (a
        // new tab, a device whose old connection is gone and whose seat is still held).
        let idx = self
            .member_index_of_conn(caller.conn)
            .or_else(|| self.member_index(&caller.player.id));
        let Some(idx) = idx else {
            return self.send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        };
        let from_outside = !self.conns.contains_key(&caller.conn);
        self.remove_member(idx, Some((caller.conn, rid)), None);
        if from_outside {
            let left = ServerMsg::Left {
                rid,
                room: self.spec.id.clone(),
                reason: None,
            };
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &left);
        }
        self.settle();
    }

    /// Remove a member with all their connections (each told `left`; `answer` names the one
    /// that asked and its rid, `reason` why they were removed unasked), releasing their seat
    /// through the game.
    pub(super) fn remove_member(
        &mut self,
        idx: usize,
        answer: Option<(ConnId, Option<u64>)>,
        reason: Option<&str>,
    ) {
        let member = self.members.remove(idx);
        let id = member.info.id.clone();
        self.seat_deadlines.remove(&id);
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.player == id)
            .map(|(&k, _)| k)
            .collect();
        for conn in conns {
            if let Some(c) = self.conns.remove(&conn) {
                let rid = answer.and_then(|(asker, rid)| if asker == conn { rid } else { None });
                let left = ServerMsg::Left {
                    rid,
                    room: self.spec.id.clone(),
                    reason: reason.map(str::to_owned),
                };
                let frame = Frame {
                    kind: FrameKind::Control,
                    room: self.room_id.clone(),
                    bytes: c.outbox.encoding().encode(&left),
                };
                self.mail.send(conn, &c.outbox, frame);
            }
        }
        self.views.remove(&ViewKey::Seat(id.clone()));
        if member.role == Role::Player {
            // Leaving cannot be refused; a failure here is a bug in the game.
            if let Err(e) = self.commit(EntryKind::Leave { player: id }) {
                tracing::error!(room = %self.spec.id, error = %e, "game refused a leave");
            }
        }
        let mut gone = member.to_member();
        gone.connected = false;
        self.presence(PresenceEvent::Left, gone);
    }

    /// A connection closed. A seated member keeps their seat for the grace period.
    pub fn disconnect(&mut self, conn: ConnId, now_ms: u64) {
        self.now_ms = now_ms;
        self.drop_connection(conn);
        self.settle();
    }

    pub(super) fn drop_connection(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let Some(idx) = self.member_index(&c.player) else {
            return;
        };
        self.members[idx].conns -= 1;
        if self.members[idx].conns > 0 {
            return;
        }
        // Nobody streams from a member who is not there.
        self.members[idx].media = Media::default();
        if self.members[idx].role == Role::Spectator {
            // A spectator place is only worth holding while someone watches from it.
            return self.remove_member(idx, None, None);
        }
        let member = self.members[idx].to_member();
        self.presence(PresenceEvent::Disconnected, member);
        let deadline = self.now_ms + self.spec.options.seat_grace_ms;
        self.seat_deadlines.insert(c.player.clone(), deadline);
        self.tell_game_connection(&c.player, false);
    }

    pub(super) fn tell_game_connection(&mut self, player: &PlayerId, connected: bool) {
        if !self.game.tracks_connections() {
            return;
        }
        let kind = EntryKind::Connection {
            player: player.clone(),
            connected,
        };
        if let Err(e) = self.commit(kind) {
            tracing::error!(room = %self.spec.id, error = %e, "connection entry failed");
        }
    }
}
