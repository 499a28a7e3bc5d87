//! docs/protocol.md is the contract: every example in it must be a valid message, and every
//! message type must have an example.

#![allow(clippy::unwrap_used)]

use arbiter_protocol::{ClientMsg, ServerMsg};
use serde_json::Value;
use std::collections::BTreeSet;

fn examples() -> Vec<Value> {
    let doc = include_str!("../../../docs/protocol.md");
    doc.split("```json")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .map(|json| {
            serde_json::from_str(json).unwrap_or_else(|e| panic!("bad JSON example: {e}\n{json}"))
        })
        .collect()
}

#[test]
fn every_example_is_a_valid_message_and_every_type_has_one() {
    let mut client_types = BTreeSet::new();
    let mut server_types = BTreeSet::new();
    for ex in examples() {
        let Some(t) = ex.get("t").and_then(Value::as_str).map(str::to_owned) else {
            continue; // REST bodies
        };
        let as_client = serde_json::from_value::<ClientMsg>(ex.clone());
        let as_server = serde_json::from_value::<ServerMsg>(ex.clone());
        assert!(
            as_client.is_ok() || as_server.is_ok(),
            "example is no message: {ex}\n{as_client:?}\n{as_server:?}"
        );
        if as_client.is_ok() {
            client_types.insert(t.clone());
        }
        if as_server.is_ok() {
            server_types.insert(t);
        }
    }
    for &t in ClientMsg::types() {
        assert!(client_types.contains(t), "no client example for {t}");
    }
    for &t in ServerMsg::types() {
        assert!(server_types.contains(t), "no server example for {t}");
    }
}
