//! Read-only questions about a room's past: the log and past views (the REST history API).

use super::*;

/// The answer to a history question about entries a room restored from a snapshot no longer
/// holds (storage has them): the server then asks storage.
pub(super) fn in_storage() -> GameError {
    GameError::new(
        ErrorCode::Unavailable,
        "this part of the room's history is in storage",
    )
}

/// Read-only questions about a room's history (the REST history API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Log entries above version `after`, at most `limit` of them.
    Log {
        /// Exclusive lower bound.
        after: u64,
        /// Most entries to return.
        limit: usize,
    },
    /// The viewer's view at version `v` (the current one when `None`).
    StateAt {
        /// The version.
        v: Option<u64>,
    },
    /// The game's own records (e.g. poker hand histories), as the viewer may see them.
    History,
    /// The actions the viewer may take now (none for a spectator) and where the game stands:
    /// what a generic client offers without knowing the game's rules.
    Legal,
}

impl<G: Game> Room<G> {
    /// This room's state rebuilt from its creation parameters and log — the check that
    /// replay reproduces it. A room whose journal starts after a snapshot (restored, or
    /// trimmed once storage held a snapshot) cannot: its early entries are in storage only.
    pub fn replayed(&self) -> Result<crate::log::Replayed<G>, GameError> {
        if self.base.is_some() {
            return Err(in_storage());
        }
        self.replay_to(self.v)
    }

    /// The room as it was at version `v`: rebuilt from the snapshot the journal starts after
    /// (or from creation) and the entries up to `v`. Older versions are storage's to answer.
    pub(super) fn replay_to(&self, v: u64) -> Result<crate::log::Replayed<G>, GameError> {
        if let Some(base) = &self.base {
            if v < base.v {
                return Err(in_storage());
            }
            let entries = self
                .log
                .read(base.v, usize::try_from(v - base.v).unwrap_or(usize::MAX))?;
            let past = Room::restore(
                self.game.clone(),
                self.spec.clone(),
                std::slice::from_ref(base),
                &entries,
                self.now_ms,
            )?;
            return Ok(past.current.into());
        }
        if self.log.first_version().is_some_and(|first| first > 1) {
            return Err(in_storage());
        }
        let entries = self.log.read(0, usize::try_from(v).unwrap_or(usize::MAX))?;
        crate::log::replay(
            &*self.game,
            &self.spec.config,
            self.spec.seed,
            self.spec.created_ms,
            &entries,
        )
    }

    /// Answer a read-only question about the room's history for `viewer`.
    pub fn query(&self, viewer: &Viewer, query: &Query) -> Result<Value, GameError> {
        match query {
            Query::Log { after, limit } => {
                // The journal holds what follows the snapshot it starts after, and may be
                // empty once storage holds everything: earlier entries are storage's.
                let base = self.base.as_ref().map_or(0, |b| b.v);
                if *after < base
                    || self
                        .log
                        .first_version()
                        .is_some_and(|first| first > after.saturating_add(1))
                {
                    return Err(in_storage());
                }
                Ok(self.log_page(viewer, &self.log.read(*after, *limit)?))
            }
            Query::StateAt { v } => {
                let v = &v.unwrap_or(self.v);
                if *v > self.v {
                    return Err(GameError::new(
                        ErrorCode::InvalidField,
                        format!("the room is at version {}", self.v),
                    ));
                }
                if *v == self.v {
                    return Ok(
                        json!({ "v": v, "view": self.game.view(&self.current.state, &self.current.seats, viewer) }),
                    );
                }
                let past = self.replay_to(*v)?;
                Ok(json!({ "v": v, "view": self.game.view(&past.state, &past.seats, viewer) }))
            }
            Query::History => Ok(json!({
                "v": self.v,
                "history": self.game.history(&self.current.state, viewer),
            })),
            Query::Legal => {
                let (state, seats) = (&self.current.state, &self.current.seats);
                let actions = match viewer {
                    Viewer::Player(p) if seats.contains(p) => {
                        self.game.legal_actions(state, seats, p)
                    }
                    _ => Vec::new(),
                };
                let ranking = match self.game.status(state, seats) {
                    Status::Finished { ranking } => Some(ranking),
                    _ => None,
                };
                let (.., status, v) = self.info_counts();
                Ok(json!({ "v": v, "status": status, "ranking": ranking, "actions": actions }))
            }
        }
    }

    /// A page of the log as `viewer` may read it: with `action`s hidden unless the game is
    /// public or over, or the viewer wrote them.
    pub(crate) fn log_page(&self, viewer: &Viewer, entries: &[LogEntry]) -> Value {
        let finished = matches!(
            self.game.status(&self.current.state, &self.current.seats),
            Status::Finished { .. }
        );
        let open = self.game.public_view() || finished;
        let entries: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut entry = serde_json::to_value(e).unwrap_or(Value::Null);
                let own = match (&e.kind, viewer) {
                    (EntryKind::Act { player, .. }, Viewer::Player(p)) => player == p,
                    _ => false,
                };
                // Actions can carry what others may not see yet (a secret text):
                // shown when the game is public or over, or to their author.
                if !open
                    && !own
                    && let Some(fields) = entry.as_object_mut()
                {
                    fields.remove("action");
                }
                // A tick's inputs likewise, each but the viewer's own.
                if !open && let Some(inputs) = entry.get_mut("inputs").and_then(Value::as_array_mut)
                {
                    for input in inputs {
                        let mine =
                            matches!(viewer, Viewer::Player(p) if input["player"] == json!(p));
                        if let (false, Some(fields)) = (mine, input.as_object_mut()) {
                            fields.remove("action");
                        }
                    }
                }
                entry
            })
            .collect();
        json!({ "v": self.v, "entries": entries })
    }
}
