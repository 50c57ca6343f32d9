//! Protocol upgrades: only `Upgrade: websocket`, only where a route (or the
//! dev reload endpoint) allows it. Anything else that asks to upgrade
//! (`h2c`, unknown tokens) is proxied as a plain request with the
//! `Upgrade`/`Connection` headers removed. A switched connection is spliced
//! to the zone and closed when no byte has passed either way for the idle
//! timeout.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::time::Instant;

use crate::connections::ConnectionSlot;
use crate::upstream_body::UpstreamBody;

/// True when the request asks for a WebSocket and nothing else:
/// `Connection` lists `upgrade` and `Upgrade` is exactly `websocket`.
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    let mut upgrade = headers.get_all(header::UPGRADE).iter();
    let websocket = match (upgrade.next(), upgrade.next()) {
        (Some(value), None) => value
            .to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("websocket")),
        _ => false,
    };
    connection_upgrade && websocket
}

/// The upgrade headers sent upstream, after the hop-by-hop ones were
/// stripped: `Connection: upgrade` alone (no other connection options of
/// the client's) and `Upgrade: websocket`.
pub fn set_websocket_upgrade(headers: &mut HeaderMap) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
}

/// Copies bytes both ways between the client and the zone once both sides
/// have switched protocols; closes both when nothing has passed for
/// `idle_timeout`. The client connection's `slot` is held until then, so
/// the tunnel counts against the connection caps.
pub(crate) fn splice(
    client: OnUpgrade,
    upstream: UpstreamBody,
    address: String,
    idle_timeout: Duration,
    slot: Option<ConnectionSlot>,
) {
    tokio::spawn(async move {
        let _slot = slot;
        let Some((upstream, early)) = upstream.into_upgraded() else {
            return;
        };
        let mut client = match client.await {
            Ok(client) => TokioIo::new(client),
            Err(err) => {
                tracing::warn!(upstream = %address, "upgrade failed: {err}");
                return;
            }
        };
        // What the zone sent right after its 101 goes first.
        if !early.is_empty()
            && let Err(err) = client.write_all(&early).await
        {
            tracing::debug!(upstream = %address, "upgraded connection ended: {err}");
            return;
        }
        let activity = Arc::new(Activity::new());
        let mut client = Tracked::new(client, &activity);
        let mut upstream = Tracked::new(upstream, &activity);
        tokio::select! {
            result = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(err) = result {
                    tracing::debug!(upstream = %address, "upgraded connection ended: {err}");
                }
            }
            () = activity.idle_for(idle_timeout) => {
                tracing::debug!(upstream = %address, "upgraded connection idle for {idle_timeout:?}; closed");
            }
        }
    });
}

/// When a byte last passed, in milliseconds since the splice started.
struct Activity {
    started: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing has been read for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// An upgraded stream that records every read in `activity` (every byte
/// that passes is read from one side or the other).
struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    fn new(inner: T, activity: &Arc<Activity>) -> Self {
        Self {
            inner,
            activity: activity.clone(),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_websocket_is_an_upgrade() {
        let ws = |connection: &str, upgrade: &str| {
            is_websocket_upgrade(&headers(&[
                ("connection", connection),
                ("upgrade", upgrade),
            ]))
        };
        assert!(ws("Upgrade", "websocket"));
        assert!(ws("keep-alive, Upgrade", "WebSocket"));
        assert!(!ws("Upgrade, HTTP2-Settings", "h2c"));
        assert!(!ws("upgrade", "websocket, h2c"));
        assert!(!ws("keep-alive", "websocket"));
        assert!(!ws("upgrade", "foo/1"));
        assert!(!is_websocket_upgrade(&headers(&[(
            "connection",
            "upgrade"
        )])));
        let twice = headers(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("upgrade", "h2c"),
        ]);
        assert!(!is_websocket_upgrade(&twice));
    }

    #[test]
    fn upstream_gets_the_two_upgrade_headers_alone() {
        let mut h = headers(&[("connection", "keep-alive, Upgrade, x-hop")]);
        crate::forward::strip_hop_by_hop(&mut h);
        set_websocket_upgrade(&mut h);
        assert_eq!(h["connection"], "upgrade");
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h.len(), 2);
    }

    #[tokio::test]
    async fn idleness_is_measured_from_the_last_byte() {
        let activity = Activity::new();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(150)).await;
        activity.touch();
        activity.idle_for(Duration::from_millis(100)).await;
        // Not 100 ms after the start: 100 ms after the last activity.
        assert!(started.elapsed() >= Duration::from_millis(250));
    }
}
