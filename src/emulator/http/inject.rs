//! Applies a request fault decided by [`Faults::decide`] to one HTTP exchange, for the storage
//! and the mgmt endpoints alike. Requests of the emulator's own DM pass untouched.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Response};
use bytes::Bytes;

use crate::emulator::faults::{Fault, Faults};

/// A slow body arrives in about this many pieces…
const SLOW_PIECES: usize = 20;
/// …this far apart (so about a second in all, whatever its size).
const SLOW_PAUSE: Duration = Duration::from_millis(50);

/// Runs `handle` under the fault chosen for this request. `busy(retry_after)` renders the 503
/// in the endpoint's own error shape.
pub async fn apply<H, B>(faults: &Faults, headers: &HeaderMap, busy: B, handle: H) -> Response<Body>
where
    H: Future<Output = Response<Body>>,
    B: FnOnce(u32) -> Response<Body>,
{
    if faults.is_internal(headers) {
        return handle.await;
    }
    let (latency, fault) = faults.decide();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::None => handle.await,
        Fault::ServerBusy { retry_after } => busy(retry_after),
        Fault::ResetBefore => broken(Response::new(Body::empty())),
        Fault::Reset => broken(handle.await),
        Fault::Stall => {
            // Never answers; the client's timeout ends the exchange (the future is dropped
            // when it hangs up). Only shutdown releases it.
            faults.stalls_released().await;
            broken(Response::new(Body::empty()))
        }
        Fault::SlowBody => trickle(handle.await).await,
    }
}

/// The response's head with a body that fails at once: the connection breaks before the
/// answer is complete, as a reset does.
fn broken(r: Response<Body>) -> Response<Body> {
    let (mut parts, _) = r.into_parts();
    // Without a length, hyper cannot end the message early as if it were whole.
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::from_parts(parts, Body::from_stream(failing))
}

/// The response with its body sent in small pieces, a pause before each.
async fn trickle(r: Response<Body>) -> Response<Body> {
    let (parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return broken(Response::from_parts(parts, Body::empty()));
    };
    let piece = bytes.len().div_ceil(SLOW_PIECES).max(1);
    let pieces: Vec<Bytes> = (0..bytes.len())
        .step_by(piece)
        .map(|i| bytes.slice(i..(i + piece).min(bytes.len())))
        .collect();
    let stream = futures::stream::unfold(pieces.into_iter(), |mut it| async move {
        let next = it.next()?;
        tokio::time::sleep(SLOW_PAUSE).await;
        Some((Ok::<Bytes, std::io::Error>(next), it))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
