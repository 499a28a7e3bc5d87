//! The client-message decoder, as the server's session calls it on every frame.

use arbiter_protocol::{ClientMsg, Encoding};

/// `protocol_json`: one JSON text frame.
pub(crate) fn json(input: &[u8]) {
    decode(Encoding::Json, input);
}

/// `protocol_msgpack`: one MessagePack binary frame.
pub(crate) fn msgpack(input: &[u8]) {
    decode(Encoding::MsgPack, input);
}

/// Decode a frame as the session does; a message that decodes must survive encode → decode unchanged, or the
/// server and a client reading what it relays would disagree about what was sent.
pub(crate) fn decode(encoding: Encoding, frame: &[u8]) -> Option<ClientMsg> {
    let Ok(msg) = encoding.decode_client(frame) else {
        // The session then parses the frame again to explain what is wrong with it.
        let _ = encoding.decode_value(frame);
        return None;
    };
    let again = encoding
        .decode_client(&encode(encoding, &msg))
        .unwrap_or_else(|e| panic!("{msg:?} re-encoded does not decode: {}", e.0));
    assert_eq!(again, msg, "{encoding:?} round trip changed the message");
    Some(msg)
}

/// A client message as a client sends it.
pub(crate) fn encode(encoding: Encoding, msg: &ClientMsg) -> Vec<u8> {
    match encoding {
        Encoding::Json => serde_json::to_vec(msg).expect("a client message serialises to JSON"),
        Encoding::MsgPack => {
            rmp_serde::to_vec_named(msg).expect("a client message serialises to MessagePack")
        }
    }
}
