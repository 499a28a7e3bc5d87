//! One connection's socket, shared: rooms write a member's frames onto it directly from their
//! own task ([`Wire`]), the connection writes what they could not, and tungstenite reads
//! through [`Reader`].

use super::frame::{OP_BINARY, OP_TEXT, put_header};
use crate::queue::{ConnQueue, Item, Sent, Wire};
use arbiter_protocol::Encoding;
use bytes::{BufMut, Bytes, BytesMut};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Queued messages are sent as batch frames of at most this many bytes (one bigger message
/// goes alone), so a client catching up never meets one huge frame.
const BATCH_BYTES: usize = 64 * 1024;

/// Frames up to this size are copied behind their header and sent as one buffer; bigger
/// ones go as header + shared bytes in one vectored write.
const COPY_BELOW: usize = 16 * 1024;

/// One connection's socket, shared by its reader and every writer.
pub(super) struct Socket<T> {
    io: Mutex<T>,
    opcode: u8,
    encoding: Encoding,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Socket<T> {
    pub(super) fn new(io: T, encoding: Encoding) -> Self {
        let opcode = match encoding {
            // JSON frames are produced from `String`s by the server itself: valid UTF-8.
            Encoding::Json => OP_TEXT,
            Encoding::MsgPack => OP_BINARY,
        };
        Self {
            io: Mutex::new(io),
            opcode,
            encoding,
        }
    }

    fn io(&self) -> MutexGuard<'_, T> {
        // A write either happened or did not; a poisoned lock leaves nothing half-done.
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write what the socket takes now, without waiting.
    fn try_write(&self, parts: &[&[u8]]) -> Sent {
        let total: usize = parts.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Sent::All;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut io = self.io();
        let mut written = 0;
        // A write may take less than it could; go on until the socket says stop.
        while written < total {
            let io = Pin::new(&mut *io);
            let poll = match parts {
                [one] => io.poll_write(&mut cx, &one[written..]),
                _ => io.poll_write_vectored(&mut cx, &skip(parts, written)),
            };
            match poll {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Sent::Broken,
                Poll::Ready(Ok(n)) => written += n,
                Poll::Pending => break,
            }
        }
        match written {
            0 => Sent::Nothing,
            n if n == total => Sent::All,
            n => {
                let mut rest = BytesMut::with_capacity(total - n);
                for b in skip(parts, n) {
                    rest.put_slice(&b);
                }
                Sent::Part(rest.freeze())
            }
        }
    }

    /// Write everything, waiting for the socket as long as it takes.
    pub(super) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n =
                std::future::poll_fn(|cx| Pin::new(&mut *self.io()).poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Frame what the queue gave the transport: leftover bytes first, then consecutive
    /// messages as one frame (a batch frame when several, up to [`BATCH_BYTES`] each), and
    /// pre-framed items as they are.
    pub(super) fn frame_drained(&self, rest: Option<Bytes>, items: Vec<Item>) -> BytesMut {
        let mut out = BytesMut::new();
        if let Some(rest) = rest {
            out.put_slice(&rest);
        }
        let mut run: Vec<Bytes> = Vec::new();
        let mut run_bytes = 0;
        for item in items {
            match item {
                Item::Msg(frame) => {
                    if run_bytes + frame.bytes.len() > BATCH_BYTES {
                        self.put_frame(&mut out, &std::mem::take(&mut run));
                        run_bytes = 0;
                    }
                    run_bytes += frame.bytes.len();
                    run.push(frame.bytes);
                }
                Item::Framed(bytes) => {
                    self.put_frame(&mut out, &std::mem::take(&mut run));
                    run_bytes = 0;
                    out.put_slice(&bytes);
                }
            }
        }
        self.put_frame(&mut out, &run);
        out
    }

    /// Append one frame carrying `messages`: the message itself, or a batch of several.
    fn put_frame<B: AsRef<[u8]>>(&self, out: &mut BytesMut, messages: &[B]) {
        match messages {
            [] => {}
            [one] => {
                put_header(out, self.opcode, one.as_ref().len());
                out.put_slice(one.as_ref());
            }
            many => {
                put_header(out, self.opcode, self.encoding.batch_len(many));
                self.encoding.batch_into(out, many);
            }
        }
    }
}

impl<T> Wire for Socket<T>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    fn try_send(&self, messages: &[&Bytes]) -> Sent {
        if let [one] = messages
            && one.len() > COPY_BELOW
        {
            // Big: the header, then the shared bytes, in one vectored write.
            let mut header = BytesMut::with_capacity(10);
            put_header(&mut header, self.opcode, one.len());
            return self.try_write(&[&header, one]);
        }
        // Small (or a batch, which is built anyway): one buffer and a plain send cost the
        // kernel less than a two-part writev.
        let payload = match messages {
            [one] => one.len(),
            many => self.encoding.batch_len(many),
        };
        let mut frame = BytesMut::with_capacity(10 + payload);
        self.put_frame(&mut frame, messages);
        self.try_write(&[&frame])
    }

    fn try_send_framed(&self, bytes: &Bytes) -> Sent {
        self.try_write(&[bytes])
    }
}

/// `parts` without their first `n` bytes, as slices for a vectored write.
fn skip<'a>(parts: &[&'a [u8]], mut n: usize) -> Vec<IoSlice<'a>> {
    let mut out = Vec::with_capacity(parts.len());
    for b in parts {
        if n >= b.len() {
            n -= b.len();
        } else {
            out.push(IoSlice::new(&b[n..]));
            n = 0;
        }
    }
    out
}

