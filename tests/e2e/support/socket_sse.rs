//! An event-stream client at the socket: HTTP/1.1 by hand on a tokio `TcpStream`, read in
//! the caller's task. Benchmarks use it to stamp an event when its last byte is read, as
//! the MQTT subscriber they compare with stamps a message when rumqttc decodes it: reqwest
//! reads in a connection task of its own and hands the body over, which would add a task
//! hand-off to one side of the comparison only.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Sse, parse_frame};

pub struct SocketSse {
    socket: TcpStream,
    /// Bytes read and not yet de-chunked.
    raw: Vec<u8>,
    /// The de-chunked body not yet split into events.
    body: Vec<u8>,
    /// Bytes left in the current chunk, or `None` between chunks.
    chunk_left: Option<usize>,
    /// When the bytes read last arrived: an event already buffered arrived then.
    last_read: Instant,
}

impl SocketSse {
    /// `GET path` on `address` (host:port), resuming after `last_event_id` if given.
    pub async fn connect(address: &str, path: &str, last_event_id: Option<u64>) -> SocketSse {
        let mut socket = TcpStream::connect(address).await.expect("connect SSE");
        socket.set_nodelay(true).expect("nodelay");
        let resume = last_event_id.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n{resume}\r\n");
        socket.write_all(request.as_bytes()).await.expect("send request");
        let mut client = SocketSse {
            socket,
            raw: Vec::new(),
            body: Vec::new(),
            chunk_left: None,
            last_read: Instant::now(),
        };
        let head = loop {
            if let Some(end) = find(&client.raw, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&client.raw[..end]).to_ascii_lowercase();
                client.raw.drain(..end + 4);
                break head;
            }
            client.read_more().await.expect("response head");
        };
        assert!(head.starts_with("http/1.1 200"), "SSE status: {head}");
        assert!(head.contains("content-type: text/event-stream"), "SSE content type: {head}");
        assert!(head.contains("transfer-encoding: chunked"), "a streamed body is chunked: {head}");
        client
    }

    /// The next event and when its last byte was read; panics if the stream ends.
    pub async fn next(&mut self) -> (Sse, Instant) {
        loop {
            self.dechunk();
            while let Some(end) = find(&self.body, b"\n\n") {
                let frame: Vec<u8> = self.body.drain(..end + 2).collect();
                if let Some(event) = parse_frame(&String::from_utf8_lossy(&frame)) {
                    return (event, self.last_read);
                }
            }
            self.last_read = self.read_more().await.expect("the event stream ended");
        }
    }

    /// Reads what the socket has; returns when it arrived, or `None` at the end.
    async fn read_more(&mut self) -> Option<Instant> {
        let mut buffer = [0u8; 16 * 1024];
        let n = self.socket.read(&mut buffer).await.expect("read SSE");
        let at = Instant::now();
        (n > 0).then(|| {
            self.raw.extend_from_slice(&buffer[..n]);
            at
        })
    }

    /// Moves complete chunk data from `raw` to `body`.
    fn dechunk(&mut self) {
        loop {
            match self.chunk_left {
                Some(0) => {
                    if self.raw.len() < 2 {
                        return;
                    }
                    assert_eq!(&self.raw[..2], b"\r\n", "chunk data ends with CRLF");
                    self.raw.drain(..2);
                    self.chunk_left = None;
                }
                Some(left) => {
                    if self.raw.is_empty() {
                        return;
                    }
                    let take = left.min(self.raw.len());
                    self.body.extend(self.raw.drain(..take));
                    self.chunk_left = Some(left - take);
                }
                None => {
                    let Some(end) = find(&self.raw, b"\r\n") else { return };
                    let line = String::from_utf8_lossy(&self.raw[..end]).into_owned();
                    let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                        .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
                    assert!(size > 0, "the event stream ended");
                    self.raw.drain(..end + 2);
                    self.chunk_left = Some(size);
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
