//! Bots: asking each bot seat for a move after every change, and playing it when its pause
//! is over.

use super::*;

/// A bot's decided action, waiting for its pause to end.
pub(super) struct PendingBot {
    pub(super) bot: PlayerId,
    pub(super) action: Value,
    pub(super) due_ms: u64,
    /// The decision holds only if nothing changed meanwhile.
    pub(super) at_v: u64,
}

impl<G: Game> Room<G> {
    /// Ask the bots, in seat order, whether one wants to act; remember the first decision.
    /// Bots only play while a human is connected, so an abandoned room goes quiet.
    pub(super) fn plan_bot(&mut self) {
        self.pending_bot = None;
        if self.conns.is_empty() {
            return;
        }
        let bots: Vec<(usize, PlayerId)> = self
            .members
            .iter()
            .filter(|m| m.bot && m.role == Role::Player)
            .map(|m| m.info.id.clone())
            .enumerate()
            .collect();
        for (i, bot) in bots {
            let mut rng = self.bot_rng(i);
            let Some(seat) = self.current.seats.get(&bot) else {
                continue;
            };
            let Some(decision) = self.game.bot_move(&self.current.state, seat, &mut rng) else {
                continue;
            };
            if self.ticking() && self.game.input(&decision.action).is_some() {
                // Inputs go to the next tick (see `Room::tick`).
                continue;
            }
            let action = match serde_json::to_value(&decision.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(room = %self.spec.id, error = %e, "bot action does not serialise");
                    continue;
                }
            };
            self.pending_bot = Some(PendingBot {
                bot,
                action,
                due_ms: self.now_ms + decision.delay_ms,
                at_v: self.v,
            });
            return;
        }
    }

    /// The `i`th bot's own RNG at this version, derived from the room seed.
    pub(super) fn bot_rng(&self, i: usize) -> GameRng {
        let seed = self.spec.seed
            ^ self.v.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (i as u64).rotate_left(32);
        GameRng::from_seed(seed)
    }

    pub(super) fn play_bot(&mut self) {
        let Some(PendingBot {
            bot, action, at_v, ..
        }) = self.pending_bot.take()
        else {
            return;
        };
        if at_v != self.v || self.member_index(&bot).is_none() {
            return self.plan_bot();
        }
        let key = (bot, None);
        let seq = self.books.last(&key) + 1;
        let answer = self.check_and_commit(key.0.clone(), None, seq, None, action);
        if let Answer::Reject(e) = &answer {
            // A bot proposing an illegal move is a bug in its game; it waits for the next
            // change rather than retrying the same move forever.
            tracing::warn!(room = %self.spec.id, bot = %key.0, error = %e, "bot move refused");
        }
        self.books.remember(key, seq, answer);
    }
}
