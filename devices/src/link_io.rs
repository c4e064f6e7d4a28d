//! What the request-and-answer links share (PJLink, Samsung MDC, Extron SIS, Shure command
//! strings): the byte stream they run over, their typed [`LinkError`], and [`read_frame`],
//! the one loop that reads until the codec has a whole frame or the deadline passes.

use std::fmt;
use std::io;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::time::Instant;

/// A byte stream (serial port or TCP connection).
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// Why an exchange with a display, switcher or microphone failed. Health shows it through
/// `Display` (`last_error`).
#[derive(Debug, Error)]
pub enum LinkError {
    /// The connection could not be opened (refused, unreachable, no such serial port).
    #[error("connect: {0}")]
    Connect(#[source] io::Error),
    /// The connection was not open within the time allowed.
    #[error("connect timed out")]
    ConnectTimeout,
    /// Reading from an open connection failed.
    #[error("read: {0}")]
    Read(#[source] io::Error),
    /// Writing to an open connection failed.
    #[error("write: {0}")]
    Write(#[source] io::Error),
    /// No whole answer before the deadline.
    #[error("no answer in time")]
    Timeout,
    /// The device closed the connection (end of stream).
    #[error("the device closed the connection")]
    Closed,
    /// Bytes or an answer the protocol does not allow: a framing error from the codec, an
    /// answer to another command, a value outside the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The device understood the request and answered with an error (PJLink `ERR2`, an MDC
    /// NAK, Extron `E01`).
    #[error("the device refused {request}: {reason}")]
    Refused {
        /// The request, e.g. `POWR 1`.
        request: String,
        /// The device's answer in words.
        reason: String,
    },
    /// Authentication failed, or the device asks for a password and none is configured.
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// The request cannot be expressed in the protocol (an unknown input name).
    #[error("{0}")]
    InvalidRequest(String),
    /// The driver task has stopped (the daemon is shutting down).
    #[error("the driver has stopped")]
    Stopped,
}

impl LinkError {
    /// A framing or parsing error from a codec.
    pub fn protocol(error: impl fmt::Display) -> Self {
        LinkError::Protocol(error.to_string())
    }

    /// Whether the device answered (it refused the request): the link itself works.
    pub fn device_answered(&self) -> bool {
        matches!(self, LinkError::Refused { .. })
    }
}

/// Reads from `stream` into `buf` until `take_frame` (a codec's pure "take the next frame
/// out of the buffer") yields a frame. Bytes after that frame stay in `buf` for the next
/// call, so a caller skipping frames it does not want calls again with the same `deadline`.
///
/// Fails with [`LinkError::Timeout`] at `deadline`, [`LinkError::Closed`] at the end of
/// the stream, [`LinkError::Protocol`] when `take_frame` fails. Cancel-safe: bytes read
/// are in `buf` before the next await.
pub async fn read_frame<S, F, E>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
    mut take_frame: impl FnMut(&mut Vec<u8>) -> Result<Option<F>, E>,
) -> Result<F, LinkError>
where
    S: AsyncRead + Unpin + ?Sized,
    E: fmt::Display,
{
    loop {
        if let Some(frame) = take_frame(buf).map_err(LinkError::protocol)? {
            return Ok(frame);
        }
        // Room for a typical answer; `read_buf` grows the vector further when needed.
        buf.reserve(256);
        let n = tokio::time::timeout_at(deadline, stream.read_buf(buf))
            .await
            .map_err(|_| LinkError::Timeout)?
            .map_err(LinkError::Read)?;
        if n == 0 {
            return Err(LinkError::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use super::*;

    /// A CR LF line codec, as the SIS and PJLink ones are.
    fn take_line(buf: &mut Vec<u8>) -> Result<Option<String>, Infallible> {
        Ok(buf.iter().position(|&b| b == b'\n').map(|end| {
            let line: Vec<u8> = buf.drain(..=end).collect();
            String::from_utf8_lossy(&line).trim_end().to_owned()
        }))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(2)
    }

    #[tokio::test]
    async fn a_frame_split_over_several_reads_is_joined() {
        let (mut device, mut ours) = tokio::io::duplex(64);
        let mut buf = Vec::new();
        let writer = tokio::spawn(async move {
            for part in [&b"Out1 "[..], b"In", b"3 All\r", b"\n"] {
                device.write_all(part).await.expect("write");
                tokio::task::yield_now().await;
            }
            device
        });
        let line = read_frame(&mut ours, &mut buf, soon(), take_line).await.expect("a line");
        assert_eq!(line, "Out1 In3 All");
        assert!(buf.is_empty());
        drop(writer.await);
    }

    #[tokio::test]
    async fn two_frames_in_one_read_come_out_one_per_call() {
        let (mut device, mut ours) = tokio::io::duplex(64);
        device.write_all(b"first\r\nsecond\r\nthi").await.expect("write");
        let mut buf = Vec::new();
        assert_eq!(read_frame(&mut ours, &mut buf, soon(), take_line).await.expect("1"), "first");
        // The second line is already buffered: no read is needed for it.
        assert_eq!(buf, b"second\r\nthi");
        assert_eq!(read_frame(&mut ours, &mut buf, soon(), take_line).await.expect("2"), "second");
        assert_eq!(buf, b"thi", "the start of the next frame is kept");
    }

    #[tokio::test(start_paused = true)]
    async fn no_whole_frame_by_the_deadline_is_a_timeout() {
        let (mut device, mut ours) = tokio::io::duplex(64);
        device.write_all(b"half a li").await.expect("write");
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(500);
        let result = read_frame(&mut ours, &mut buf, deadline, take_line).await;
        assert!(matches!(result, Err(LinkError::Timeout)), "{result:?}");
        assert_eq!(Instant::now(), deadline, "it waited until the deadline, not longer");
        assert_eq!(buf, b"half a li", "what arrived stays for a later call");
    }

    #[tokio::test]
    async fn the_end_of_the_stream_is_closed() {
        let (mut device, mut ours) = tokio::io::duplex(64);
        device.write_all(b"no end of line").await.expect("write");
        drop(device);
        let mut buf = Vec::new();
        let result = read_frame(&mut ours, &mut buf, soon(), take_line).await;
        assert!(matches!(result, Err(LinkError::Closed)), "{result:?}");
    }

    #[tokio::test]
    async fn a_codec_error_is_a_protocol_error() {
        let (mut device, mut ours) = tokio::io::duplex(64);
        device.write_all(b"x").await.expect("write");
        let mut buf = Vec::new();
        let refuse = |buf: &mut Vec<u8>| if buf.is_empty() { Ok(None::<()>) } else { Err("garbage") };
        let result = read_frame(&mut ours, &mut buf, soon(), refuse).await;
        assert!(matches!(&result, Err(LinkError::Protocol(m)) if m == "garbage"), "{result:?}");
    }

    #[test]
    fn errors_read_as_the_technician_sees_them() {
        let refused = LinkError::Refused { request: "POWR 1".into(), reason: "ERR3 unavailable".into() };
        assert_eq!(refused.to_string(), "the device refused POWR 1: ERR3 unavailable");
        assert!(refused.device_answered());
        assert_eq!(LinkError::Timeout.to_string(), "no answer in time");
        assert!(!LinkError::Closed.device_answered());
    }
}
