//! The [`Renderer`]: text + voice → audio, through the render cache, with a bounded worker pool.
//!
//! It owns the voice table, the registered engines and the cache. A message is split into sentences
//! ([`crate::sentences`]); each sentence is looked up in the cache and rendered only on a miss, at most
//! `workers` engine renders at a time (a semaphore), and concurrent requests for the same sentence share
//! one render (an in-flight map of once-cells). A batch calls [`Renderer::prerender`] with every
//! recipient's text before its first dial; at answer time [`Renderer::render`] is then all cache hits.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cache::{CacheKey, RenderCache};
use crate::engine::Engine;
use crate::error::{TtsError, VoiceError};
use crate::espeak::{ESPEAK_ID, EspeakEngine};
use crate::http::{HttpEngine, HttpEngineConfig};
use crate::inflight::{self, Claim, Guard, InFlight};
use crate::pcm::Pcm16;
use crate::text::sentences;
use crate::voices::{Gender, VoiceSpec, VoiceTable};

/// Pause inserted between sentences.
pub const SENTENCE_GAP_MS: u32 = 250;
/// Audio whose RMS (i16 scale) is below this is treated as silent: about -50 dBFS.
const SILENCE_RMS: f64 = 100.0;

/// A message from its sentences: each trimmed to 5 ms before its first sound (the callee hears speech
/// as soon as the call is answered) and 20 ms after (words do not end clipped), with a pause between.
fn join_sentences<'a>(parts: impl IntoIterator<Item = &'a Pcm16>) -> Pcm16 {
    let mut out = Pcm16::default();
    for (i, pcm) in parts.into_iter().enumerate() {
        if i > 0 {
            out.append(&Pcm16::silence(SENTENCE_GAP_MS));
        }
        out.append(&pcm.trimmed_edges(5, 20));
    }
    out
}

/// The `[tts]` section of voicebot.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtsConfig {
    /// A voice table merged over the shipped one.
    #[serde(default)]
    pub voices_file: Option<PathBuf>,
    /// Concurrent engine renders (default: number of CPUs).
    #[serde(default)]
    pub workers: Option<usize>,
    /// The espeak-ng program (default `espeak-ng` on `PATH`).
    #[serde(default)]
    pub espeak_program: Option<PathBuf>,
    /// The hosted TTS service, if any accent uses it.
    #[serde(default)]
    pub http: Option<HttpEngineConfig>,
}

/// Sentences per [`Engine::render_batch`] call when pre-rendering.
const MAX_BATCH: usize = 32;

/// A sentence of a pre-render that is not cached yet.
struct Pending {
    key: CacheKey,
    sentence: String,
    texts: Vec<usize>,
    /// Our claim on the key while we render it.
    guard: Option<Guard>,
}

fn failure(sentence: String, texts: Vec<usize>, error: TtsError) -> PrerenderFailure {
    PrerenderFailure { sentence, texts, error }
}

/// Counters since the renderer was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Sentences the engines rendered.
    pub engine_renders: u64,
    /// Sentences served from the cache.
    pub cache_hits: u64,
}

/// Outcome of [`Renderer::prerender`].
#[derive(Debug, Default)]
pub struct PrerenderReport {
    /// Texts given.
    pub texts: usize,
    /// Distinct sentences among them.
    pub sentences: usize,
    /// Sentences rendered now.
    pub rendered: usize,
    /// Sentences already cached.
    pub cached: usize,
    /// Sentences that failed, with the texts that contain them.
    pub failures: Vec<PrerenderFailure>,
}

impl PrerenderReport {
    /// Indices of the texts that cannot be played (their calls fail with `tts_failed`).
    pub fn failed_texts(&self) -> BTreeSet<usize> {
        self.failures.iter().flat_map(|f| f.texts.iter().copied()).collect()
    }
}

/// One sentence that could not be rendered.
#[derive(Debug)]
pub struct PrerenderFailure {
    /// The sentence (empty when the text itself was empty).
    pub sentence: String,
    /// Indices into the texts given to [`Renderer::prerender`].
    pub texts: Vec<usize>,
    /// Why.
    pub error: TtsError,
}

/// Renders prompts through the cache. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Renderer {
    inner: Arc<Inner>,
}

