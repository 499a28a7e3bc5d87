//! A video call at the table: WebRTC offers, answers and ICE candidates relayed to one other
//! member, and each member's camera and microphone state in presence. The media itself goes
//! between the browsers. None of this is logged or stored: a signal is for whoever is
//! connected now, and is lost with the connection like the call it sets up.

use super::*;
use arbiter_protocol::SignalKind;

/// Largest `signal.data`, in bytes of JSON: a session description with many candidates fits.
pub(super) const SIGNAL_MAX_BYTES: usize = 16 * 1024;

impl<G: Game> Room<G> {
    /// Relay `data` from the caller to every connection `to` has in this room.
    pub fn signal(
        &mut self,
        caller: &Caller,
        to: &PlayerId,
        kind: SignalKind,
        data: Value,
        now_ms: u64,
    ) {
        self.now_ms = now_ms;
        let Some(idx) = self.member_index_of_conn(caller.conn) else {
            return self.send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        let from = self.members[idx].info.id.clone();
        let refuse = |why: String| Some((ErrorCode::InvalidField, why));
        let problem = if *to == from {
            refuse("a signal goes to another member".to_owned())
        } else if serde_json::to_string(&data).map_or(0, |d| d.len()) > SIGNAL_MAX_BYTES {
            refuse(format!(
                "signal data is at most {SIGNAL_MAX_BYTES} bytes of JSON"
            ))
        } else {
            match self.member_index(to).map(|i| &self.members[i]) {
                Some(m) if m.conns > 0 => None,
                Some(m) if m.bot => refuse(format!("{to} is a bot and takes no calls")),
                _ => refuse(format!("{to} is not connected to this room")),
            }
        };
        if let Some((code, why)) = problem {
            let details = json!({ "room": self.spec.id, "field": "to", "to": to });
            return self.send_error_with(caller, None, code, why, details);
        }
        let msg = ServerMsg::Signal {
            room: self.spec.id.clone(),
            from,
            kind,
            data,
        };
        let targets: Vec<(ConnId, Arc<dyn Outbox>)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.player == *to)
            .map(|(&id, c)| (id, c.outbox.clone()))
            .collect();
        for (conn, outbox) in targets {
            self.send_to(conn, &outbox, FrameKind::Control, &msg);
        }
        self.settle();
    }

    /// The caller's camera and microphone are now `media`: everyone hears it as presence.
    pub fn media(&mut self, caller: &Caller, media: Media, now_ms: u64) {
        self.now_ms = now_ms;
        let Some(idx) = self.member_index_of_conn(caller.conn) else {
            return self.send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        if self.members[idx].media != media {
            self.members[idx].media = media;
            let member = self.members[idx].to_member();
            self.presence(PresenceEvent::Media, member);
        }
        self.settle();
    }
}
