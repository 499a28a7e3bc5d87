//! JSON Patch application in the client: `LocalView::apply` with a `patch` frame, which calls
//! `json_patch::patch` on the local view.

use arbiter_client::{LocalView, Outcome};
use arbiter_protocol::{Patch, ServerMsg};
use serde_json::Value;

/// `json_patch`: the input is `[view, ops]` (or `[view, ops, from]` to aim at a version gap).
/// The client's contract (view.rs): a patch either applies in full and moves the view to the
/// patch's version, or the view stays exactly as it was and a resync is asked for.
pub(crate) fn apply(input: &[u8]) {
    let Ok(Value::Array(parts)) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let (Some(view), Some(ops)) = (parts.first(), parts.get(1)) else {
        return;
    };
    let Ok(ops) = serde_json::from_value::<Patch>(ops.clone()) else {
        return;
    };
    let from = parts.get(2).and_then(Value::as_u64).unwrap_or(7);
    let mut local = LocalView::default();
    let snapshot = ServerMsg::Snapshot {
        room: "r_fuzz".into(),
        v: 7,
        view: view.clone(),
    };
    assert_eq!(local.apply(&snapshot), Outcome::Updated);
    let frame = ServerMsg::Patch {
        room: "r_fuzz".into(),
        from,
        v: from.saturating_add(1),
        ops: ops.clone(),
    };
    let before = local.current().cloned();
    match local.apply(&frame) {
        Outcome::Updated => {
            let now = local.current().expect("an updated view exists");
            assert_eq!(
                now.v,
                from.saturating_add(1),
                "the view moved to the wrong version"
            );
            // The same operations one at a time must give the same document.
            let mut stepwise = view.clone();
            for op in ops.iter() {
                json_patch::patch(&mut stepwise, std::slice::from_ref(op))
                    .expect("each operation of a patch that applied applies on its own");
            }
            assert_eq!(now.view, stepwise, "the patch applied differently in steps");
        }
        Outcome::Resync(_) | Outcome::Unchanged => {
            assert_eq!(
                local.current().cloned(),
                before,
                "a patch that did not apply changed the view"
            );
        }
    }
}
