//! Serving a simulator over TCP or a pseudo-terminal. The accept loop and the pty pair are
//! the same for every text/byte-stream simulator; each simulator only answers one connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::serial::SerialStream;

/// Accepts connections on `addr` (port 0: any free port) until `cancel`, serving each with
/// `connection` while `accepting()` says the device is reachable (else it is closed at once,
/// as an unplugged device would). Returns the bound address.
pub async fn tcp<F, Fut>(
    addr: SocketAddr,
    cancel: CancellationToken,
    accepting: impl Fn() -> bool + Send + 'static,
    connection: F,
) -> io::Result<SocketAddr>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = cancel.cancelled() => return,
                a = listener.accept() => a,
            };
            let Ok((stream, _)) = accepted else { continue };
            if !accepting() {
                continue;
            }
            let (serving, cancel) = (connection(stream), cancel.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = serving => {}
                }
            });
        }
    });
    Ok(local)
}

/// Serves `connection` on the master side of a new pseudo-terminal until `cancel`; returns
/// the path of the side a driver opens.
pub fn pty<F, Fut>(cancel: CancellationToken, connection: F) -> io::Result<String>
where
    F: FnOnce(SerialStream) -> Fut,
    Fut: Future + Send + 'static,
{
    use tokio_serial::SerialPort;
    let (master, slave) = SerialStream::pair().map_err(io::Error::from)?;
    let path = slave.name().ok_or_else(|| io::Error::other("the pseudo-terminal has no name"))?;
    let serving = connection(master);
    tokio::spawn(async move {
        // The slave side stays open while serving, or the master reads EOF.
        let _slave = slave;
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = serving => {}
        }
    });
    Ok(path)
}
