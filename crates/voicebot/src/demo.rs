//! `voicebot demo`: the whole product on loopback in one command.
//!
//! Starts the virtual phone and the server in this process, creates an integrator and the
//! seed's workflow, posts the seed's batch plus a few numbers that show the other outcomes
//! (busy, no answer, option 2 pressed with in-band tones, no key pressed), shows progress,
//! prints the final batch result and where each answered call's recording is (what the
//! patient heard), and the signed completion callback a local receiver got and verified.
//! Everything stays under `./voicebot-demo/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use voicebot_store::secrets::{hash_api_key, new_api_key, new_signing_secret};

use crate::config::{Config, TrunkSection};

const WORKFLOW_ID: &str = "9b643eb4-0799-4761-bd34-9580eb315aaf";

/// The phone's behaviour per number (CONTRACT.md §8 script).
fn phone_script() -> serde_json::Result<voicebot_telephony::phone::Script> {
    serde_json::from_value(json!({
        "default": {"answer_after_ms": 800, "press": "1", "press_after_ms": 4000, "dtmf": "rfc4733"},
        "numbers": {
            "+2348000000002": {"reject": 486},
            "+2348000000003": {"ring_forever": true},
            "+2348000000004": {"answer_after_ms": 300, "press": null, "hangup_after_ms": 15000},
            "+2348000000005": {"press": "2", "dtmf": "inband"}
        }
    }))
}

fn batch() -> Value {
    let row = |phone: &str, name: &str, id: &str| json!({"phone_number": phone, "user_tag_identifiers": {"customer_id": id}, "workflow_variables": {"name": name}});
    json!({
        "tts_voice_accent": "igbo",
        "tts_voice_gender": "female",
        "workflow_id": WORKFLOW_ID,
        "workflow_params": [
            row("+2348076960623", "James", "CUST001"),
            row("+2348000000005", "Amina", "CUST002"),
            row("+2348000000004", "Chidi", "CUST003"),
            row("+2348000000002", "Ngozi", "CUST004"),
            row("+2348000000003", "Tunde", "CUST005"),
        ]
    })
}

fn demo_config(dir: &std::path::Path, listen: SocketAddr, phone: SocketAddr) -> Config {
    let mut config = Config { listen: listen.to_string(), ..Config::default() };
    config.database_url = format!("sqlite://{}", dir.join("demo.db").display());
    config.data_dir = dir.join("data");
    config.api.max_attempts = 2;
    config.dialing.window_start = "00:00".into(); // the demo runs at any hour
    config.dialing.window_end = "00:00".into();
    config.dialing.retry_busy_seconds = 3;
    config.dialing.retry_no_answer_seconds = 3;
    config.dialing.retry_failed_seconds = 3;
    config.dialing.poll_interval_ms = 200;
    config.callbacks.allow_private = true; // the receiver is on loopback
    config.trunks = vec![TrunkSection {
        name: "virtual-phone".into(),
        uri: format!("sip:{phone}"),
        username: None,
        password: None,
        caller_id: "+2341000000000".into(),
        cps: 5.0,
        cps_margin: voicebot_dialer::limiter::JITTER_MARGIN,
        max_concurrent: 10,
        codecs: vec!["PCMU".into()],
        ring_timeout_seconds: 8,
        srtp: "off".into(),
    }];
    config
}

/// A completion-callback receiver on loopback that checks the Standard Webhooks signature.
struct Receiver {
    url: String,
    got: tokio::sync::mpsc::UnboundedReceiver<(bool, String, Value)>,
}

