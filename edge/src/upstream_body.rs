//! A zone's response body, read straight from the connection by whoever
//! polls it (hyper's server writing it to the client, or the cache
//! copying it): `Content-Length` bytes, chunks (`chunked`), or everything
//! until the zone closes. When the body has been read to its end on a
//! connection that stays open, the connection goes back to the pool of
//! the thread it came from; dropped before its end (the client went away),
//! the connection is closed with it, since the rest is still on the wire.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::uri::Authority;
use http_body::{Frame, SizeHint};
use tokio::net::TcpStream;
use tokio_util::io::poll_read_buf;

use crate::chunked::{ChunkedDecoder, Step};
use crate::upstream_http1::{Framing, READ_SIZE, Upstream};
use crate::upstream_pool::UpstreamPool;

/// Where a connection goes back to once its response has been read.
pub type GiveBack = (Arc<UpstreamPool>, Authority);

enum State {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
    Done,
}

/// The body of one response from a zone.
pub struct UpstreamBody {
    upstream: Option<Upstream>,
    state: State,
    /// `None` when the connection cannot carry another request.
    give_back: Option<GiveBack>,
}

impl UpstreamBody {
    pub(crate) fn new(upstream: Upstream, framing: Framing, give_back: Option<GiveBack>) -> Self {
        let state = match framing {
            Framing::Length(0) | Framing::Empty | Framing::Upgraded => State::Done,
            Framing::Length(length) => State::Length(length),
            Framing::Chunked => State::Chunked(ChunkedDecoder::default()),
            Framing::UntilClose => State::UntilClose,
        };
        let mut body = Self {
            upstream: Some(upstream),
            state,
            give_back,
        };
        if framing != Framing::Upgraded && matches!(body.state, State::Done) {
            body.finish();
        }
        body
    }

    /// After a 101: the connection, now carrying the upgraded protocol,
    /// and the bytes of it already read.
    pub fn into_upgraded(mut self) -> Option<(TcpStream, Bytes)> {
        self.give_back = None;
        self.upstream.take().map(Upstream::into_parts)
    }

    /// The body has ended: the connection goes back to its pool when it may
    /// carry another request and nothing unasked follows the body.
    fn finish(&mut self) {
        self.state = State::Done;
        if let (Some(upstream), Some((pool, authority))) =
            (self.upstream.take(), self.give_back.take())
            && upstream.buf.is_empty()
        {
            pool.give_back(authority, upstream);
        }
    }

    /// A read or framing error: the connection is closed.
    fn fail(&mut self, err: io::Error) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.state = State::Done;
        self.upstream = None;
        self.give_back = None;
        Poll::Ready(Some(Err(err)))
    }
}

impl http_body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            let Some(upstream) = this.upstream.as_mut() else {
                return Poll::Ready(None);
            };
            // First what is already read.
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Length(left) if !upstream.buf.is_empty() => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(upstream.buf.len());
                    let data = upstream.buf.split_to(take).freeze();
                    *left -= take as u64;
                    if *left == 0 {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                State::Chunked(decoder) => match decoder.decode(&mut upstream.buf) {
                    Ok(Step::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Step::Done) => {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(Step::NeedMore) => {}
                    Err(err) => return this.fail(io::Error::new(io::ErrorKind::InvalidData, err)),
                },
                State::UntilClose if !upstream.buf.is_empty() => {
                    let data = upstream.buf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                State::Length(_) | State::UntilClose => {}
            }
            // Then more from the connection.
            upstream.buf.reserve(READ_SIZE);
            match ready!(poll_read_buf(
                Pin::new(&mut upstream.stream),
                cx,
                &mut upstream.buf
            )) {
                Ok(0) if matches!(this.state, State::UntilClose) => {
                    this.state = State::Done;
                    this.upstream = None;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    return this.fail(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the zone closed the connection inside the body",
                    ));
                }
                Ok(_) => {}
                Err(err) => return this.fail(err),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Done => SizeHint::with_exact(0),
            State::Length(left) => SizeHint::with_exact(left),
            State::Chunked(_) | State::UntilClose => SizeHint::default(),
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // An empty body (HEAD, 204, 304) finished when it was made; one
        // dropped part-way closes its connection (the fields drop).
        if matches!(self.state, State::Done) {
            self.finish();
        }
    }
}
