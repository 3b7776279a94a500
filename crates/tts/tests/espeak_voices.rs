//! Acceptance 1 and 2 with the real espeak-ng (Debian package `espeak-ng`, which CI must install):
//! every accent × gender of the shipped table renders audible, unclipped 8 kHz audio at a similar level,
//! and the render cache calls the engine once per text, across a restart too.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::task::JoinSet;
use voicebot_tts::{
    Engine, EspeakEngine, Gender, Pcm16, RenderCache, Renderer, TtsError, VoiceSpec, VoiceTable,
};

async fn espeak() -> EspeakEngine {
    EspeakEngine::new().await.expect("espeak-ng must be installed (apt-get install espeak-ng)")
}

/// A sentence in the voice's own language where espeak-ng speaks it, English otherwise.
fn sample_text(spec: &VoiceSpec) -> &'static str {
    match spec.accent.as_str() {
        "swahili" => "Habari, hii ni kliniki yako. Bonyeza moja kuthibitisha.",
        "french" => "Bonjour, ici votre clinique. Appuyez sur un pour confirmer.",
        "afrikaans" => "Goeie môre, dit is jou kliniek. Druk een om te bevestig.",
        "tswana" => "Dumela, ke kliniki ya gago. Tobetsa nngwe go netefatsa.",
        "amharic" => "ሰላም፣ ይህ ክሊኒክዎ ነው። ለማረጋገጥ አንድ ይጫኑ።",
        "arabic" => "مرحبا، هذه عيادتك. اضغط واحد للتأكيد.",
        _ => "Hello Ada, this is your clinic calling. Press one to confirm.",
    }
}

/// RMS in dBFS over 20 ms frames louder than -50 dBFS (the speech, not the pauses).
fn speech_level_db(pcm: &Pcm16) -> f64 {
    let (mut energy, mut n) = (0.0, 0usize);
    for frame in pcm.samples().chunks(160) {
        let e: f64 = frame.iter().map(|&s| f64::from(s).powi(2)).sum();
        if (e / frame.len() as f64).sqrt() > 32768.0 * 0.003_16 {
            energy += e;
            n += frame.len();
        }
    }
    20.0 * ((energy / n.max(1) as f64).sqrt() / 32768.0).log10()
}

/// Checks one rendering; `who` names the voice in failures.
fn check_audio(who: &str, pcm: &Pcm16) {
    let secs = pcm.duration().as_secs_f64();
    assert!((1.0..20.0).contains(&secs), "{who}: {secs} s at 8 kHz");
    assert!(pcm.rms() > 1_000.0, "{who}: rms {} (silent?)", pcm.rms());
    assert!(pcm.longest_full_scale_run() <= 8, "{who}: clipped");
    let level = speech_level_db(pcm);
    assert!((-23.0..=-17.0).contains(&level), "{who}: speech at {level:.1} dBFS");
}

/// Every one of the 92 table entries is checked. espeak-ng is deterministic, so entries with identical
/// engine parameters (the fallback accents share four English voices) share one rendering: 18 renders
/// instead of 92 keep this test at a few seconds in a debug build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accent_and_gender_speaks() {
    let engine = Arc::new(espeak().await);
    let specs = VoiceTable::default().specs();
    assert_eq!(specs.len(), 92, "46 accents x 2 genders");
    let mut by_params: HashMap<(String, String, u32, u32, &str), Vec<String>> = HashMap::new();
    for spec in &specs {
        engine.check_voice(spec).unwrap();
        let params = (spec.engine.clone(), spec.voice.clone(), spec.rate, spec.pitch, sample_text(spec));
        by_params.entry(params).or_default().push(format!("{} {}", spec.accent, spec.gender));
    }
    let mut set = JoinSet::new();
    for spec in &specs {
        let params = (spec.engine.clone(), spec.voice.clone(), spec.rate, spec.pitch, sample_text(spec));
        let Some(who) = by_params.remove(&params) else { continue };
        let (engine, spec) = (engine.clone(), spec.clone());
        set.spawn(async move { (who, engine.render(sample_text(&spec), &spec).await) });
    }
    let mut checked = 0;
    while let Some(joined) = set.join_next().await {
        let (who, pcm) = joined.unwrap();
        let name = who.join(", ");
        let pcm = pcm.unwrap_or_else(|e| panic!("{name}: {e}"));
        check_audio(&name, &pcm);
        checked += who.len();
    }
    assert_eq!(checked, 92);
}