async fn start_receiver(secret: &str) -> anyhow::Result<Receiver> {
    use axum::http::{HeaderMap, StatusCode};
    let secret =
        voicebot_callback::signing::Secret::parse(secret).map_err(|e| anyhow::anyhow!("secret: {e}"))?;
    let (tx, got) = tokio::sync::mpsc::unbounded_channel();
    let handler = move |headers: HeaderMap, body: axum::body::Bytes| {
        let (secret, tx) = (secret.clone(), tx.clone());
        async move {
            let h =
                |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let (id, ts) = (h("webhook-id"), h("webhook-timestamp").parse::<i64>().unwrap_or_default());
            let expected = secret.sign(&id, ts, &body);
            let verified = h("webhook-signature").split(' ').any(|sig| sig == expected);
            let payload = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let _ = tx.send((verified, id, payload));
            StatusCode::OK
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks/voicebot", listener.local_addr()?);
    let app = axum::Router::new().route("/hooks/voicebot", axum::routing::post(handler));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Receiver { url, got })
}

pub async fn run(dir: PathBuf) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let record_dir = dir.join("recordings");
    let mut phone_config = voicebot_telephony::phone::PhoneConfig::new("127.0.0.1:0".parse()?);
    phone_config.script = phone_script()?;
    phone_config.record_dir = Some(record_dir.clone());
    phone_config.log_stdout = false;
    let phone = voicebot_telephony::phone::run(phone_config).await?;

    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = demo_config(&dir, listen, phone.local_addr());
    let store = config.open_store().await?;
    let api_key = new_api_key();
    let signing_secret = new_signing_secret();
    let mut receiver = start_receiver(&signing_secret).await?;
    let integrator = voicebot_store::Integrator {
        id: uuid::Uuid::new_v4().to_string(),
        name: "Demo Clinic".into(),
        callback_url: Some(receiver.url.clone()),
        signing_secret,
        previous_signing_secret: None,
        previous_secret_expires_at: None,
        created_at: voicebot_store::now_micros(),
        default_country: None,
    };
    store.create_integrator(&integrator, &hash_api_key(&api_key)).await?;
    drop(store);

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(crate::serve::run_until(
        config,
        async {
            let _ = stop_rx.await;
        },
        Some(ready_tx),
    ));
    let addr = ready_rx.await.context("server did not start")?;
    let base = format!("http://{addr}/voicebot/v1");
    let http = reqwest::Client::new();
    println!("voicebot demo: server on http://{addr}, virtual phone on sip:{}", phone.local_addr());

    let workflow = json!({"name": "Appointment reminder", "workflow_type": "ROBOCALL",
        "message": "Hello [name], this is Lagos General Hospital. Your appointment is tomorrow at nine.",
        "include_reply": true,
        "response_options": {"1": "Press 1 to confirm", "2": "Press 2 to reschedule"}});
    let put: Value = http
        .put(format!("{base}/workflows/{WORKFLOW_ID}"))
        .bearer_auth(&api_key)
        .json(&workflow)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(put["status"] == "Ok", "workflow: {put}");
    let posted: Value =
        http.post(format!("{base}/call")).bearer_auth(&api_key).json(&batch()).send().await?.json().await?;
    println!("POST /voicebot/v1/call → {posted}");
    let batch_id = posted["data"]["batch_id"].as_str().context("no batch_id")?.to_string();

    let started = Instant::now();
    let mut progress = crate::progress::Progress::new();
    let report = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r: Value =
            http.get(format!("{base}/batch/{batch_id}")).bearer_auth(&api_key).send().await?.json().await?;
        progress.update(&crate::progress::Counts::of(&r["data"]));
        if r["data"]["status"] == "COMPLETED" {
            progress.finish();
            break r;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(180), "batch did not finish in 3 minutes");
    };
    let (verified, webhook_id, payload) = tokio::time::timeout(Duration::from_secs(30), receiver.got.recv())
        .await
        .context("no completion callback within 30 s")?
        .context("receiver stopped")?;
    println!(
        "\nCompletion callback received at {} (webhook-id {webhook_id}), signature verified: {verified}",
        receiver.url
    );
    println!("{}", serde_json::to_string_pretty(&payload)?);
    anyhow::ensure!(verified, "the callback's signature did not verify");
    anyhow::ensure!(payload == report["data"], "callback payload differs from GET /batch/{batch_id}");
    println!("\nWhat each answered call heard (8 kHz WAV):");
    for rec in phone.records().iter().filter(|r| r.answered) {
        if let Some(wav) = &rec.wav {
            println!(
                "  {}  pressed {:<3} {}",
                rec.number,
                if rec.digits_pressed.is_empty() { "-" } else { &rec.digits_pressed },
                wav.display()
            );
        }
    }
    let _ = stop_tx.send(());
    server.await??;
    phone.shutdown().await;
    Ok(())
}
