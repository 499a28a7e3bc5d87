//! The framing the server writes itself (RFC 6455 §5.2): unmasked, final frames. Reading is
//! tungstenite's.

use bytes::{BufMut, BytesMut};

pub(super) const OP_TEXT: u8 = 0x1;
pub(super) const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
pub(super) const OP_PING: u8 = 0x9;

/// Append the header of an unmasked, final server frame (RFC 6455 §5.2).
pub(super) fn put_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.put_u8(0x80 | opcode);
    if len < 126 {
        out.put_u8(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(126);
        out.put_u16(len);
    } else {
        out.put_u8(127);
        out.put_u64(len as u64);
    }
}

/// A close frame with its code and reason.
pub(super) fn close_frame(code: u16, reason: &str) -> BytesMut {
    let mut out = BytesMut::with_capacity(4 + reason.len());
    put_header(&mut out, OP_CLOSE, 2 + reason.len());
    out.put_u16(code);
    out.put_slice(reason.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_rfc_6455_lengths() {
        for (len, expect) in [
            (0usize, vec![0x81, 0]),
            (125, vec![0x81, 125]),
            (126, vec![0x81, 126, 0, 126]),
            (65_535, vec![0x81, 126, 0xff, 0xff]),
            (65_536, vec![0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let mut out = BytesMut::new();
            put_header(&mut out, OP_TEXT, len);
            assert_eq!(&out[..], &expect[..], "length {len}");
        }
    }
}
