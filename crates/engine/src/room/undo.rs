//! Undo, redo and consent: the requests, and the news of undo proposals that every member of
//! the room gets.

use super::*;
use crate::log::Proposal;
use arbiter_protocol::{ProposalState, UndoTop};

/// The tops of the undo and redo stacks.
pub(super) type UndoTops = (Option<UndoTop>, Option<UndoTop>);

impl<G: Game> Room<G> {
    /// Take back the caller's latest undoable action — or, with `ask`, the room's latest one
    /// when it is another player's, once they consent (this opens a proposal). Uses the
    /// caller's seq like an action, so a retry is answered, not repeated.
    pub fn undo(&mut self, caller: &Caller, seq: u64, ask: bool, now_ms: u64) {
        self.now_ms = now_ms;
        let msg = self.answer_entry(caller.conn, seq, |(player, instance)| EntryKind::Undo {
            player,
            seq,
            instance,
            ask,
        });
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }

    /// Re-apply the action the caller last undid (or that was undone at their request).
    pub fn redo(&mut self, caller: &Caller, seq: u64, now_ms: u64) {
        self.now_ms = now_ms;
        let msg = self.answer_entry(caller.conn, seq, |(player, instance)| EntryKind::Redo {
            player,
            seq,
            instance,
        });
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }

    /// Answer undo proposal `proposal`: accept or refuse it (its proposer withdraws it by
    /// refusing).
    pub fn consent(&mut self, caller: &Caller, seq: u64, proposal: u64, accept: bool, now_ms: u64) {
        self.now_ms = now_ms;
        let msg = self.answer_entry(caller.conn, seq, |(player, instance)| EntryKind::Consent {
            player,
            seq,
            instance,
            proposal,
            accept,
        });
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }

    /// The open undo proposal, if any.
    pub fn proposal(&self) -> Option<&Proposal> {
        self.current.proposal.as_ref()
    }

    /// After entry `kind` made version `v`: the news for every connection of how the undo
    /// proposal open before it (`before`) or since stands, if that changed.
    pub(super) fn proposal_news(
        &self,
        before: Option<Proposal>,
        kind: &EntryKind,
        v: u64,
    ) -> Option<ServerMsg> {
        let (proposal, state) = match (before, &self.current.proposal) {
            (before, Some(now)) if before.as_ref() != Some(now) => {
                (now.clone(), ProposalState::Open)
            }
            (Some(was), None) => {
                let state = match kind {
                    EntryKind::Consent { accept: true, .. } => ProposalState::Accepted,
                    EntryKind::Consent { player, .. } if *player == was.by => {
                        ProposalState::Withdrawn
                    }
                    EntryKind::Consent { .. } => ProposalState::Refused,
                    EntryKind::UndoExpired { .. } => ProposalState::Expired,
                    _ => ProposalState::Dropped,
                };
                (was, state)
            }
            _ => return None,
        };
        Some(self.proposal_msg(proposal, v, state))
    }

    /// After an entry made version `v`: the news for every connection of what `undo` and
    /// `redo` would now take, if that changed from `before` (the tops before the entry).
    pub(super) fn undo_news(&self, before: &UndoTops, v: u64) -> Option<ServerMsg> {
        let now = self.current.undo_tops();
        (now != *before).then(|| self.undo_msg(now, v))
    }

    /// Tell a connection entering the room about the proposal open now and the undo and redo
    /// stacks, when there is something to tell.
    pub(super) fn show_undo(&mut self, caller: &Caller) {
        let tops = self.current.undo_tops();
        if tops != (None, None) {
            let msg = self.undo_msg(tops, self.v);
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        }
        if let Some(open) = self.current.proposal.clone() {
            let msg = self.proposal_msg(open, self.v, ProposalState::Open);
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        }
    }

    fn undo_msg(&self, (undo, redo): UndoTops, v: u64) -> ServerMsg {
        ServerMsg::UndoState {
            room: self.spec.id.clone(),
            v,
            undo,
            redo,
        }
    }

    fn proposal_msg(&self, p: Proposal, v: u64, state: ProposalState) -> ServerMsg {
        ServerMsg::UndoProposal {
            room: self.spec.id.clone(),
            id: p.id,
            v,
            by: p.by,
            of: p.of,
            waiting: p.waiting,
            until: p.until_ms,
            state,
        }
    }
}
