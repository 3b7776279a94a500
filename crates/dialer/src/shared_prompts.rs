//! One copy of each prompt in memory, however many live calls play it.
//!
//! Every live call holds its rendered prompts until it hangs up. Most prompts of a batch are the
//! same for every recipient ("Press 1 to confirm, 2 to reschedule"); rendering them per call would
//! keep one decoded copy per live call — tens of KiB each, times thousands of calls. This wrapper
//! hands out the same `Arc` while any call still holds it.
//!
//! Only prompts seen twice are entered. A `Weak<[u8]>` keeps its allocation alive (the samples live
//! inside the `Arc`'s block) until it is pruned, so holding one for every prompt would keep each
//! recipient's own prompt ("Hello James, ...") in memory long after the call. Unique prompts are
//! therefore only remembered as a 64-bit hash; from its second use on a prompt is shared.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_trait::async_trait;
use voicebot_workflow::Prompt;

use crate::session::{Audio, PromptRenderer, RenderError, Voice};

/// Prunes dead entries once the map holds this many more than after the last prune.
const PRUNE_SLACK: usize = 1024;
/// Hashes of prompts seen once; forgotten all at once past this many (8 bytes each).
const SEEN_MAX: usize = 64 * 1024;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Text { text: String, voice: Voice },
    Audio(String),
}

struct Entries {
    map: HashMap<Key, Weak<[u8]>>,
    prune_at: usize,
    seen: HashSet<u64>,
}

/// A [`PromptRenderer`] that shares identical prompts between live calls.
pub struct SharedPrompts<R> {
    inner: R,
    entries: Mutex<Entries>,
    hasher: RandomState,
}

impl<R: PromptRenderer> SharedPrompts<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        let entries = Entries { map: HashMap::new(), prune_at: PRUNE_SLACK, seen: HashSet::new() };
        SharedPrompts { inner, entries: Mutex::new(entries), hasher: RandomState::new() }
    }

    fn lookup(&self, key: &Key) -> Option<Audio> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).map.get(key)?.upgrade()
    }

    /// Remembers a prompt just rendered: its hash the first time, the prompt itself after that.
    fn keep(&self, key: Key, pcm: &Audio) {
        let hash = self.hasher.hash_one(&key);
        let mut e = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !e.seen.contains(&hash) {
            if e.seen.len() >= SEEN_MAX {
                e.seen.clear();
            }
            e.seen.insert(hash);
            return;
        }
        e.map.insert(key, Arc::downgrade(pcm));
        if e.map.len() >= e.prune_at {
            e.map.retain(|_, w| w.strong_count() > 0);
            e.prune_at = e.map.len() + PRUNE_SLACK;
        }
    }

    /// Prompts currently shared (entries still held by a call), for tests and metrics.
    pub fn live_entries(&self) -> usize {
        let e = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        e.map.values().filter(|w| w.strong_count() > 0).count()
    }
}

#[async_trait]
impl<R: PromptRenderer> PromptRenderer for SharedPrompts<R> {
    async fn render(&self, text: &str, voice: &Voice) -> Result<Audio, RenderError> {
        let key = Key::Text { text: text.to_string(), voice: voice.clone() };
        if let Some(pcm) = self.lookup(&key) {
            return Ok(pcm);
        }
        // Two calls missing at once both render (the TTS cache makes the second cheap); the
        // later insert wins and the earlier copy is freed with its call.
        let pcm = self.inner.render(text, voice).await?;
        self.keep(key, &pcm);
        Ok(pcm)
    }

    async fn audio(&self, id: &str) -> Result<Audio, RenderError> {
        let key = Key::Audio(id.to_string());
        if let Some(pcm) = self.lookup(&key) {
            return Ok(pcm);
        }
        let pcm = self.inner.audio(id).await?;
        self.keep(key, &pcm);
        Ok(pcm)
    }

    fn played_ref(&self, prompt: &Prompt, voice: &Voice) -> Option<String> {
        self.inner.played_ref(prompt, voice)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Default)]
    struct Counting(AtomicUsize);

    #[async_trait]
    impl PromptRenderer for Counting {
        async fn render(&self, text: &str, _voice: &Voice) -> Result<Audio, RenderError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(vec![text.len() as u8; 160].into())
        }
        async fn audio(&self, _id: &str) -> Result<Audio, RenderError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(vec![1u8; 160].into())
        }
    }

    fn voice() -> Voice {
        Voice { accent: "english".into(), gender: "female".into() }
    }

    #[tokio::test]
    async fn live_prompts_are_shared_and_forgotten_after_the_last_call() {
        let shared = SharedPrompts::new(Counting::default());
        let first = shared.render("Press 1.", &voice()).await.unwrap();
        assert_eq!(shared.live_entries(), 0, "a prompt seen once is not held");
        let a = shared.render("Press 1.", &voice()).await.unwrap();
        let b = shared.render("Press 1.", &voice()).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&first, &a));
        assert_eq!(shared.inner.0.load(Ordering::SeqCst), 2);
        let male = Voice { gender: "male".into(), ..voice() };
        let m1 = shared.render("Press 1.", &male).await.unwrap();
        let m2 = shared.render("Press 1.", &male).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &m2), "another voice is another prompt");
        assert_eq!(shared.live_entries(), 2);
        drop((first, a, b, m1, m2));
        assert_eq!(shared.live_entries(), 0);
        let _again = shared.render("Press 1.", &voice()).await.unwrap();
        assert_eq!(shared.inner.0.load(Ordering::SeqCst), 5, "rendered again once nobody held it");
    }

    #[tokio::test]
    async fn unique_prompts_are_never_held_and_dead_entries_are_pruned() {
        let shared = SharedPrompts::new(Counting::default());
        for i in 0..(3 * PRUNE_SLACK) {
            drop(shared.render(&format!("Hello patient {i}"), &voice()).await.unwrap());
        }
        assert_eq!(shared.entries.lock().unwrap().map.len(), 0, "unique prompts kept");
        for i in 0..(3 * PRUNE_SLACK) {
            drop(shared.render(&format!("Hello patient {i}"), &voice()).await.unwrap());
        }
        let len = shared.entries.lock().unwrap().map.len();
        assert!(len <= PRUNE_SLACK, "{len} entries kept");
    }
}
