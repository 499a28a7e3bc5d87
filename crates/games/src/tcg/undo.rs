//! Undo and redo, kept inside the game (the engine has no generic undo): a bounded stack of
//! earlier tables, one per undoable action.
//!
//! An action is undoable when it reveals nothing: after it, no player can identify a card
//! they could not identify before. Drawing, looking, revealing, playing a card face up from
//! a hand, flipping a coin or rolling a die, a concession and any loss *seal* the history:
//! both stacks are emptied, so nothing before them can be undone (undoing is last-in,
//! first-out, and no undo can take back what someone has seen). Views are computed from the
//! current table only; the stored tables are never shown.

use super::table::Table;
use arbiter_engine::protocol::PlayerId;
use serde::{Deserialize, Serialize};

/// One undoable action: who took it, what it was, and the table on the other side of it
/// (before it on the undo stack, after it on the redo stack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Whose action it was.
    pub by: PlayerId,
    /// The action's type (`"tap"`, `"move"`, …).
    pub action: String,
    /// Who undid it (redo stack only).
    pub undone_by: Option<PlayerId>,
    /// The table to go back (or forward) to.
    pub table: Table,
}

/// A player asking to undo another player's last action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoRequest {
    /// Who asks.
    pub by: PlayerId,
    /// Whose action it is, who must accept.
    pub of: PlayerId,
}

/// The undo and redo stacks and a pending consent request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Undoable actions, oldest first.
    pub undo: Vec<Step>,
    /// Undone actions that can be redone, most recently undone last.
    pub redo: Vec<Step>,
    /// A pending request to undo someone else's action.
    pub request: Option<UndoRequest>,
}

impl History {
    /// A new undoable action was taken: remember the table before it, forget what could be
    /// redone and any pending request, keep at most `depth` steps.
    pub(crate) fn record(&mut self, by: &PlayerId, action: &str, before: Table, depth: usize) {
        self.undo.push(Step {
            by: by.clone(),
            action: action.to_owned(),
            undone_by: None,
            table: before,
        });
        if self.undo.len() > depth {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.request = None;
    }

    /// Something was revealed (or decided): nothing before now can be undone or redone.
    pub(crate) fn seal(&mut self) {
        self.undo.clear();
        self.redo.clear();
        self.request = None;
    }

    /// Undo the last action, on behalf of `by`; returns whose it was and its type.
    pub(crate) fn undo(&mut self, table: &mut Table, by: &PlayerId) -> Option<(PlayerId, String)> {
        let step = self.undo.pop()?;
        let after = std::mem::replace(table, step.table);
        self.redo.push(Step {
            by: step.by.clone(),
            action: step.action.clone(),
            undone_by: Some(by.clone()),
            table: after,
        });
        self.request = None;
        Some((step.by, step.action))
    }

    /// Redo the last undone action; returns whose it was and its type.
    pub(crate) fn redo(&mut self, table: &mut Table) -> Option<(PlayerId, String)> {
        let step = self.redo.pop()?;
        let before = std::mem::replace(table, step.table);
        self.undo.push(Step {
            by: step.by.clone(),
            action: step.action.clone(),
            undone_by: None,
            table: before,
        });
        self.request = None;
        Some((step.by, step.action))
    }
}
