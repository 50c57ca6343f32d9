//! A client that stops reading. A write to a client that makes no
//! progress for the stall limit fails with `TimedOut`, so the connection
//! closes and its place under the caps, its exchange with the zone and its
//! buffers go with it. Without this, a client could ask for large pages on
//! many connections and never read them, holding all of that for as long
//! as it keeps its connections open: the body idle timeout counts only the
//! zone's pauses, and hyper's server has no write timeout.
//!
//! The timer is armed only once a write would wait (the socket's send
//! buffer is full), so an answer that fits costs nothing more.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

fn stalled(limit: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("the client took nothing for {limit:?}"),
    )
}

/// Writes all of `buf` to `stream`; fails when the client takes none of
/// it for `limit`.
pub async fn write_all(stream: &TcpStream, buf: &[u8], limit: Duration) -> io::Result<()> {
    let mut written = 0;
    while written < buf.len() {
        match stream.try_write(&buf[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(count) => written += count,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                tokio::time::timeout(limit, stream.writable())
                    .await
                    .map_err(|_| stalled(limit))??;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// `inner` (a client connection handed to hyper), whose writes fail once
/// one has waited `limit` without the client taking a byte.
pub struct StallLimited<S> {
    inner: S,
    limit: Duration,
    /// Running while a write waits; gone once one goes through.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<S> StallLimited<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            waiting: None,
        }
    }

    /// After a write that would wait: pending until the limit has passed
    /// since the first such write, then the error.
    fn poll_waited<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(stalled(limit)))
    }

    fn went_through<T>(&mut self, result: io::Result<T>) -> Poll<io::Result<T>> {
        self.waiting = None;
        Poll::Ready(result)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallLimited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallLimited<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => this.went_through(result),
            Poll::Pending => this.poll_waited(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => this.went_through(result),
            Poll::Pending => this.poll_waited(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => this.went_through(result),
            Poll::Pending => this.poll_waited(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::TcpListener;

    use super::*;

    /// A connected pair whose far end never reads.
    async fn unread_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let near = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (far, _) = listener.accept().await.unwrap();
        (near, far)
    }

    #[tokio::test]
    async fn a_write_to_a_client_that_never_reads_fails_after_the_limit() {
        let (near, _far) = unread_pair().await;
        let big = vec![b'x'; 64 << 20];
        let err = write_all(&near, &big, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_handed_over_connection_fails_its_write_after_the_limit() {
        let (near, _far) = unread_pair().await;
        let mut limited = StallLimited::new(near, Duration::from_millis(300));
        let big = vec![b'x'; 64 << 20];
        let err = limited.write_all(&big).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_client_that_reads_slowly_is_not_cut_off() {
        let (near, mut far) = unread_pair().await;
        let reader = tokio::spawn(async move {
            let mut got = 0;
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                match tokio::io::AsyncReadExt::read(&mut far, &mut chunk).await {
                    Ok(0) | Err(_) => break got,
                    Ok(count) => got += count,
                }
            }
        });
        // Each wait is far shorter than the limit; their sum is not.
        let limit = Duration::from_secs(1);
        let big = vec![b'x'; 8 << 20];
        write_all(&near, &big, limit).await.unwrap();
        let mut limited = StallLimited::new(near, limit);
        limited.write_all(&big).await.unwrap();
        limited.shutdown().await.unwrap();
        assert_eq!(reader.await.unwrap(), 16 << 20);
    }
}
