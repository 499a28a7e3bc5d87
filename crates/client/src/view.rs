//! The local copy of one room's view, kept current from snapshots and patches.
//!
//! Pure bookkeeping with no IO, so gap detection can be tested on its own: the connection task
//! feeds every frame through [`LocalView::apply`] and asks for a `sync` on [`Outcome::Resync`].

use arbiter_protocol::{Patch, ServerMsg};
use json_patch::PatchOperation;
use serde_json::Value;

/// A room's view for this viewer at one state version.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    /// State version the view belongs to.
    pub v: u64,
    /// The view the game renders for this viewer.
    pub view: Value,
}

/// What a frame did to a [`LocalView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The view moved to a new version.
    Updated,
    /// Nothing changed: not a view frame, an old patch already covered by the view, or a patch
    /// that arrived while a fresh snapshot is awaited.
    Unchanged,
    /// The patch does not fit (a version gap, no snapshot yet, or operations that fail). The
    /// view was left as it was and a fresh snapshot must be asked for with `sync`.
    Resync(String),
}

/// One room's view as this client last saw it.
#[derive(Debug, Clone, Default)]
pub struct LocalView {
    current: Option<RoomView>,
    /// A resync was asked for; patches are dropped until its snapshot arrives, so one gap
    /// costs one `sync`, not one per patch still in flight.
    resyncing: bool,
}

impl LocalView {
    /// The view, once a snapshot has arrived.
    pub fn current(&self) -> Option<&RoomView> {
        self.current.as_ref()
    }

    /// True between a [`Outcome::Resync`] and the snapshot that answers it.
    pub fn is_resyncing(&self) -> bool {
        self.resyncing
    }

    /// Take one server frame: a snapshot replaces the view, a patch applies if it starts at
    /// the local version; other frames are ignored.
    pub fn apply(&mut self, msg: &ServerMsg) -> Outcome {
        match msg {
            ServerMsg::Snapshot { v, view, .. } => {
                self.current = Some(RoomView {
                    v: *v,
                    view: view.clone(),
                });
                self.resyncing = false;
                Outcome::Updated
            }
            ServerMsg::Patch { from, v, ops, .. } => self.patch(*from, *v, ops),
            _ => Outcome::Unchanged,
        }
    }

    fn patch(&mut self, from: u64, v: u64, ops: &Patch) -> Outcome {
        if self.resyncing {
            return Outcome::Unchanged;
        }
        let reason = match &mut self.current {
            None => format!("patch {from}->{v} before any snapshot"),
            Some(cur) if v <= cur.v => return Outcome::Unchanged,
            Some(cur) if from != cur.v => {
                format!("gap: patch {from}->{v} but the local view is at {}", cur.v)
            }
            Some(cur) => match apply_whole(&mut cur.view, ops) {
                Ok(()) => {
                    cur.v = v;
                    return Outcome::Updated;
                }
                Err(e) => format!("patch {from}->{v} does not apply: {e}"),
            },
        };
        self.resyncing = true;
        Outcome::Resync(reason)
    }
}