/// What tungstenite reads from and writes to: reads come from the socket; its own writes
/// (pongs to the client's pings, the reply to a close) join the connection's queue so they
/// keep their place among the frames the rooms write.
pub(super) struct Reader<T> {
    pub(super) socket: Arc<Socket<T>>,
    pub(super) queue: Arc<ConnQueue>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Reader<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.socket.io()).poll_read(cx, buf)
    }
}

impl<T> AsyncWrite for Reader<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.queue.push_framed(Bytes::copy_from_slice(buf)) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::queue::{QueueLimits, QueuedBytes};
    use arbiter_engine::{Frame, FrameKind, Outbox};
    use futures_util::StreamExt;
    use serde_json::Value;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;

    fn numbered(n: usize) -> Frame {
        Frame {
            kind: FrameKind::Control,
            room: Arc::from(""),
            bytes: Bytes::from(format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(1000))),
        }
    }

    /// Direct writes, the queue behind a blocked socket and the transport's writes interleave
    /// and the client still reads every frame once, in order, through a real WebSocket parser.
    #[tokio::test]
    async fn frames_keep_their_order_when_the_socket_blocks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let socket = Arc::new(Socket::new(server, Encoding::Json));
        let queued = Arc::new(QueuedBytes::default());
        let limits = QueueLimits {
            frames: 1 << 20,
            bytes: 1 << 30,
        };
        let queue = Arc::new(ConnQueue::new(
            Encoding::Json,
            limits,
            queued.clone(),
            Some(socket.clone() as Arc<dyn Wire>),
        ));
        const N: usize = 40_000;
        // Nobody reads yet: the kernel's buffers fill and the rest waits in the queue.
        for n in 0..N / 2 {
            assert!(queue.push(numbered(n)));
        }
        assert!(
            queued.get() > 0,
            "20 MB must not fit in the socket's buffers"
        );
        let writer = {
            let (socket, queue) = (socket.clone(), queue.clone());
            tokio::spawn(async move {
                loop {
                    queue.ready().await;
                    let d = queue.drain();
                    let bytes = socket.frame_drained(d.rest, d.items);
                    socket.write_all(&bytes).await.unwrap();
                    queue.written();
                }
            })
        };
        let reader = tokio::spawn(async move {
            let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            let mut next = 0;
            while next < N {
                let Some(Ok(Message::Text(text))) = ws.next().await else {
                    panic!("the stream ended at {next}");
                };
                let v: Value = serde_json::from_str(&text).unwrap();
                let items = match v {
                    Value::Array(items) => items,
                    one => vec![one],
                };
                for item in items {
                    assert_eq!(item["n"], next, "frames out of order");
                    next += 1;
                }
            }
        });
        // More pushes while the transport writes and the client reads, in pairs (as a room
        // flushes a patch with its ack).
        for n in (N / 2..N).step_by(2) {
            assert!(queue.push_all(vec![numbered(n), numbered(n + 1)]));
            if n % 512 == 0 {
                tokio::task::yield_now().await;
            }
        }
        reader.await.unwrap();
        writer.abort();
        let d = queue.drain();
        assert!(
            d.rest.is_none() && d.items.is_empty(),
            "everything was written"
        );
    }
}
