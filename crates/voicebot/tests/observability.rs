//! Operator view of a real run (issue 9): `/metrics` parses as Prometheus text and its counters
//! move during an end-to-end batch; logs carry request ids and never a patient's phone number or
//! template variable at INFO.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::phone::*;
use common::*;
use serde_json::{Value, json};

/// One scrape: series name + sorted labels → value.
struct Scrape(HashMap<String, f64>);

impl Scrape {
    fn take(server: &Server) -> Scrape {
        let resp = client().get(format!("{}/metrics", server.url)).send().expect("GET /metrics");
        assert_eq!(resp.status().as_u16(), 200);
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = resp.text().unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
        let mut series = HashMap::new();
        for s in scrape.samples {
            let mut labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
                prometheus_parse::Value::Summary(_) => continue,
            };
            series.insert(format!("{}{{{}}}", s.metric, labels.join(",")), value);
        }
        Scrape(series)
    }

    /// A series' value; absent counters are zero.
    fn get(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

fn three_calls(callback_url: &str) -> Value {
    let rows: Vec<Value> = (0..3)
        .map(|i| {
            json!({"phone_number": format!("+23480712345{i:02}"), "user_tag_identifiers": {"row": i},
                   "workflow_variables": {"name": format!("Oluwaseunfolake{i}")}})
        })
        .collect();
    json!({"workflow_id": SEED_WORKFLOW_ID, "tts_voice_accent": "yoruba", "callback_url": callback_url,
           "workflow_params": rows})
}

/// Runs a three-call batch that every callee answers with `1`, through to its callback.
fn run_batch(server: &Server) -> String {
    let a = server.create_integrator("Metrics Clinic");
    server.put_seed_workflow(&a.key);
    let receiver = Receiver::start(&a.secret, "200");
    let (code, v) = server.post(&a.key, "/voicebot/v1/call", &three_calls(&receiver.url()));
    assert_eq!(code, 200, "{v}");
    let batch_id = v["data"]["batch_id"].as_str().unwrap().to_string();
    let report = wait_final(server, &a.key, &batch_id, Duration::from_secs(90));
    assert_eq!(report["stats"]["completed_calls"], 3, "{report}");
    server.wait_callback(&a.key, &batch_id, "DELIVERED", 1, 30);
    // A do-not-call lookup puts a phone number in a request path; the log must not repeat it.
    let (code, _) = server.post(&a.key, "/voicebot/v1/dnc", &json!({"phone_number": "+2348071234599"}));
    assert!(code == 200 || code == 201, "dnc add: {code}");
    let resp = client()
        .delete(format!("{}/voicebot/v1/dnc/+2348071234599", server.url))
        .bearer_auth(&a.key)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    batch_id
}

fn phone_server(rust_log: &'static str) -> (Phone, Server) {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 1200}}));
    let toml = format!("{}\n{}", phone.trunk_toml(""), fast_callbacks_toml("[1]"));
    let server = Server::start_logging(&toml, rust_log);
    (phone, server)
}

#[test]
fn metrics_parse_and_move_during_a_batch() {
    let (_phone, server) = phone_server("warn");
    let before = Scrape::take(&server);
    run_batch(&server);
    let after = Scrape::take(&server);
    let delta = |key: &str| after.get(key) - before.get(key);

    assert_eq!(delta("voicebot_call_attempts_total{outcome=ANSWERED}"), 3.0);
    assert_eq!(delta("voicebot_calls_finished_total{status=COMPLETED}"), 3.0);
    assert_eq!(delta("voicebot_invite_answer_seconds{}"), 3.0, "histogram count");
    assert_eq!(delta("voicebot_callback_deliveries_total{result=DELIVERED}"), 1.0);
    assert!(delta("voicebot_rtp_packets_sent_total{}") >= 3.0 * 50.0, "a second of audio per call");
    assert!(delta("voicebot_rtp_packets_received_total{}") > 0.0);
    assert!(after.has("voicebot_rtp_late_packets_total{}"));
    assert!(after.has("voicebot_rtp_foreign_packets_dropped_total{}"));
    let tts = |s: &Scrape| s.get("voicebot_tts_renders_total{}") + s.get("voicebot_tts_cache_hits_total{}");
    assert!(tts(&after) > tts(&before), "TTS renders and cache hits");
    assert!(after.get("voicebot_tts_cache_hits_total{}") > 0.0, "answered calls speak from the cache");
    assert_eq!(delta("voicebot_http_requests_total{method=POST,route=/voicebot/v1/call,status=200}"), 1.0);
    for state in ["due", "scheduled", "dialing"] {
        assert_eq!(after.get(&format!("voicebot_queue_depth{{state={state}}}")), 0.0, "{state}");
        assert!(after.has(&format!("voicebot_queue_depth{{state={state}}}")));
    }
    assert!(after.get("voicebot_heap_bytes{}") > 1e6, "live heap counted");
    assert_eq!(after.get("voicebot_live_calls{}"), 0.0);
    assert!(after.has("voicebot_live_calls{}"));
}

#[test]
fn info_logs_carry_request_ids_but_no_phone_numbers_or_variables() {
    let (_phone, server) = phone_server("info");
    let batch_id = run_batch(&server);
    let log = server.log();
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).expect("JSON log line")).collect();
    // Not vacuous: the run was logged, requests with ids, calls with masked numbers.
    assert!(log.contains(&batch_id), "batch not logged:\n{log}");
    assert!(
        lines.iter().any(|l| l["span"]["request_id"].as_str().is_some_and(|id| id.len() == 36)),
        "no request ids:\n{log}"
    );
    assert!(log.contains("+234807*****00"), "masked numbers missing:\n{log}");
    for secret in ["2348071234500", "8071234501", "712345", "2348071234599", "Oluwaseunfolake"] {
        assert!(!log.contains(secret), "log holds {secret}:\n{log}");
    }
    // Nor a SIP Call-ID (with a tag sniffed or guessed, what a forged BYE or re-INVITE needs).
    let call_ids = query_strings(&server.db_path(), "SELECT sip_call_id FROM attempts");
    assert_eq!(call_ids.len(), 3);
    for id in call_ids.iter().map(|row| &row[0]) {
        assert!(!log.contains(id.as_str()), "log holds the SIP Call-ID {id}:\n{log}");
    }
}

#[test]
fn bad_audio_upload_is_a_client_error_not_a_logged_server_error() {
    let server = Server::start_logging("", "warn");
    let a = server.create_integrator("Upload Clinic");
    // An MP3 frame sync with nothing after it: symphonia's probe logs "probe reach EOF" at ERROR.
    for body in [vec![0xFF, 0xE0], vec![0xFF, 0xFB, 0x90, 0x00, 0x00], b"RIFF!".to_vec()] {
        let (code, v) = server.post_raw(&a.key, "/voicebot/v1/audio", body);
        assert_eq!(code, 422, "{v}");
    }
    let log = server.log();
    assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
}
