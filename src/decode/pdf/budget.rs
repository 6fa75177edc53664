//! A time budget on the PDF renderer. Its parsing of hostile content can run for hours (the
//! fuzzer found inline-image data whose end the parser searches for in quadratic time), and a
//! Rust thread cannot be stopped from outside: the step runs on a thread of its own, and past
//! `limits.max_render_ms` the page fails with `page_timeout` while that thread is left to
//! finish by itself, counted in `motcua_pdf_renders_stuck` and logged when it ends.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use super::render::Renderer;
use super::{DecodeError, corrupt};
use crate::config::Limits;

/// Renderer threads abandoned past their budget and still running.
static STUCK: AtomicUsize = AtomicUsize::new(0);

const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;

/// Runs `step` on `renderer` within the budget of `limits` (inline when there is none).
pub(super) fn run<T: Send + 'static>(
    renderer: &Arc<Renderer>,
    page: usize,
    limits: &Limits,
    step: impl FnOnce(&Renderer) -> T + Send + 'static,
) -> Result<T, DecodeError> {
    if limits.max_render_ms == 0 {
        return Ok(step(renderer));
    }
    let (tx, rx) = sync_channel(1);
    // Whoever moves the state off RUNNING first decides: the thread (done in time) or the
    // caller (abandoned it).
    let state = Arc::new(AtomicU8::new(RUNNING));
    let work = Arc::new(Mutex::new(Some(step)));
    let (r, st, w) = (renderer.clone(), state.clone(), work.clone());
    let started = Instant::now();
    let spawned = std::thread::Builder::new()
        .name("pdf-render".into())
        .spawn(move || {
            let Some(step) = w.lock().ok().and_then(|mut s| s.take()) else {
                return;
            };
            let out = step(&r);
            if st
                .compare_exchange(RUNNING, DONE, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                let left = STUCK.fetch_sub(1, Ordering::Relaxed) - 1;
                metrics::gauge!("motcua_pdf_renders_stuck").set(left as f64);
                tracing::warn!(
                    page,
                    secs = started.elapsed().as_secs(),
                    "an abandoned PDF render finished"
                );
            }
            let _ = tx.send(out);
        });
    if let Err(e) = spawned {
        // No thread to spare (the machine's trouble, not the file's): render here, unbudgeted.
        tracing::warn!("no thread for the PDF renderer ({e}); rendering without a time budget");
        let step = work.lock().ok().and_then(|mut s| s.take());
        return Ok(step.expect("the thread never started")(renderer));
    }
    match rx.recv_timeout(Duration::from_millis(limits.max_render_ms)) {
        Ok(out) => Ok(out),
        Err(RecvTimeoutError::Timeout) => {
            if state
                .compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // It finished just now; its result is on the way.
                return rx.recv().map_err(|_| gave_up(page));
            }
            let now = STUCK.fetch_add(1, Ordering::Relaxed) + 1;
            metrics::gauge!("motcua_pdf_renders_stuck").set(now as f64);
            tracing::error!(
                page,
                limit_ms = limits.max_render_ms,
                stuck = now,
                "the PDF renderer is past its budget: the page fails and its thread, which cannot \
                 be stopped, keeps a core busy until it ends (restart the process to free it)"
            );
            Err(DecodeError::PageTimeout {
                page,
                limit_ms: limits.max_render_ms,
            })
        }
        Err(RecvTimeoutError::Disconnected) => Err(gave_up(page)),
    }
}

/// The renderer panicked on the page.
fn gave_up(page: usize) -> DecodeError {
    corrupt(format!("page {}: the PDF renderer gave up on it", page + 1))
}
