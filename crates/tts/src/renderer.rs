//! The [`Renderer`]: text + voice → audio, through the render cache, with a bounded worker pool.
//!
//! It owns the voice table, the registered engines and the cache. A message is split into sentences
//! ([`crate::sentences`]); each sentence is looked up in the cache and rendered only on a miss, at most
//! `workers` engine renders at a time (a semaphore), and concurrent requests for the same sentence share
//! one render (an in-flight map of once-cells). A batch calls [`Renderer::prerender`] with every
//! recipient's text before its first dial; at answer time [`Renderer::render`] is then all cache hits.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;

use crate::cache::{CacheKey, RenderCache};
use crate::engine::Engine;
use crate::error::{TtsError, VoiceError};
use crate::espeak::{ESPEAK_ID, EspeakEngine};
use crate::http::{HttpEngine, HttpEngineConfig};
use crate::pcm::Pcm16;
use crate::text::sentences;
use crate::voices::{Gender, VoiceSpec, VoiceTable};

/// Pause inserted between sentences.
pub const SENTENCE_GAP_MS: u32 = 250;
/// Audio whose RMS (i16 scale) is below this is treated as silent: about -50 dBFS.
const SILENCE_RMS: f64 = 100.0;

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
    inflight: Mutex<HashMap<CacheKey, Arc<OnceCell<Pcm16>>>>,
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
                inflight: Mutex::default(),
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
        let mut out = Pcm16::default();
        for (i, (_, pcm)) in rendered.iter().enumerate() {
            if i > 0 {
                out.append(&Pcm16::silence(SENTENCE_GAP_MS));
            }
            out.append(&pcm.trimmed(20));
        }
        Ok(out)
    }

    /// Makes sure every sentence of every text is cached, rendering distinct sentences once each, at most
    /// `workers` at a time. Failures are reported per sentence; the rest still render.
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
                report.failures.push(PrerenderFailure {
                    sentence: String::new(),
                    texts: vec![i],
                    error: TtsError::EmptyText,
                });
            }
            for s in parts {
                by_sentence.entry(s).or_default().push(i);
            }
        }
        report.sentences = by_sentence.len();
        let mut set = JoinSet::new();
        for (sentence, indices) in by_sentence {
            let (this, voice) = (self.clone(), voice.clone());
            set.spawn(async move {
                let result = this.ensure_cached(&sentence, &voice).await;
                (sentence, indices, result)
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((_, _, Ok(true))) => report.rendered += 1,
                Ok((_, _, Ok(false))) => report.cached += 1,
                Ok((sentence, texts, Err(error))) => {
                    report.failures.push(PrerenderFailure { sentence, texts, error })
                }
                Err(_) => report.failures.push(PrerenderFailure {
                    sentence: String::new(),
                    texts: Vec::new(),
                    error: TtsError::TaskFailed,
                }),
            }
        }
        report
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

    /// Returns true if it rendered, false if the sentence was already cached.
    async fn ensure_cached(&self, sentence: &str, voice: &VoiceSpec) -> Result<bool, TtsError> {
        if self.inner.cache.contains(&self.key(sentence, voice)?) {
            self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(false);
        }
        let before = self.inner.engine_renders.load(Ordering::Relaxed);
        self.sentence(sentence, voice).await?;
        Ok(self.inner.engine_renders.load(Ordering::Relaxed) != before)
    }

    /// One sentence: cache, else a shared in-flight render.
    async fn sentence(&self, sentence: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        let key = self.key(sentence, voice)?;
        if let Some(pcm) = self.inner.cache.get(&key).await? {
            self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(pcm);
        }
        let cell = {
            let mut map = self.inner.inflight.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key).or_default().clone()
        };
        let result = cell.get_or_try_init(|| self.render_and_store(&key, sentence, voice)).await.cloned();
        let mut map = self.inner.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            map.remove(&key);
        }
        result
    }

    async fn render_and_store(
        &self,
        key: &CacheKey,
        sentence: &str,
        voice: &VoiceSpec,
    ) -> Result<Pcm16, TtsError> {
        // Another task may have stored it between our cache miss and taking the cell.
        if let Some(pcm) = self.inner.cache.get(key).await? {
            self.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(pcm);
        }
        let engine = self.engine(voice)?;
        let pcm = {
            let _permit = self.inner.permits.acquire().await.map_err(|_| TtsError::TaskFailed)?;
            engine.render(sentence, voice).await?
        };
        self.inner.engine_renders.fetch_add(1, Ordering::Relaxed);
        if pcm.rms() < SILENCE_RMS {
            return Err(TtsError::Silent { engine: engine.id().to_owned() });
        }
        self.inner.cache.put(key, &pcm).await?;
        Ok(pcm)
    }
}
