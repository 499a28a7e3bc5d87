//! The WebSocket transport, in the order a connection meets it:
//!
//! * [`handshake`]: `GET /ws`, the opening handshake, done here rather than by axum's
//!   extractor so the connection keeps its socket;
//! * [`conn`]: the connection's run loop — read, ping, finish writes, close with a reason;
//! * [`socket`]: the socket shared by the connection and the rooms, which write a member's
//!   frames straight onto it from their own task (see [`crate::queue`]);
//! * [`frame`]: the few bytes of RFC 6455 framing the server writes itself.
//!
//! Reading (frame parsing, unmasking, size caps, UTF-8 checks, answering the client's pings)
//! is tungstenite's.

mod conn;
mod frame;
mod handshake;
mod socket;

pub(crate) use conn::{Dialect, ROOM_MOVED};
pub(crate) use handshake::{accept, upgrade};
