//! The command path's last step: every room-addressed client message arrives at
//! [`Room::handle`], one arm per message type.

use super::*;
use arbiter_protocol::ClientMsg;

impl<G: Game> Room<G> {
    /// The one way in for a client's message to this room: the actor passes every
    /// room-addressed message here. A new message type is a variant of [`ClientMsg`] and an
    /// arm here.
    pub fn handle(&mut self, caller: &Caller, msg: ClientMsg, now_ms: u64) {
        match msg {
            ClientMsg::Join {
                rid,
                role,
                since,
                password,
                invite,
                ..
            } => {
                // The server checked a password or an invite given; a newcomer to a locked
                // room must give one.
                let newcomer = self.member_index(&caller.player.id).is_none();
                let key = password.is_some() || invite.is_some();
                if self.spec.options.lock.is_some() && !key && newcomer {
                    let why = "this room has a password: join with it or with an invite";
                    return self.send_error(caller, rid, ErrorCode::JoinRefused, why);
                }
                self.join(caller, role, rid, since, now_ms);
            }
            ClientMsg::Leave { rid, .. } => self.leave(caller, rid, now_ms),
            ClientMsg::AddBot { rid, .. } => self.add_bot(caller, rid, now_ms),
            ClientMsg::Act {
                seq, base, action, ..
            } => self.act(caller, seq, base, action, now_ms),
            ClientMsg::Undo { seq, ask, .. } => self.undo(caller, seq, ask, now_ms),
            ClientMsg::Redo { seq, .. } => self.redo(caller, seq, now_ms),
            ClientMsg::Consent {
                seq,
                proposal,
                accept,
                ..
            } => self.consent(caller, seq, proposal, accept, now_ms),
            ClientMsg::Chat { text, .. } => self.chat(caller, &text, now_ms),
            ClientMsg::ChatHistory {
                rid, before, limit, ..
            } => self.chat_history(caller, rid, before, limit),
            ClientMsg::ChatDelete { rid, id, .. } => self.chat_delete(caller, rid, id, now_ms),
            ClientMsg::ChatMute {
                rid, player, muted, ..
            } => self.chat_mute(caller, rid, &player, muted, now_ms),
            ClientMsg::Signal { to, kind, data, .. } => {
                self.signal(caller, &to, kind, data, now_ms);
            }
            ClientMsg::Media { camera, mic, .. } => {
                self.media(caller, Media { camera, mic }, now_ms);
            }
            ClientMsg::Sync { .. } => self.sync(caller),
            ClientMsg::Pause { rid, .. } => self.pause(caller, rid, true, now_ms),
            ClientMsg::Resume { rid, .. } => self.pause(caller, rid, false, now_ms),
            // The session answers these itself; one arriving here is a server bug.
            ClientMsg::Hello { .. }
            | ClientMsg::Create { .. }
            | ClientMsg::JoinOrCreate { .. }
            | ClientMsg::Launch { .. }
            | ClientMsg::WatchRooms { .. }
            | ClientMsg::UnwatchRooms {}
            | ClientMsg::Invite { .. }
            | ClientMsg::Ping { .. } => {
                self.send_error(caller, None, ErrorCode::Internal, "not a room message");
            }
        }
    }
}
