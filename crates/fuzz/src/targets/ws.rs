//! The WebSocket read path: a client's raw byte stream through tungstenite in the server's
//! role, with the caps the server sets in `crates/server/src/ws/conn.rs`.

use super::protocol;
use arbiter_protocol::{DEFAULT_MAX_FRAME, Encoding};
use futures_util::StreamExt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// The server's read buffer (`READ_BUFFER` in conn.rs).
const READ_BUFFER: usize = 4 * 1024;

/// The configuration conn.rs builds for every connection with the default `max_frame`.
fn server_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(DEFAULT_MAX_FRAME))
        .max_frame_size(Some(DEFAULT_MAX_FRAME))
}

/// `ws_frames`: the first byte picks how the stream is cut into reads (1 to 127 bytes at a
/// time, or as much as the reader asks for); the rest is the client's stream.
pub(crate) fn raw(input: &[u8]) {
    let Some((&cut, stream)) = input.split_first() else {
        return;
    };
    read_all(stream, chunk(cut), |_| {});
}

/// `server_frames`: the input is a program that builds well-formed (or deliberately
/// malformed) masked client frames, so most executions get past the frame header; every
/// data message is then decoded as the session would, in the encoding the first byte picks.
pub(crate) fn frames(input: &[u8]) {
    let Some((&head, program)) = input.split_first() else {
        return;
    };
    let encoding = if head & 1 == 0 {
        Encoding::Json
    } else {
        Encoding::MsgPack
    };
    let stream = assemble(program);
    read_all(&stream, chunk(head >> 1), |msg| match msg {
        Message::Text(text) if encoding == Encoding::Json => {
            protocol::decode(encoding, text.as_bytes());
        }
        Message::Binary(bin) if encoding == Encoding::MsgPack => {
            protocol::decode(encoding, bin);
        }
        _ => {}
    });
}

fn chunk(selector: u8) -> usize {
    match selector & 0x7f {
        0 => usize::MAX,
        n => usize::from(n),
    }
}

/// Read messages until the stream errors or ends, checking each against the caps.
fn read_all(stream: &[u8], chunk: usize, mut on_message: impl FnMut(&Message)) {
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let wire = Wire {
                input: stream,
                chunk,
            };
            let mut ws =
                WebSocketStream::from_raw_socket(wire, Role::Server, Some(server_config())).await;
            // Every message or error consumes at least two bytes of the stream.
            let mut budget = stream.len() / 2 + 2;
            while let Some(next) = ws.next().await {
                let Ok(msg) = next else { break };
                assert!(
                    msg.len() <= DEFAULT_MAX_FRAME,
                    "a {} byte message passed the {DEFAULT_MAX_FRAME} byte cap",
                    msg.len()
                );
                on_message(&msg);
                budget = budget
                    .checked_sub(1)
                    .expect("more messages than the stream can hold: the reader loops");
            }
        })
    });
}

thread_local! {
    /// One single-threaded runtime per fuzzing thread: the wire is always ready, so
    /// `block_on` never parks.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
}

/// An in-memory socket: reads come from the input `chunk` bytes at a time, writes (pongs,
/// close replies) are accepted and dropped. Always ready, so no waker is ever needed.
struct Wire<'a> {
    input: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Wire<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = this.chunk.min(this.input.len()).min(buf.remaining());
        let (now, rest) = this.input.split_at(n);
        buf.put_slice(now);
        this.input = rest;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Wire<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Opcodes a frame program can pick: the six defined ones and two reserved.
const OPCODES: [u8; 8] = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa, 0x3, 0xb];

/// Build a client stream from a frame program. Each frame is an op byte, a length, maybe
/// payload bytes and a 4-byte mask key:
///
/// * op bit 7: FIN; bits 6–4: opcode (see [`OPCODES`]); bit 3: set RSV1; bit 2: send
///   unmasked (a protocol error from a client);
/// * op bits 1–0, the length: `0` one byte, payload from the program; `1` two bytes
///   (little-endian), payload from the program; `2` two bytes × 4 of a fill byte (frames up to
///   256 KiB from four bytes of program); `3` eight bytes claimed in the header while only the
///   next byte's worth of payload follows (a lying length).
pub(crate) fn assemble(program: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = program;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let (claimed, payload) = match op & 3 {
            0 | 1 => {
                let n = take_len(&mut rest, if op & 3 == 0 { 1 } else { 2 });
                let payload = take(&mut rest, n).to_vec();
                (payload.len() as u64, payload)
            }
            2 => {
                let n = take_len(&mut rest, 2) * 4;
                let fill = take(&mut rest, 1).first().copied().unwrap_or(b' ');
                (n as u64, vec![fill; n])
            }
            _ => {
                let claimed = take_len(&mut rest, 8) as u64;
                let n = take_len(&mut rest, 1);
                (claimed, take(&mut rest, n).to_vec())
            }
        };
        let mut key = [0u8; 4];
        let k = take(&mut rest, 4);
        key[..k.len()].copy_from_slice(k);
        let masked = op & 0x04 == 0;
        out.push(
            (op & 0x80)
                | if op & 0x08 != 0 { 0x40 } else { 0 }
                | OPCODES[usize::from((op >> 4) & 7)],
        );
        let mask_bit = if masked { 0x80 } else { 0 };
        match claimed {
            0..=125 if op & 3 != 3 => out.push(mask_bit | claimed as u8),
            126..=0xffff if op & 3 != 3 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(claimed as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&claimed.to_be_bytes());
            }
        }
        if masked {
            out.extend_from_slice(&key);
        }
        out.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| if masked { b ^ key[i % 4] } else { *b }),
        );
    }
    out
}

/// One frame of a program, for building seeds: `op` as described at [`assemble`] with
/// length mode 1, and the payload.
pub(crate) fn frame_op(op: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).expect("a seed frame fits in 64 KiB");
    let mut out = vec![(op & !3) | 1];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&[0x37, 0xfa, 0x21, 0x3d]);
    out
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (now, tail) = rest.split_at(n.min(rest.len()));
    *rest = tail;
    now
}

fn take_len(rest: &mut &[u8], width: usize) -> usize {
    take(rest, width)
        .iter()
        .rev()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_builds_frames_tungstenite_reads_back() {
        let hello = br#"{"t":"hello","v":1}"#;
        let program = [frame_op(0x80 | 0x10, hello), frame_op(0x80 | 0x40, b"hi")].concat();
        let stream = assemble(&program);
        let mut seen = Vec::new();
        read_all(&stream, 3, |m| seen.push(m.clone()));
        assert_eq!(
            seen,
            vec![
                Message::text(std::str::from_utf8(hello).expect("utf-8")),
                Message::Ping(b"hi".to_vec().into())
            ]
        );
    }
}