#[tokio::test]
async fn unknown_espeak_voice_is_rejected() {
    let engine = espeak().await;
    let mut spec = VoiceTable::default().resolve("english", Gender::Female).unwrap();
    spec.voice = "yo+f3".into();
    assert!(matches!(engine.check_voice(&spec), Err(TtsError::UnknownVoice { .. })));
    spec.voice = "en+nosuchvariant".into();
    assert!(matches!(engine.render("hi", &spec).await, Err(TtsError::UnknownVoice { .. })));
    spec.voice = "en+f3".into();
    assert!(matches!(engine.render("  ", &spec).await, Err(TtsError::EmptyText)));
    // A leading dash is text, not an option.
    assert!(engine.render("-v -h --help", &spec).await.unwrap().rms() > 1_000.0);
}

#[tokio::test]
async fn a_batched_run_sounds_like_single_runs() {
    let engine = espeak().await;
    let voice = VoiceTable::default().resolve("pidgin", Gender::Female).unwrap();
    let texts: Vec<String> = [
        "Hello Ada Obi.",
        "This is Lagos General Hospital: your visit is tomorrow; come early.",
        "",
        "Fish & chips <cheap>, rice > beans.",
        "Press 1 to confirm, or press 2 to speak to a nurse.",
    ]
    .map(String::from)
    .to_vec();
    let batch = engine.render_batch(&texts, &voice).await;
    assert_eq!(batch.len(), 5);
    assert!(matches!(batch[2], Err(TtsError::EmptyText)));
    for (text, clip) in texts.iter().zip(&batch).filter(|(t, _)| !t.is_empty()) {
        let clip = clip.as_ref().unwrap();
        let single = engine.render(text, &voice).await.unwrap();
        check_audio(text, clip);
        // Deterministic espeak-ng: equal output would mean the batch silently fell back to single runs.
        assert_ne!(clip, &single, "{text}: batch path not taken");
        let (a, b) = (clip.trimmed(0).len() as f64, single.trimmed(0).len() as f64);
        assert!((a / b - 1.0).abs() < 0.1, "{text}: batched {a} vs single {b} samples");
    }
}

/// Counts the renders that reach the wrapped engine.
struct Counting {
    inner: Arc<dyn Engine>,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl Engine for Counting {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn fingerprint(&self) -> &str {
        self.inner.fingerprint()
    }
    async fn render(&self, text: &str, voice: &VoiceSpec) -> Result<Pcm16, TtsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.render(text, voice).await
    }
}

#[tokio::test]
async fn same_text_renders_once_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let espeak: Arc<dyn Engine> = Arc::new(espeak().await);
    let calls = Arc::new(AtomicUsize::new(0));
    let build = || {
        let counting = Counting { inner: espeak.clone(), calls: calls.clone() };
        let cache = RenderCache::open(dir.path()).unwrap();
        Renderer::new(VoiceTable::default(), vec![Arc::new(counting)], cache, 2).unwrap()
    };
    let text = "Hello Ada, your appointment is tomorrow.";
    let renderer = build();
    let voice = renderer.voice("hausa", Gender::Male).unwrap();
    let first = renderer.render(text, &voice).await.unwrap();
    let second = renderer.render(text, &voice).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(renderer);

    let restarted = build();
    assert!(restarted.is_cached(text, &voice));
    let third = restarted.render(text, &voice).await.unwrap();
    assert_eq!(third, first);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a cache hit never calls the engine");
    assert_eq!(restarted.stats().engine_renders, 0);

    // Another voice is another cache entry.
    let female = restarted.voice("hausa", Gender::Female).unwrap();
    restarted.render(text, &female).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn builds_from_the_config_section() {
    let dir = tempfile::tempdir().unwrap();
    let voices = dir.path().join("voices.toml");
    std::fs::write(
        &voices,
        "[accents.yoruba]\nnative = true\nfemale = { engine = \"http\", voice = \"yoruba\" }\n",
    )
    .unwrap();
    let config: voicebot_tts::TtsConfig = toml::from_str(&format!(
        r#"
        voices_file = "{}"
        workers = 2
        [http]
        url = "http://127.0.0.1:9/v1/tts"
        api_key = "k"
        timeout_ms = 5000
        "#,
        voices.display()
    ))
    .unwrap();
    let renderer = Renderer::from_config(dir.path(), &config).await.unwrap();
    let yoruba = renderer.voice("yoruba", Gender::Female).unwrap();
    assert_eq!((yoruba.engine.as_str(), yoruba.native), ("http", true));
    assert!(renderer.voice("yoruba", Gender::Male).is_err());
    let english = renderer.voice("english", Gender::Male).unwrap();
    assert!(renderer.render("Hello.", &english).await.unwrap().rms() > 1_000.0);
    assert!(dir.path().join("prompts").is_dir());

    // Without the [http] section the same table cannot start.
    let no_http = voicebot_tts::TtsConfig { voices_file: Some(voices), ..Default::default() };
    let err = Renderer::from_config(dir.path(), &no_http).await.unwrap_err();
    assert!(matches!(err, TtsError::UnknownEngine { .. }), "{err:?}");
}
