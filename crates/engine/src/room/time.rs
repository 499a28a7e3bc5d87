//! Things a room does by itself when their time comes: game timers, turn clocks, undo
//! proposals lapsing, bots' moves and the release of held seats.

use super::*;

impl<G: Game> Room<G> {
    /// Do everything due at `now_ms`: game timers, turn clocks, a lapsing undo proposal and
    /// ticks (each its own entry), a bot's move and the release of seats whose grace period ran
    /// out, in time order.
    pub fn fire_due(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        while let Some(due) = self.next_due().filter(|d| *d <= now_ms) {
            if let Some((_, entry)) = self.current.due_entry().filter(|(d, _)| *d == due) {
                if let EntryKind::Tick { .. } = entry {
                    self.tick();
                } else if let Err(e) = self.commit(entry) {
                    tracing::error!(room = %self.spec.id, error = %e, "timer or clock entry failed");
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
                    self.remove_member(idx, None, None);
                }
            }
        }
        self.settle();
    }
}
