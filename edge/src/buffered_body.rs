//! A zone's response body read into memory up to a bound, at the zone's
//! pace (for the cache: a copy is stored whole or not at all, and a slow
//! client must not hold the copy, nor the requests waiting for it, back).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;

/// How far reading got.
pub enum Read {
    /// The whole body, within the bound.
    Whole(Bytes),
    /// Past the bound (or trailers): what was read, and the rest unread;
    /// [`Prefixed`] sends both.
    TooLarge(Prefixed),
    /// The zone failed mid-body, or sent nothing for `idle`.
    Failed(String),
}

/// Reads `body` until its end, at most `limit` bytes, waiting at most
/// `idle` for each frame.
pub async fn read_up_to(mut body: Body, limit: usize, idle: Duration) -> Read {
    let mut read: VecDeque<Frame<Bytes>> = VecDeque::new();
    let mut total = 0;
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Read::Failed(format!("the zone sent nothing for {idle:?}")),
            Ok(None) => break,
            Ok(Some(Err(err))) => return Read::Failed(err.to_string()),
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers are not kept in a copy: it would not be whole.
        let trailers = !frame.is_data();
        total += frame.data_ref().map_or(0, Bytes::len);
        read.push_back(frame);
        if trailers || total > limit {
            return Read::TooLarge(Prefixed { read, rest: body });
        }
    }
    let mut parts: Vec<Bytes> = read
        .into_iter()
        .filter_map(|f| f.into_data().ok())
        .collect();
    let whole = match parts.len() {
        1 => parts.pop().unwrap_or_default(),
        _ => Bytes::from(parts.concat()),
    };
    Read::Whole(whole)
}

/// What was read already, then the rest of the body.
pub struct Prefixed {
    read: VecDeque<Frame<Bytes>>,
    rest: Body,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(frame) = self.read.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let read: usize = self
            .read
            .iter()
            .filter_map(Frame::data_ref)
            .map(Bytes::len)
            .sum();
        let read = read as u64;
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + read);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + read);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(parts: &[&'static str]) -> Body {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(
            frames,
        )))
    }

    #[tokio::test]
    async fn a_small_body_is_read_whole_and_a_large_one_passed_on_in_full() {
        let second = Duration::from_secs(1);
        match read_up_to(body_of(&["ab", "cd"]), 10, second).await {
            Read::Whole(bytes) => assert_eq!(bytes, "abcd"),
            _ => panic!("expected the whole body"),
        }
        match read_up_to(body_of(&["abc", "def", "ghi"]), 4, second).await {
            Read::TooLarge(prefixed) => {
                let all = Body::new(prefixed).collect().await.unwrap().to_bytes();
                assert_eq!(all, "abcdefghi", "nothing lost, nothing twice");
            }
            _ => panic!("expected the bound to be passed"),
        }
    }

    #[tokio::test]
    async fn a_body_that_stalls_fails() {
        let never = futures_util::stream::pending::<Result<Frame<Bytes>, std::io::Error>>();
        let body = Body::new(http_body_util::StreamBody::new(never));
        let read = read_up_to(body, 10, Duration::from_millis(50)).await;
        assert!(matches!(read, Read::Failed(_)));
    }
}
