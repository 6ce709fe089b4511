//! The demo's listener: what `axum::serve` accepts, with the limits a server that faces
//! the network needs. Plain `axum::serve` sets none: a client that connects and sends
//! nothing holds its connection (and a file descriptor) for ever, and enough of them stop
//! the service for everyone without a login. Here a connection that moves no byte for
//! `idle` is closed, at most `max_connections` are served at once (more wait in the listen
//! queue), and one address holds at most `per_address` of them. The limits cost nothing
//! per request: a read records the time, and one timer per connection wakes at most once
//! per `idle`. A client that trickles a byte at a time stays within them; a reverse proxy
//! with request timeouts in front is the answer to that, as to a flood from many
//! addresses.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use auth_core::store::ThrottleKey;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How long a connection may stay silent, and how many may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// A connection that moves no byte either way for this long is closed: a client that
    /// sends nothing, stops halfway through a request, or stops reading its answer.
    /// Default 10 s.
    pub idle: Duration,
    /// Connections served at once; more wait in the listen queue until one closes. Keep it
    /// under the process's file-descriptor limit. Default 512.
    pub max_connections: usize,
    /// Connections one client address holds at once (an IPv6 client by its /64); more are
    /// closed at once. Default 256, half the default cap, so that one address never takes
    /// every slot while a burst of a few hundred logins from one test client still gets
    /// through (`benchmarks/load/login_burst.py`). Behind a proxy every client has the
    /// proxy's address: raise it there.
    pub per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(10),
            max_connections: 512,
            per_address: 256,
        }
    }
}

impl ConnectionLimits {
    /// These limits with another idle timeout.
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// These limits with another cap on connections (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// These limits with another cap on one address's connections (at least 1).
    pub fn per_address(mut self, max: usize) -> Self {
        self.per_address = max.max(1);
        self
    }
}

/// A [`TcpListener`] that hands out connections within [`ConnectionLimits`].
pub(crate) struct LimitedListener {
    inner: TcpListener,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    open: Arc<Mutex<HashMap<ThrottleKey, usize>>>,
}

impl LimitedListener {
    pub(crate) fn new(inner: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            inner,
            limits,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            open: Arc::default(),
        }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = Limited;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Limited, SocketAddr) {
        loop {
            // The semaphore is never closed, so waiting for a slot cannot fail.
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                continue;
            };
            // `TcpListener`'s own accept logs and retries its errors.
            let (stream, peer) = axum::serve::Listener::accept(&mut self.inner).await;
            let Some(address) = AddressSlot::take(&self.open, peer.ip(), self.limits.per_address)
            else {
                // Debug, not warn: a client opening connections in a loop would otherwise
                // write a log line for each.
                tracing::debug!(
                    event = "connection.refused",
                    why = "too many from one address"
                );
                continue;
            };
            let connection = Limited {
                stream,
                idle: self.limits.idle,
                last_progress: Instant::now(),
                deadline: Box::pin(tokio::time::sleep(self.limits.idle)),
                _slots: (slot, address),
            };
            return (connection, peer);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// One address's share of the open connections, given back when the connection closes.
struct AddressSlot {
    open: Arc<Mutex<HashMap<ThrottleKey, usize>>>,
    address: ThrottleKey,
}

impl AddressSlot {
    fn take(
        open: &Arc<Mutex<HashMap<ThrottleKey, usize>>>,
        ip: IpAddr,
        max: usize,
    ) -> Option<Self> {
        // Grouped as the login throttle groups addresses (an IPv6 client by its /64).
        let address = ThrottleKey::address(ip);
        let mut counts = open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(address).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Self {
            open: open.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// A connection that closes itself after `idle` without progress, holding its slots.
pub(crate) struct Limited {
    stream: TcpStream,
    idle: Duration,
    last_progress: Instant,
    /// Armed for `last_progress + idle` at most; moved on lazily when it fires early.
    deadline: Pin<Box<Sleep>>,
    _slots: (OwnedSemaphorePermit, AddressSlot),
}

impl Limited {
    fn progressed(&mut self) {
        self.last_progress = Instant::now();
    }

    /// Called when the stream is not ready: `Pending` while the connection may still
    /// wait, an error once it has waited `idle` without progress.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = self.last_progress + self.idle;
            if Instant::now() >= due {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was idle too long",
                ));
            }
            self.deadline.as_mut().reset(due);
        }
    }
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.wait(cx).map(Err),
        }
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.wait(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.wait(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
