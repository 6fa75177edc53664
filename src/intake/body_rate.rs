//! A floor on the rate of request bodies: a client that stalls or trickles an upload frees its
//! connection and temp file instead of holding them forever. Only the time spent waiting for
//! the client counts, not the time the handler spends storing what arrived (an S3 part PUT).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use http_body::Frame;
use tokio::time::Sleep;

/// The error a body yields when it falls below the floor; found again in the error chain of a
/// multipart or JSON rejection (`AppError::from_multipart`).
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body brought {got} bytes in {window_secs} s of waiting, under the floor of {min} bytes"
)]
pub struct BodyTooSlow {
    pub got: u64,
    pub min: u64,
    pub window_secs: u64,
}

/// `bytes_per_sec` over each `window` of waiting; 0 bytes a second: no floor.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub bytes_per_sec: u64,
    pub window: Duration,
}

impl Floor {
    /// Wraps the request's body (a middleware step).
    pub fn guard(self, req: Request) -> Request {
        if self.bytes_per_sec == 0 {
            return req;
        }
        req.map(|b| Body::new(Guarded::new(b, self)))
    }
}

struct Guarded {
    inner: Body,
    floor: Floor,
    /// Bytes and waiting time in the current window.
    got: u64,
    waited: Duration,
    /// While the client is awaited: since when, and the alarm at the end of the window.
    waiting: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl Guarded {
    fn new(inner: Body, floor: Floor) -> Self {
        Self {
            inner,
            floor,
            got: 0,
            waited: Duration::ZERO,
            waiting: None,
        }
    }

    fn min(&self) -> u64 {
        (self.floor.bytes_per_sec as f64 * self.floor.window.as_secs_f64()).ceil() as u64
    }

    /// Ends a wait: its time counts; a full window closes (met, or the body is too slow).
    fn end_wait(&mut self) -> Result<(), BodyTooSlow> {
        if let Some((since, _)) = self.waiting.take() {
            self.waited += since.elapsed();
        }
        if self.waited >= self.floor.window {
            if self.got < self.min() {
                return Err(BodyTooSlow {
                    got: self.got,
                    min: self.min(),
                    window_secs: self.floor.window.as_secs(),
                });
            }
            (self.got, self.waited) = (0, Duration::ZERO);
        }
        Ok(())
    }
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.got += d.len() as u64;
                }
                if let Err(e) = this.end_wait() {
                    return Poll::Ready(Some(Err(axum::Error::new(e))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                this.waiting = None;
                Poll::Ready(other)
            }
            Poll::Pending => {
                if this.waiting.is_none() {
                    let left = this.floor.window.saturating_sub(this.waited);
                    this.waiting = Some((Instant::now(), Box::pin(tokio::time::sleep(left))));
                }
                let alarm = this.waiting.as_mut().map(|(_, s)| s.as_mut().poll(cx));
                if alarm.is_some_and(|a| a.is_ready()) {
                    if let Err(e) = this.end_wait() {
                        return Poll::Ready(Some(Err(axum::Error::new(e))));
                    }
                    // The window was met: a new one starts, with its own alarm.
                    let s = Box::pin(tokio::time::sleep(this.floor.window));
                    this.waiting = Some((Instant::now(), s));
                    let _ = this.waiting.as_mut().map(|(_, s)| s.as_mut().poll(cx));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `e` or an error it wraps is `BodyTooSlow`.
pub fn too_slow<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTooSlow> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<BodyTooSlow>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn trickle(chunks: Vec<(u64, &'static [u8])>) -> Body {
        let s = futures::stream::iter(chunks).then(|(ms, b)| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(Bytes::from_static(b))
        });
        Body::from_stream(s)
    }

    use futures::StreamExt;

    fn floor(bps: u64, ms: u64) -> Floor {
        Floor {
            bytes_per_sec: bps,
            window: Duration::from_millis(ms),
        }
    }

    #[tokio::test]
    async fn a_body_that_stalls_fails_at_the_end_of_a_window() {
        let body = trickle(vec![(0, b"abc"), (3_000, b"def")]);
        let g = Guarded::new(body, floor(100, 200));
        let err = g.collect().await.expect_err("too slow");
        let slow = too_slow(&err).expect("BodyTooSlow in the chain");
        assert_eq!((slow.got, slow.min), (3, 20));
    }

    #[tokio::test]
    async fn a_slow_body_that_keeps_the_rate_is_read_whole() {
        // 10 bytes every 50 ms is 200 B/s against a floor of 50 B/s.
        let chunks = (0..40).map(|_| (50, &b"0123456789"[..])).collect();
        let g = Guarded::new(trickle(chunks), floor(50, 1_000));
        let all = g.collect().await.expect("read").to_bytes();
        assert_eq!(all.len(), 400);
    }

    #[tokio::test]
    async fn time_the_reader_spends_elsewhere_does_not_count() {
        let mut g = Guarded::new(trickle(vec![(0, b"abc"), (10, b"def")]), floor(100, 200));
        let first = g.frame().await.unwrap().unwrap();
        assert_eq!(first.data_ref().unwrap().as_ref(), b"abc");
        // The handler stores a part for a second: no waiting for the client meanwhile.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let second = g.frame().await.unwrap().unwrap();
        assert_eq!(second.data_ref().unwrap().as_ref(), b"def");
    }
}
