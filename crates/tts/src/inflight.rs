//! The in-flight registry: at most one render per cache key at a time, shared by [`crate::Renderer::render`]
//! and [`crate::Renderer::prerender`] and by concurrent batches.
//!
//! The first caller for a key *claims* it and renders; later callers get a receiver and wait. When the
//! claim ends (the guard is dropped, also on error or cancellation), waiters learn whether the audio is
//! now in the cache: if so they read it, if not they try themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::cache::CacheKey;

type Map = HashMap<CacheKey, Arc<watch::Sender<Option<bool>>>>;

/// Renders in progress, by cache key.
#[derive(Default)]
pub(crate) struct InFlight {
    map: Arc<Mutex<Map>>,
}

/// Result of [`InFlight::claim`].
pub(crate) enum Claim {
    /// This caller renders; drop the guard when done.
    Mine(Guard),
    /// Someone else is rendering; wait with [`wait`].
    Theirs(watch::Receiver<Option<bool>>),
}

impl InFlight {
    /// Claims `key`, or joins the render already in progress.
    pub(crate) fn claim(&self, key: CacheKey) -> Claim {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(&key) {
            return Claim::Theirs(tx.subscribe());
        }
        let tx = Arc::new(watch::channel(None).0);
        map.insert(key, tx.clone());
        Claim::Mine(Guard { map: self.map.clone(), key, tx, stored: false })
    }
}

/// Waits for a claim to end; true when its audio is in the cache.
pub(crate) async fn wait(mut rx: watch::Receiver<Option<bool>>) -> bool {
    rx.wait_for(Option::is_some).await.is_ok_and(|v| *v == Some(true))
}

/// A claim on one key; releases it when dropped.
pub(crate) struct Guard {
    map: Arc<Mutex<Map>>,
    key: CacheKey,
    tx: Arc<watch::Sender<Option<bool>>>,
    stored: bool,
}

impl Guard {
    /// Releases the claim, telling waiters the audio is in the cache.
    pub(crate) fn stored(mut self) {
        self.stored = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&self.key).is_some_and(|tx| Arc::ptr_eq(tx, &self.tx)) {
                map.remove(&self.key);
            }
        }
        // send_replace stores the value even when nobody is subscribed yet.
        self.tx.send_replace(Some(self.stored));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voices::VoiceTable;

    fn key(text: &str) -> CacheKey {
        let v = VoiceTable::default().resolve("english", crate::Gender::Male).unwrap();
        CacheKey::new("fp", &v, text)
    }

    #[tokio::test]
    async fn one_owner_and_waiters_learn_the_outcome() {
        let inflight = InFlight::default();
        let Claim::Mine(guard) = inflight.claim(key("a")) else { panic!("first claim is mine") };
        let Claim::Theirs(rx) = inflight.claim(key("a")) else { panic!("second claim waits") };
        assert!(matches!(inflight.claim(key("b")), Claim::Mine(_)));
        let waiter = tokio::spawn(wait(rx));
        guard.stored();
        assert!(waiter.await.unwrap());
        // Released: the next claim owns the key again; a failed claim tells waiters "not stored".
        let Claim::Mine(guard) = inflight.claim(key("a")) else { panic!("released") };
        let Claim::Theirs(rx) = inflight.claim(key("a")) else { panic!("waits") };
        drop(guard);
        assert!(!wait(rx).await);
    }
}
