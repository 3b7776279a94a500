//! The HTTP engine against a local server on 127.0.0.1 that speaks the hosted TTS protocol:
//! success, timeout, 5xx-then-success, 4xx (not retried) and bad audio.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use voicebot_tts::{
    DecodeError, Engine, Gender, HttpEngine, HttpEngineConfig, Pcm16, TtsError, VoiceSpec, VoiceTable,
};

/// What the fake service does with request number `n` (0-based).
#[derive(Clone, Copy)]
enum Script {
    Ok,
    Slow,
    FailTwiceThenOk,
    Unauthorized,
    Junk,
}

#[derive(Clone)]
struct Fake {
    script: Script,
    hits: Arc<AtomicUsize>,
    last_body: Arc<std::sync::Mutex<Option<Value>>>,
}

/// 0.5 s of 300 Hz at 16 kHz: what a hosted service might send.
fn wav_16k() -> Vec<u8> {
    let samples: Vec<i16> = (0..8_000)
        .map(|i| (8_000.0 * (2.0 * std::f64::consts::PI * 300.0 * f64::from(i) / 16_000.0).sin()) as i16)
        .collect();
    let mut wav = Pcm16::new(samples).to_wav();
    wav[24..28].copy_from_slice(&16_000u32.to_le_bytes());
    wav[28..32].copy_from_slice(&32_000u32.to_le_bytes());
    wav
}

async fn tts(State(fake): State<Fake>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let n = fake.hits.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sekret") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    *fake.last_body.lock().unwrap() = Some(body);
    let audio = ([("content-type", "audio/wav")], wav_16k());
    match fake.script {
        Script::Ok => audio.into_response(),
        Script::Slow => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            audio.into_response()
        }
        Script::FailTwiceThenOk if n < 2 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Script::FailTwiceThenOk => audio.into_response(),
        Script::Unauthorized => StatusCode::FORBIDDEN.into_response(),
        Script::Junk => {
            ([("content-type", "audio/wav")], b"RIFF\x10\0\0\0WAVEjunkjunk".to_vec()).into_response()
        }
    }
}

/// Starts the fake service; returns the engine pointed at it and the shared state.
async fn serve(script: Script, timeout_ms: u64, retries: u32) -> (HttpEngine, Fake) {
    let fake = Fake { script, hits: Arc::default(), last_body: Arc::default() };
    let app = Router::new().route("/v1/tts", post(tts)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = HttpEngineConfig::new(format!("http://{addr}/v1/tts"), "sekret");
    config.timeout_ms = timeout_ms;
    config.retries = retries;
    config.backoff_ms = 10;
    (HttpEngine::new(config).unwrap(), fake)
}

fn yoruba() -> VoiceSpec {
    let table = r#"
        [accents.yoruba]
        native = true
        male = { engine = "http", voice = "yoruba" }
    "#;
    VoiceTable::from_toml_str(table).unwrap().resolve("Yoruba", Gender::Male).unwrap()
}

#[tokio::test]
async fn success_sends_the_protocol_and_returns_8k_audio() {
    let (engine, fake) = serve(Script::Ok, 2_000, 2).await;
    let pcm = engine.render("Ẹ kú àárọ̀ Ada", &yoruba()).await.unwrap();
    assert!((3_900..=4_000).contains(&pcm.len()), "0.5 s at 8 kHz, got {}", pcm.len());
    assert!(pcm.rms() > 2_000.0);
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1);
    let body = fake.last_body.lock().unwrap().clone().unwrap();
    assert_eq!(
        body,
        serde_json::json!({"text": "Ẹ kú àárọ̀ Ada", "voice_accent": "yoruba", "voice_gender": "male"})
    );
    assert_eq!(engine.id(), "http");
}

#[tokio::test]
async fn timeout_is_retried_then_reported() {
    let (engine, fake) = serve(Script::Slow, 200, 1).await;
    let err = engine.render("hello", &yoruba()).await.unwrap_err();
    assert!(matches!(err, TtsError::Timeout { attempts: 2, .. }), "{err:?}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let (engine, fake) = serve(Script::FailTwiceThenOk, 2_000, 2).await;
    let pcm = engine.render("hello", &yoruba()).await.unwrap();
    assert!(!pcm.is_empty());
    assert_eq!(fake.hits.load(Ordering::SeqCst), 3);

    let (engine, fake) = serve(Script::FailTwiceThenOk, 2_000, 1).await;
    let err = engine.render("hello", &yoruba()).await.unwrap_err();
    assert!(matches!(err, TtsError::HttpStatus { status: 503, attempts: 2 }), "{err:?}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (engine, fake) = serve(Script::Unauthorized, 2_000, 3).await;
    let err = engine.render("hello", &yoruba()).await.unwrap_err();
    assert!(matches!(err, TtsError::HttpStatus { status: 403, attempts: 1 }), "{err:?}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1);

    let mut bad_key = HttpEngineConfig::new(engine_url(&engine), "wrong");
    bad_key.retries = 3;
    let err = HttpEngine::new(bad_key).unwrap().render("hello", &yoruba()).await.unwrap_err();
    assert!(matches!(err, TtsError::HttpStatus { status: 401, .. }), "{err:?}");
}

fn engine_url(engine: &HttpEngine) -> String {
    // The fingerprint is "<id>|<url>|<pipeline>".
    engine.fingerprint().split('|').nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn bad_audio_is_a_typed_error() {
    let (engine, fake) = serve(Script::Junk, 2_000, 2).await;
    let err = engine.render("hello", &yoruba()).await.unwrap_err();
    assert!(matches!(err, TtsError::BadAudio(DecodeError::Truncated(_))), "{err:?}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1, "bad audio is not retried");
}

#[tokio::test]
async fn unreachable_service_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut config = HttpEngineConfig::new(format!("http://{addr}/v1/tts"), "k");
    config.retries = 1;
    config.backoff_ms = 1;
    let err = HttpEngine::new(config).unwrap().render("hi", &yoruba()).await.unwrap_err();
    assert!(matches!(err, TtsError::Http { attempts: 2, .. }), "{err:?}");
}
