//! What an operator may do to a room (the server's admin API): look inside it, remove a
//! member. Closing is the actor's, since it ends the room (see [`AdminOp::Close`]).

use super::*;

/// An operator's request to one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOp {
    /// Everything about the room: its facts, members, whole state (hidden information
    /// included) and the last `log` entries it holds in memory, unredacted.
    Inspect {
        /// How many of the newest entries to include.
        log: usize,
    },
    /// Remove a member, players and spectators alike, with all their connections; a seated
    /// player's seat is released through the game at once (no grace period).
    Kick {
        /// Whom.
        player: PlayerId,
    },
    /// Close the room: its connections are told (`ROOM_CLOSED` with `reason`), what it did is
    /// made durable first, and it is archived (kept for history, no longer served).
    Close {
        /// Told to its clients.
        reason: String,
    },
}

impl<G: Game> Room<G> {
    /// Answer an operator's request. [`AdminOp::Close`] never reaches here: the actor
    /// handles it, since it ends the room.
    pub fn admin(&mut self, op: &AdminOp, now_ms: u64) -> Result<Value, GameError> {
        self.now_ms = now_ms;
        match op {
            AdminOp::Inspect { log } => {
                let after = self
                    .v
                    .saturating_sub(u64::try_from(*log).unwrap_or(u64::MAX));
                let tail = self.log.read(after, *log).unwrap_or_default();
                let members: Vec<Member> = self.members.iter().map(|m| m.to_member()).collect();
                Ok(json!({
                    "info": self.info(),
                    "config": self.spec.config,
                    "created_ms": self.spec.created_ms,
                    "members": members,
                    "connections": self.conns.len(),
                    "state": serde_json::to_value(&self.current.state).unwrap_or(Value::Null),
                    "state_hash": self.state_hash(),
                    "log": tail,
                    "log_from": self.log.first_version().unwrap_or(self.v + 1),
                }))
            }
            AdminOp::Kick { player } => {
                let idx = self.member_index(player).ok_or_else(|| {
                    GameError::new(
                        ErrorCode::NotInRoom,
                        format!("{player} is not in this room"),
                    )
                })?;
                self.remove_member(idx, None, Some("kicked"));
                self.settle();
                Ok(json!({ "kicked": player, "info": self.info() }))
            }
            AdminOp::Close { .. } => Err(GameError::new(
                ErrorCode::Internal,
                "a close is the room actor's to carry out",
            )),
        }
    }
}
