//! Things a room does by itself when their time comes: game timers, turn clocks, bots' moves
//! and the release of held seats.

use super::*;

impl<G: Game> Room<G> {
    /// Do everything due at `now_ms`: game timers (each its own entry), a bot's move and the
    /// release of seats whose grace period ran out, in time order.
    pub fn fire_due(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        while let Some(due) = self.next_due().filter(|d| *d <= now_ms) {
            if self.current.timers.next_due() == Some(due) {
                self.fire_game_timer(due);
            } else if let Some(clock) = self.current.seats.clock().filter(|c| c.due_ms == due) {
                let player = clock.player.clone();
                if let Err(e) = self.commit(EntryKind::Clock { player }) {
                    tracing::error!(room = %self.spec.id, error = %e, "clock entry failed");
                }
            } else if self.pending_bot.as_ref().map(|b| b.due_ms) == Some(due) {
                self.play_bot();
            } else if let Some(player) = self
                .seat_deadlines
                .iter()
                .find(|(_, d)| **d == due)
                .map(|(p, _)| p.clone())
            {
                self.seat_deadlines.remove(&player);
                if let Some(idx) = self.member_index(&player) {
                    tracing::debug!(room = %self.spec.id, %player, "seat released after grace");
                    self.remove_member(idx, None);
                }
            }
        }
        self.settle();
    }

    pub(super) fn fire_game_timer(&mut self, due: u64) {
        let Some(timer) = self.current.timers.pop_due(due) else {
            return;
        };
        let action = match serde_json::to_value(&timer.action) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(room = %self.spec.id, error = %e, "timer action does not serialise");
                return;
            }
        };
        // The timer goes back in so that applying the entry removes it, exactly as replay of
        // the same entry does.
        let id = timer.id;
        self.current.timers.restore(timer);
        if let Err(e) = self.commit(EntryKind::Timer { id, action }) {
            tracing::error!(room = %self.spec.id, error = %e, "timer entry failed");
        }
    }
}
