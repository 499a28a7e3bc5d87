//! Room time for games that tick, and for every game pausing: inputs buffered between ticks,
//! each tick one entry holding the inputs it consumed (acknowledged with the tick's version),
//! bots' inputs, and pausing and resuming room time — by the host, or by the room itself when
//! every seated player is gone.

use super::*;
use crate::game::Pause;
use crate::log::TickInput;
use actions::BookKey;

/// Inputs one player may have waiting for a tick; more are refused with `RATE_LIMITED`.
pub(super) const INPUTS_PER_TICK: usize = 16;

/// An input waiting for the next tick.
pub(super) struct Buffered {
    /// The connection its ack goes to (none for a bot's).
    pub(super) to: Option<(ConnId, Arc<dyn Outbox>)>,
    /// Whose seqs it counts in.
    pub(super) key: BookKey,
    pub(super) seq: u64,
    pub(super) action: Value,
}

impl<G: Game> Room<G> {
    /// True while the game ticks (and the room is not paused).
    pub(super) fn ticking(&self) -> bool {
        self.current.timers.tick_due().is_some()
    }

    /// Whether `action` waits for the next tick rather than applying at once.
    pub(super) fn is_input(&self, action: &Value) -> bool {
        self.ticking()
            && parse_action::<G>(action)
                .ok()
                .is_some_and(|a| self.game.input(&a).is_some())
    }

    /// Keep a player's input for the next tick. The answer, if one is due now: a refusal, or
    /// the remembered answer to a seq already consumed. An input waiting already (a retry) is
    /// kept once; its `ack` comes with the tick.
    pub(super) fn buffer_input(
        &mut self,
        caller: &Caller,
        seq: u64,
        action: Value,
    ) -> Option<ServerMsg> {
        let key = match self.seq_key(caller.conn, seq) {
            Ok(key) => key,
            Err(answer) => return Some(*answer),
        };
        if self.inputs.iter().any(|b| b.key == key && b.seq == seq) {
            return None;
        }
        let waiting = self.inputs.iter().filter(|b| b.key.0 == key.0).count();
        if waiting >= INPUTS_PER_TICK {
            let e = GameError {
                code: ErrorCode::RateLimited,
                message: format!("{INPUTS_PER_TICK} inputs already wait for the next tick"),
                details: Some(json!({ "retry_after_ms": self.game.tick_ms(&self.current.state) })),
            };
            return Some(actions::reject(&self.spec.id, seq, &e));
        }
        self.inputs.push(Buffered {
            to: Some((caller.conn, caller.outbox.clone())),
            key,
            seq,
            action,
        });
        None
    }

    /// Fire the tick that is due: one entry with every input buffered since the last, then
    /// each input's `ack`, then the bots' inputs for the next one.
    pub(super) fn tick(&mut self) {
        let buffered = std::mem::take(&mut self.inputs);
        let mut answers = Vec::with_capacity(buffered.len());
        let inputs = buffered
            .into_iter()
            .map(|b| {
                answers.push((b.to, b.key.clone(), b.seq));
                TickInput {
                    player: b.key.0,
                    seq: b.seq,
                    instance: b.key.1,
                    action: b.action,
                }
            })
            .collect();
        let made = self.commit(EntryKind::Tick { inputs });
        for (to, key, seq) in answers {
            let msg = match &made {
                Ok(v) => ServerMsg::Ack {
                    room: self.spec.id.clone(),
                    seq,
                    v: *v,
                },
                Err(e) => actions::reject(&self.spec.id, seq, e),
            };
            if let Ok(v) = made {
                self.books.remember(key, seq, Answer::Ack(v));
            }
            if let Some((conn, outbox)) = to.filter(|(c, _)| self.conns.contains_key(c)) {
                self.send_to(conn, &outbox, FrameKind::Control, &msg);
            }
        }
        if let Err(e) = made {
            tracing::error!(room = %self.spec.id, error = %e, "tick failed");
        }
        self.bot_inputs();
    }

    /// Each bot's input for the next tick, while a human is connected (bots of a ticking
    /// game decide every tick, without the pause turn games give them).
    fn bot_inputs(&mut self) {
        if self.conns.is_empty() || !self.ticking() {
            return;
        }
        let bots: Vec<PlayerId> = self
            .members
            .iter()
            .filter(|m| m.bot && m.role == Role::Player)
            .map(|m| m.info.id.clone())
            .collect();
        for (i, bot) in bots.into_iter().enumerate() {
            let mut rng = self.bot_rng(i);
            let Some(seat) = self.current.seats.get(&bot) else {
                continue;
            };
            let Some(decision) = self.game.bot_move(&self.current.state, seat, &mut rng) else {
                continue;
            };
            if self.game.input(&decision.action).is_none() {
                continue;
            }
            let Ok(action) = serde_json::to_value(&decision.action) else {
                continue;
            };
            let key = (bot, None);
            let seq = self
                .inputs
                .iter()
                .filter(|b| b.key == key)
                .map(|b| b.seq)
                .max()
                .unwrap_or_else(|| self.books.last(&key))
                + 1;
            self.inputs.push(Buffered {
                to: None,
                key,
                seq,
                action,
            });
        }
    }

    /// The host's `pause` (`pause: true`) or `resume`.
    pub fn pause(&mut self, caller: &Caller, rid: Option<u64>, pause: bool, now_ms: u64) {
        self.now_ms = now_ms;
        if self.member_index_of_conn(caller.conn).is_none() {
            return self.send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        }
        if self.moderator() != Some(&caller.player.id) {
            let why = "only the host pauses and resumes the game";
            return self.send_error(caller, rid, ErrorCode::Forbidden, why);
        }
        let by = Some(caller.player.id.clone());
        let kind = if pause {
            EntryKind::Pause { by }
        } else {
            EntryKind::Resume { by }
        };
        if let Err(e) = self.commit(kind) {
            self.send_error(caller, rid, e.code, e.message);
        }
        self.settle();
    }

    /// Pause room time when every seated player has disconnected while something runs on
    /// it (a tick, a timer, a turn clock); resume it when one comes back to a room that
    /// paused itself. A room the host paused stays paused until the host resumes it.
    pub(super) fn pause_when_abandoned(&mut self) {
        let humans = self
            .members
            .iter()
            .filter(|m| !m.bot && m.role == Role::Player);
        let (seated, connected) =
            humans.fold((0, 0), |(s, c), m| (s + 1, c + (m.conns > 0) as u32));
        let timers = &self.current.timers;
        let kind = match timers.paused() {
            None if seated > 0 && connected == 0 => {
                let runs = timers.tick_due().is_some()
                    || !timers.pending().is_empty()
                    || self.current.seats.clock().is_some();
                runs.then_some(EntryKind::Pause { by: None })
            }
            Some(Pause { by: None, .. }) if connected > 0 => Some(EntryKind::Resume { by: None }),
            _ => None,
        };
        if let Some(kind) = kind
            && let Err(e) = self.commit(kind)
        {
            tracing::error!(room = %self.spec.id, error = %e, "pause or resume failed");
        }
    }

    /// After entry `kind` made version `v`: news for every connection that the room paused
    /// or resumed.
    pub(super) fn pause_news(&self, kind: &EntryKind, v: u64) -> Option<ServerMsg> {
        let (paused, by) = match kind {
            EntryKind::Pause { by } => (true, by),
            EntryKind::Resume { by } => (false, by),
            _ => return None,
        };
        Some(ServerMsg::Paused {
            room: self.spec.id.clone(),
            v,
            paused,
            by: by.clone(),
        })
    }
}
