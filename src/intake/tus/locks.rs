//! One request at a time per upload, as tusd's in-memory locker does it: a request that
//! resumes an upload still held by an earlier one (its client's connection died, but the
//! server has not noticed yet) asks that one to stop, and takes the upload over once it has
//! saved what it received. The compare-and-set on the recorded offset guards the database
//! across processes; this lock spares a stuck client the wait.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;

struct Slot {
    lock: Arc<tokio::sync::Mutex<()>>,
    /// Cancelled to ask the current holder to stop.
    holder: Mutex<CancellationToken>,
}

#[derive(Default)]
pub struct Locks {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// The uploads of this process.
pub static LOCKS: LazyLock<Locks> = LazyLock::new(Locks::default);

/// Held while a request reads or writes the upload; `stop` fires when another wants it.
pub struct Held {
    pub stop: CancellationToken,
    id: String,
    slot: Arc<Slot>,
    guard: Option<OwnedMutexGuard<()>>,
    locks: &'static Locks,
}

impl Locks {
    /// Takes upload `id`, stopping a holder; `None` if it has not let go within `wait`.
    pub async fn acquire(&'static self, id: &str, wait: Duration) -> Option<Held> {
        let slot = {
            let mut slots = self.slots.lock().expect("lock map");
            slots
                .entry(id.to_string())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        lock: Arc::new(tokio::sync::Mutex::new(())),
                        holder: Mutex::new(CancellationToken::new()),
                    })
                })
                .clone()
        };
        slot.holder.lock().expect("holder").cancel();
        let acquired = tokio::time::timeout(wait, slot.lock.clone().lock_owned()).await;
        let Ok(guard) = acquired else {
            self.forget(id, &slot, 1);
            return None;
        };
        let stop = CancellationToken::new();
        *slot.holder.lock().expect("holder") = stop.clone();
        Some(Held {
            stop,
            id: id.to_string(),
            slot,
            guard: Some(guard),
            locks: self,
        })
    }

    /// Drops the map entry when nobody else holds or waits for it (`mine` references are ours).
    fn forget(&self, id: &str, slot: &Arc<Slot>, mine: usize) {
        let mut slots = self.slots.lock().expect("lock map");
        if Arc::strong_count(slot) == mine + 1 {
            slots.remove(id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap().len()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.guard.take();
        self.locks.forget(&self.id, &self.slot, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_request_takes_over_and_the_map_empties() {
        static L: LazyLock<Locks> = LazyLock::new(Locks::default);
        let first = L.acquire("u1", Duration::from_secs(1)).await.unwrap();
        let stop = first.stop.clone();
        // The first holder saves and lets go when asked to stop.
        let holder = tokio::spawn(async move {
            stop.cancelled().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(first);
        });
        let second = L.acquire("u1", Duration::from_secs(5)).await.unwrap();
        holder.await.unwrap();
        assert!(!second.stop.is_cancelled());
        // A holder that never lets go: the newcomer gives up after its wait.
        let third = L.acquire("u1", Duration::from_millis(100)).await;
        assert!(third.is_none());
        assert!(second.stop.is_cancelled(), "asked to stop");
        drop(second);
        assert_eq!(L.len(), 0, "no entry is kept for an upload nobody holds");
        let again = L.acquire("u1", Duration::from_millis(100)).await;
        assert!(again.is_some());
    }
}
