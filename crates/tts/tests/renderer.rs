//! The renderer with a scripted engine: in-flight dedup, the worker bound, pre-rendering a batch,
//! failures that must not become silent calls, and start-up validation of the table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use voicebot_tts::{
    Engine, Gender, Pcm16, RenderCache, Renderer, SAMPLE_RATE, TtsError, VoiceSpec, VoiceTable,
};

/// Renders 100 ms of tone per word after `delay`; fails on texts containing "FAIL"; silent on "SILENT".
#[derive(Default)]
struct Scripted {
    delay: Duration,
    calls: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

#[async_trait]
impl Engine for Scripted {
    fn id(&self) -> &str {
        "espeak-ng"
    }
    fn fingerprint(&self) -> &str {
        "scripted-v1"
    }
    async fn render(&self, text: &str, _voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        if text.contains("FAIL") {
            return Err(TtsError::EmptyText);
        }
        let amp = if text.contains("SILENT") { 0.0 } else { 4_000.0 };
        let n = text.split_whitespace().count() * SAMPLE_RATE as usize / 10;
        Ok(Pcm16::new((0..n).map(|i| (amp * (i as f32 * 0.3).sin()) as i16).collect()))
    }
}

fn renderer(engine: Arc<Scripted>, workers: usize) -> (Renderer, tempfile::TempDir, VoiceSpec) {
    let dir = tempfile::tempdir().unwrap();
    let cache = RenderCache::open(dir.path()).unwrap();
    let r = Renderer::new(VoiceTable::default(), vec![engine], cache, workers).unwrap();
    let voice = r.voice("igbo", Gender::Female).unwrap();
    (r, dir, voice)
}

#[tokio::test]
async fn concurrent_requests_for_one_text_share_one_render() {
    let engine = Arc::new(Scripted { delay: Duration::from_millis(50), ..Default::default() });
    let (r, _dir, voice) = renderer(engine.clone(), 4);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (r, voice) = (r.clone(), voice.clone());
        tasks.push(tokio::spawn(async move { r.render("Hello Ada Obi.", &voice).await }));
    }
    let mut outputs = Vec::new();
    for t in tasks {
        outputs.push(t.await.unwrap().unwrap());
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(engine.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn sentences_are_joined_with_a_pause() {
    let engine = Arc::new(Scripted::default());
    let (r, _dir, voice) = renderer(engine.clone(), 2);
    let one = r.render("Hello Ada.", &voice).await.unwrap();
    let two = r.render("Hello Ada. Press one now.", &voice).await.unwrap();
    assert_eq!(engine.calls.load(Ordering::SeqCst), 2, "the shared sentence is rendered once");
    let press = r.render("Press one now.", &voice).await.unwrap();
    assert_eq!(two.len(), one.len() + 2_000 + press.len(), "250 ms gap between sentences");
    assert_eq!(engine.calls.load(Ordering::SeqCst), 2);
    assert_eq!(r.stats().engine_renders, 2);
}

#[tokio::test]
async fn prerender_a_batch_with_a_name_variable() {
    let engine = Arc::new(Scripted { delay: Duration::from_millis(2), ..Default::default() });
    let (r, _dir, voice) = renderer(engine.clone(), 2);
    let texts: Vec<String> = (0..200)
        .map(|i| format!("Hello Patient {i}. Your appointment is tomorrow. Press 1 to confirm."))
        .collect();
    let report = r.prerender(&texts, &voice).await;
    assert_eq!((report.texts, report.sentences), (200, 202));
    assert_eq!((report.rendered, report.cached), (202, 0));
    assert!(report.failures.is_empty());
    assert_eq!(engine.calls.load(Ordering::SeqCst), 202);
    assert!(engine.max_running.load(Ordering::SeqCst) <= 2, "worker pool bound");
    assert!(texts.iter().all(|t| r.is_cached(t, &voice)));

    let again = r.prerender(&texts, &voice).await;
    assert_eq!((again.rendered, again.cached), (0, 202));
    r.render(&texts[7], &voice).await.unwrap();
    assert_eq!(engine.calls.load(Ordering::SeqCst), 202, "answer time is all cache hits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_and_renders_share_sentences() {
    let engine = Arc::new(Scripted { delay: Duration::from_millis(20), ..Default::default() });
    let (r, _dir, voice) = renderer(engine.clone(), 2);
    let texts: Vec<String> =
        (0..40).map(|i| format!("Hello Patient {}. Your visit is tomorrow.", i % 20)).collect();
    let (a, b) = (r.clone(), r.clone());
    let (va, vb, vc) = (voice.clone(), voice.clone(), voice.clone());
    let (ta, tb) = (texts.clone(), texts.clone());
    let first = tokio::spawn(async move { a.prerender(&ta, &va).await });
    let second = tokio::spawn(async move { b.prerender(&tb, &vb).await });
    let single = r.render("Your visit is tomorrow.", &vc).await.unwrap();
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert!(first.failures.is_empty() && second.failures.is_empty());
    assert_eq!(first.sentences, 21);
    assert!(first.rendered + second.rendered <= 21);
    assert_eq!(engine.calls.load(Ordering::SeqCst), 21, "each distinct sentence rendered once in all");
    assert!(!single.is_empty());
}

#[tokio::test]
async fn failures_are_reported_per_text_never_silent() {
    let engine = Arc::new(Scripted::default());
    let (r, _dir, voice) = renderer(engine.clone(), 2);
    let texts = ["Hello Ada. Bye.", "Hello FAIL. Bye.", "SILENT please.", "   ", "Hello Obi. Bye."];
    let report = r.prerender(texts, &voice).await;
    assert_eq!(report.failed_texts().into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(report.failures.iter().any(|f| matches!(f.error, TtsError::Silent { .. })));
    assert!(report.failures.iter().any(|f| matches!(f.error, TtsError::EmptyText)));
    assert!(matches!(r.render("SILENT please.", &voice).await, Err(TtsError::Silent { .. })));
    assert!(matches!(r.render("", &voice).await, Err(TtsError::EmptyText)));
    assert!(!r.is_cached("SILENT please.", &voice), "failures are not cached");
}

#[tokio::test]
async fn a_table_naming_a_missing_engine_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let table = VoiceTable::default().merged_with(
        VoiceTable::from_toml_str("[accents.yoruba]\nfemale = { engine = \"http\", voice = \"yoruba\" }")
            .unwrap(),
    );
    let err =
        Renderer::new(table, vec![Arc::new(Scripted::default())], RenderCache::open(dir.path()).unwrap(), 2)
            .unwrap_err();
    assert!(matches!(err, TtsError::UnknownEngine { ref engine } if engine == "http"), "{err:?}");
}