struct Inner {
    table: VoiceTable,
    engines: HashMap<String, Arc<dyn Engine>>,
    cache: RenderCache,
    permits: Semaphore,
    workers: usize,
    inflight: InFlight,
    engine_renders: AtomicU64,
    cache_hits: AtomicU64,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("engines", &self.inner.engines.keys().collect::<Vec<_>>())
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Builds a renderer and checks that every voice of `table` has a registered engine that can speak it.
    pub fn new(
        table: VoiceTable,
        engines: Vec<Arc<dyn Engine>>,
        cache: RenderCache,
        workers: usize,
    ) -> Result<Self, TtsError> {
        let engines: HashMap<String, Arc<dyn Engine>> =
            engines.into_iter().map(|e| (e.id().to_owned(), e)).collect();
        for spec in table.specs() {
            let engine = engines
                .get(&spec.engine)
                .ok_or_else(|| TtsError::UnknownEngine { engine: spec.engine.clone() })?;
            engine.check_voice(&spec)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                engines,
                cache,
                permits: Semaphore::new(workers.max(1)),
                workers: workers.max(1),
                inflight: InFlight::default(),
                engine_renders: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
            }),
        })
    }

    /// Builds the production renderer: the shipped table (merged with `voices_file`), espeak-ng, the HTTP
    /// engine if configured, and the cache under `<data_dir>/prompts`.
    pub async fn from_config(data_dir: &Path, config: &TtsConfig) -> Result<Self, TtsError> {
        let table = match &config.voices_file {
            Some(path) => VoiceTable::load_with_overrides(path)?,
            None => VoiceTable::default(),
        };
        let mut engines: Vec<Arc<dyn Engine>> = Vec::new();
        if table.specs().iter().any(|s| s.engine == ESPEAK_ID) {
            let program = config.espeak_program.clone().unwrap_or_else(|| "espeak-ng".into());
            engines.push(Arc::new(EspeakEngine::with_program(program).await?));
        }
        if let Some(http) = &config.http {
            engines.push(Arc::new(HttpEngine::new(http.clone())?));
        }
        let workers =
            config.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Self::new(table, engines, RenderCache::open(data_dir)?, workers)
    }

    /// The voice table.
    pub fn table(&self) -> &VoiceTable {
        &self.inner.table
    }

    /// Resolves an accent and gender through the table.
    pub fn voice(&self, accent: &str, gender: Gender) -> Result<VoiceSpec, VoiceError> {
        self.inner.table.resolve(accent, gender)
    }

    /// Counters since start.
    pub fn stats(&self) -> RenderStats {
        RenderStats {
            engine_renders: self.inner.engine_renders.load(Ordering::Relaxed),
            cache_hits: self.inner.cache_hits.load(Ordering::Relaxed),
        }
    }

    /// Speaks `text` in `voice`: sentences from the cache or the engine, joined with a short pause.
    pub async fn render(&self, text: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        let parts = sentences(text);
        if parts.is_empty() {
            return Err(TtsError::EmptyText);
        }
        let mut set = JoinSet::new();
        for (i, sentence) in parts.into_iter().enumerate() {
            let (this, voice) = (self.clone(), voice.clone());
            set.spawn(async move { (i, this.sentence(&sentence, &voice).await) });
        }
        let mut rendered = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (i, result) = joined.map_err(|_| TtsError::TaskFailed)?;
            rendered.push((i, result?));
        }
        rendered.sort_by_key(|(i, _)| *i);
        Ok(join_sentences(rendered.iter().map(|(_, pcm)| pcm)))
    }

    /// The cache keys of `text`'s sentences in `voice`, in order: what [`Renderer::render`] reads.
    pub fn keys(&self, text: &str, voice: &VoiceSpec) -> Result<Vec<CacheKey>, TtsError> {
        let parts = sentences(text);
        if parts.is_empty() {
            return Err(TtsError::EmptyText);
        }
        parts.iter().map(|s| self.key(s, voice)).collect()
    }

    /// What [`Renderer::render`] gave for these sentence keys, read from the cache alone (the engine
    /// is never asked): `None` once a sentence has left the cache.
    pub async fn render_cached(&self, keys: &[CacheKey]) -> Result<Option<Pcm16>, TtsError> {
        let mut parts = Vec::with_capacity(keys.len());
        for key in keys {
            match self.inner.cache.get(key).await? {
                Some(pcm) => parts.push(pcm),
                None => return Ok(None),
            }
        }
        Ok(Some(join_sentences(&parts)))
    }

    /// Makes sure every sentence of every text is cached, rendering each distinct missing sentence once,
    /// in batches ([`Engine::render_batch`]) on at most `workers` engines at a time. Failures are reported
    /// per sentence; the rest still render.
    ///
    /// A sentence that another call (a render, another batch) is already rendering is waited for, not
    /// rendered again.
    pub async fn prerender<I, S>(&self, texts: I, voice: &VoiceSpec) -> PrerenderReport
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut report = PrerenderReport::default();
        let mut by_sentence: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, text) in texts.into_iter().enumerate() {
            report.texts += 1;
            let parts = sentences(text.as_ref());
            if parts.is_empty() {
                report.failures.push(failure(String::new(), vec![i], TtsError::EmptyText));
            }
            for s in parts {
                by_sentence.entry(s).or_default().push(i);
            }
        }
        report.sentences = by_sentence.len();
        let engine = match self.engine(voice) {
            Ok(engine) => engine.clone(),
            Err(_) => {
                for (sentence, texts) in by_sentence {
                    let error = TtsError::UnknownEngine { engine: voice.engine.clone() };
                    report.failures.push(failure(sentence, texts, error));
                }
                return report;
            }
        };
        let missing = self.missing(&engine, voice, by_sentence).await;
        report.cached = report.sentences - missing.len();
        self.inner.cache_hits.fetch_add(report.cached as u64, Ordering::Relaxed);
        let (mut missing_mine, mut theirs) = (Vec::new(), Vec::new());
        for mut pending in missing {
            match self.inner.inflight.claim(pending.key) {
                Claim::Mine(guard) => {
                    pending.guard = Some(guard);
                    missing_mine.push(pending);
                }
                Claim::Theirs(rx) => theirs.push((pending, rx)),
            }
        }
        let missing = missing_mine;
        let chunk = missing.len().div_ceil(self.inner.workers).clamp(1, MAX_BATCH);
        let mut set = JoinSet::new();
        let mut missing = missing.into_iter().peekable();
        while missing.peek().is_some() {
            let batch: Vec<Pending> = missing.by_ref().take(chunk).collect();
            let (this, voice, engine) = (self.clone(), voice.clone(), engine.clone());
            set.spawn(async move { this.render_pending(engine, batch, &voice).await });
        }
        while let Some(joined) = set.join_next().await {
            let Ok(outcomes) = joined else {
                report.failures.push(failure(String::new(), Vec::new(), TtsError::TaskFailed));
                continue;
            };
            for (pending, result) in outcomes {
                match result {
                    Ok(()) => report.rendered += 1,
                    Err(e) => report.failures.push(failure(pending.sentence, pending.texts, e)),
                }
            }
        }
        for (pending, rx) in theirs {
            if inflight::wait(rx).await {
                report.cached += 1;
                continue;
            }
            // The other render failed: try ourselves.
            match self.sentence(&pending.sentence, voice).await {
                Ok(_) => report.rendered += 1,
                Err(e) => report.failures.push(failure(pending.sentence, pending.texts, e)),
            }
        }
        report
    }

    /// The sentences without a cache file (file checks on the blocking pool).
    async fn missing(
        &self,
        engine: &Arc<dyn Engine>,
        voice: &VoiceSpec,
        by_sentence: HashMap<String, Vec<usize>>,
    ) -> Vec<Pending> {
        let pending: Vec<Pending> = by_sentence
            .into_iter()
            .map(|(sentence, texts)| Pending {
                key: CacheKey::new(engine.fingerprint(), voice, &sentence),
                sentence,
                texts,
                guard: None,
            })
            .collect();
        let cache = self.inner.cache.clone();
        let check = move || pending.into_iter().filter(|p| !cache.contains(&p.key)).collect::<Vec<_>>();
        tokio::task::spawn_blocking(check).await.unwrap_or_default()
    }

    /// Renders one batch under one worker permit and stores each clip.
    async fn render_pending(
        &self,
        engine: Arc<dyn Engine>,
        batch: Vec<Pending>,
        voice: &VoiceSpec,
    ) -> Vec<(Pending, Result<(), TtsError>)> {
        let texts: Vec<String> = batch.iter().map(|p| p.sentence.clone()).collect();
        let results = match self.inner.permits.acquire().await {
            Ok(_permit) => engine.render_batch(&texts, voice).await,
            Err(_) => texts.iter().map(|_| Err(TtsError::TaskFailed)).collect(),
        };
        let mut out = Vec::with_capacity(batch.len());
        for (mut pending, result) in batch.into_iter().zip(results) {
            let guard = pending.guard.take();
            let stored = match result {
                Ok(pcm) => {
                    self.inner.engine_renders.fetch_add(1, Ordering::Relaxed);
                    self.store(engine.id(), &pending.key, &pcm).await
                }
                Err(e) => Err(e),
            };
            if let (Ok(()), Some(guard)) = (&stored, guard) {
                guard.stored();
            }
            out.push((pending, stored));
        }
        out
    }

    /// Rejects silence, then writes the clip to the cache.
    async fn store(&self, engine: &str, key: &CacheKey, pcm: &Pcm16) -> Result<(), TtsError> {
        if pcm.rms() < SILENCE_RMS {
            return Err(TtsError::Silent { engine: engine.to_owned() });
        }
        self.inner.cache.put(key, pcm).await
    }

    /// True when every sentence of `text` is cached in `voice`.
    pub fn is_cached(&self, text: &str, voice: &VoiceSpec) -> bool {
        let parts = sentences(text);
        !parts.is_empty()
            && parts.iter().all(|s| self.key(s, voice).is_ok_and(|key| self.inner.cache.contains(&key)))
    }

    fn engine(&self, voice: &VoiceSpec) -> Result<&Arc<dyn Engine>, TtsError> {
        self.inner
            .engines
            .get(&voice.engine)
            .ok_or_else(|| TtsError::UnknownEngine { engine: voice.engine.clone() })
    }

    fn key(&self, sentence: &str, voice: &VoiceSpec) -> Result<CacheKey, TtsError> {
        Ok(CacheKey::new(self.engine(voice)?.fingerprint(), voice, sentence))
    }

    /// One sentence: from the cache, else rendered once however many callers ask at the same time.
    async fn sentence(&self, sentence: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        const MAX_WAITS: usize = 8;
        let key = self.key(sentence, voice)?;
        for _ in 0..MAX_WAITS {
            if let Some(pcm) = self.cached(&key).await? {
                return Ok(pcm);
            }
            match self.inner.inflight.claim(key) {
                Claim::Mine(guard) => return self.render_and_store(Some(guard), &key, sentence, voice).await,
                // Stored: the next look-up hits. Failed: claim it ourselves.
                Claim::Theirs(rx) => {
                    inflight::wait(rx).await;
                }
            }
        }
        // Others keep failing on this key: one attempt of our own, unregistered.
        self.render_and_store(None, &key, sentence, voice).await
    }

    async fn cached(&self, key: &CacheKey) -> Result<Option<Pcm16>, TtsError> {
        let hit = self.inner.cache.get(key).await?;
        if hit.is_some() {
            self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(hit)
    }

    async fn render_and_store(
        &self,
        guard: Option<Guard>,
        key: &CacheKey,
        sentence: &str,
        voice: &VoiceSpec,
    ) -> Result<Pcm16, TtsError> {
        // Another task may have stored it between our cache miss and the claim.
        if let Some(pcm) = self.cached(key).await? {
            if let Some(guard) = guard {
                guard.stored();
            }
            return Ok(pcm);
        }
        let engine = self.engine(voice)?;
        let pcm = {
            let _permit = self.inner.permits.acquire().await.map_err(|_| TtsError::TaskFailed)?;
            engine.render(sentence, voice).await?
        };
        self.inner.engine_renders.fetch_add(1, Ordering::Relaxed);
        self.store(engine.id(), key, &pcm).await?;
        if let Some(guard) = guard {
            guard.stored();
        }
        Ok(pcm)
    }
}