/// Apply all of `ops` to `view`, or none of them. `json_patch::patch` rolls back the
/// operations before a failing one, but not a failing `move` itself: json-patch 4.2 removes
/// the source before it tries the target, and a bad target loses the value; its rollback
/// then fails too and it panics (`unreachable!`). So a patch with a `move` is applied to a
/// copy, without the rollback.
fn apply_whole(view: &mut Value, ops: &Patch) -> Result<(), json_patch::PatchError> {
    if !ops.iter().any(|op| matches!(op, PatchOperation::Move(_))) {
        return json_patch::patch(view, ops);
    }
    let mut next = view.clone();
    json_patch::patch_unsafe(&mut next, ops)?;
    *view = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(v: u64, view: Value) -> ServerMsg {
        ServerMsg::Snapshot {
            room: "r_1".into(),
            v,
            view,
        }
    }

    fn patch(from: u64, v: u64, ops: Value) -> ServerMsg {
        ServerMsg::Patch {
            room: "r_1".into(),
            from,
            v,
            ops: serde_json::from_value(ops).expect("valid RFC 6902 ops"),
        }
    }

    fn at(local: &LocalView) -> Option<(u64, Value)> {
        local.current().map(|c| (c.v, c.view.clone()))
    }

    #[test]
    fn snapshot_then_patches_in_order_track_the_view() {
        let mut local = LocalView::default();
        assert_eq!(
            local.apply(&snapshot(3, json!({"board": [null, null]}))),
            Outcome::Updated
        );
        let set = json!([{"op": "replace", "path": "/board/0", "value": "X"}]);
        assert_eq!(local.apply(&patch(3, 4, set)), Outcome::Updated);
        assert_eq!(local.apply(&patch(4, 5, json!([]))), Outcome::Updated);
        assert_eq!(at(&local), Some((5, json!({"board": ["X", null]}))));
    }

    #[test]
    fn a_gap_asks_for_one_resync_and_the_snapshot_ends_it() {
        let mut local = LocalView::default();
        local.apply(&snapshot(1, json!({"n": 1})));
        let add = json!([{"op": "replace", "path": "/n", "value": 9}]);
        assert!(matches!(
            local.apply(&patch(2, 3, add.clone())),
            Outcome::Resync(_)
        ));
        assert!(local.is_resyncing());
        // Patches still in flight are dropped without asking again.
        assert_eq!(local.apply(&patch(3, 4, add)), Outcome::Unchanged);
        assert_eq!(at(&local), Some((1, json!({"n": 1}))));
        assert_eq!(local.apply(&snapshot(4, json!({"n": 4}))), Outcome::Updated);
        assert!(!local.is_resyncing());
        assert_eq!(
            local.apply(&patch(
                4,
                5,
                json!([{"op": "replace", "path": "/n", "value": 5}])
            )),
            Outcome::Updated
        );
        assert_eq!(at(&local), Some((5, json!({"n": 5}))));
    }

    #[test]
    fn a_patch_before_any_snapshot_needs_a_resync() {
        let mut local = LocalView::default();
        assert!(matches!(
            local.apply(&patch(0, 1, json!([]))),
            Outcome::Resync(_)
        ));
        assert_eq!(at(&local), None);
    }

    #[test]
    fn a_patch_that_fails_leaves_the_view_untouched_and_resyncs() {
        let mut local = LocalView::default();
        local.apply(&snapshot(1, json!({"a": 1})));
        let bad = json!([
            {"op": "replace", "path": "/a", "value": 2},
            {"op": "remove", "path": "/missing"}
        ]);
        assert!(matches!(local.apply(&patch(1, 2, bad)), Outcome::Resync(_)));
        assert_eq!(at(&local), Some((1, json!({"a": 1}))));
    }

    #[test]
    fn a_move_to_a_bad_target_leaves_the_view_untouched() {
        // Found by `arbiter-fuzz run json_patch`: the value moved away was lost.
        let mut local = LocalView::default();
        local.apply(&snapshot(1, json!({"board": [null, "X"], "n": 1})));
        let bad = json!([{"op": "move", "from": "/board", "path": "/nowhere/1"}]);
        assert!(matches!(local.apply(&patch(1, 2, bad)), Outcome::Resync(_)));
        assert_eq!(at(&local), Some((1, json!({"board": [null, "X"], "n": 1}))));
    }

    #[test]
    fn a_failing_move_after_a_move_neither_panics_nor_changes_the_view() {
        // Found by `arbiter-fuzz run json_patch`: json-patch's rollback of the first move
        // failed and it panicked.
        let mut local = LocalView::default();
        let view = json!({"board": [null, "X"], "n": 1});
        local.apply(&snapshot(1, view.clone()));
        let bad = json!([
            {"op": "move", "from": "/board", "path": ""},
            {"op": "move", "from": "/board", "path": ""}
        ]);
        assert!(matches!(local.apply(&patch(1, 2, bad)), Outcome::Resync(_)));
        assert_eq!(at(&local), Some((1, view)));
    }

    #[test]
    fn an_old_patch_already_covered_by_a_snapshot_is_ignored() {
        let mut local = LocalView::default();
        local.apply(&snapshot(7, json!({"a": 7})));
        let op = json!([{"op": "replace", "path": "/a", "value": 6}]);
        assert_eq!(local.apply(&patch(5, 6, op)), Outcome::Unchanged);
        assert!(!local.is_resyncing());
        assert_eq!(at(&local), Some((7, json!({"a": 7}))));
    }

    #[test]
    fn other_frames_do_not_touch_the_view() {
        let mut local = LocalView::default();
        let pong = ServerMsg::Pong { n: Some(1) };
        assert_eq!(local.apply(&pong), Outcome::Unchanged);
        assert_eq!(at(&local), None);
    }
}
