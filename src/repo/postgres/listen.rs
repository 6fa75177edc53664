//! LISTEN on `motcua_jobs`: every notification wakes this process's idle workers. Workers poll
//! (`queue.poll_ms`) all the same, so a lost connection only costs latency: the listener says
//! so once, wakes the workers (notifications sent meanwhile are lost), and reconnects with
//! exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::JOBS_CHANNEL;

const FIRST_RETRY: Duration = Duration::from_millis(100);

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    // Reconnection is ours, with backoff, not the listener's immediate retry.
    l.eager_reconnect(false);
    l.listen(JOBS_CHANNEL).await?;
    Ok(l)
}

pub(super) async fn run(
    pool: PgPool,
    max_backoff: Duration,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut backoff = FIRST_RETRY;
    let mut listener: Option<PgListener> = None;
    let mut lost = false;
    while !stop.is_cancelled() {
        if listener.is_none() {
            match connect(&pool).await {
                Ok(l) => {
                    if lost {
                        tracing::info!("job notifications restored");
                        lost = false;
                    }
                    backoff = FIRST_RETRY;
                    listener = Some(l);
                    // Jobs may have been queued while nobody listened.
                    wake.notify_waiters();
                }
                Err(e) => {
                    if !lost {
                        tracing::warn!("cannot listen for job notifications, polling: {e}");
                        lost = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.cancelled() => {}
                    }
                    backoff = (backoff * 2).min(max_backoff);
                    continue;
                }
            }
        }
        let Some(l) = listener.as_mut() else {
            continue;
        };
        let got = tokio::select! {
            r = l.try_recv() => r,
            _ = stop.cancelled() => break,
        };
        match got {
            Ok(Some(_)) => wake.notify_waiters(),
            Ok(None) | Err(_) => {
                let why = got
                    .err()
                    .map_or("connection closed".into(), |e| e.to_string());
                tracing::warn!("job notifications lost ({why}); polling until reconnected");
                lost = true;
                listener = None;
                wake.notify_waiters();
            }
        }
    }
}
