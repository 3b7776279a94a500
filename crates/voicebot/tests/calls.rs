//! End-to-end calls (issue 6): the real server dials the virtual phone over UDP on 127.0.0.1,
//! speaks the workflow with espeak-ng, reads the keys, and reports exactly as CONTRACT.md §7.

mod common;

use std::time::{Duration, Instant};

use common::phone::*;
use common::*;
use serde_json::{Value, json};

/// RMS of a 16-bit mono WAV's samples (header skipped).
fn wav_rms(path: &std::path::Path) -> f64 {
    let bytes = std::fs::read(path).unwrap();
    let samples: Vec<i16> = bytes[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64).sqrt()
}

#[test]
fn seed_curl_batch_is_called_and_answered_with_1() {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 200, "press": "1", "press_after_ms": 2500}}));
    let server = Server::start_with(&phone.trunk_toml(""));
    let a = server.create_integrator("Lagos Clinic");
    server.put_seed_workflow(&a.key);
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/seed-curl.sh"))
        .env("VOICEBOT_URL", &server.url)
        .env("VOICEBOT_KEY", &a.key)
        .output()
        .unwrap();
    let resp: Value = serde_json::from_slice(&out.stdout).unwrap();
    let batch_id = resp["data"]["batch_id"].as_str().unwrap();
    let report = wait_final(&server, &a.key, batch_id, Duration::from_secs(60));
    let s = &report["stats"];
    assert_eq!(
        (s["total_calls"].as_u64(), s["completed_calls"].as_u64(), s["replied_calls"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(s["replied_option_one_count"], 1);
    assert_eq!(s["success_rate"], 100.0);
    let call = &report["request_calls"][0];
    assert_eq!(call["call_result_options_selected"], "1");
    assert!(call["call_result_duration"].as_i64().unwrap() >= 1);
    let (_, status) = server.get(&a.key, &format!("/voicebot/v1/status/{}", call["id"].as_str().unwrap()));
    assert_eq!(status["data"]["processing_status"], "VOICE_CALL_PROCESSED");
    // The phone heard speech: a recording well above silence.
    let records = phone.handle.records();
    assert_eq!(records.len(), 1);
    let wav = records[0].wav.clone().expect("recording");
    assert!(wav.starts_with(phone.record_dir.path()));
    let rms = wav_rms(&wav);
    assert!(rms > 300.0, "recording RMS {rms}: no speech heard");
    assert!(records[0].heard_ms > 1500, "{:?}", records[0]);
}

#[test]
fn mixed_batch_gives_exact_stats() {
    let phone = Phone::start(json!({
        "default": {"answer_after_ms": 200, "press": "1", "press_after_ms": 2500, "dtmf": "rfc4733"},
        "numbers": {
            "+2348000000011": {"press": "2"},
            "+2348000000012": {"press": null, "hangup_after_ms": 30000},
            "+2348000000013": {"reject": 486},
            "+2348000000014": {"ring_forever": true},
            "+2348000000015": {"press": "2", "dtmf": "inband"}
        }
    }));
    let server = Server::start_with(&phone.trunk_toml(""));
    let a = server.create_integrator("A");
    let wf = json!({"name": "short", "steps": [
        {"say": "Hello {{name}}."},
        {"gather": {"prompt": "Press 1 to confirm, 2 to reschedule.", "options": {"1": "confirm", "2": "reschedule"},
                    "timeout_seconds": 2, "attempts": 1}},
        {"say": "Goodbye."}
    ]});
    let (_, created) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
    let workflow_id = created["data"]["workflow_id"].as_str().unwrap();
    let numbers = [
        "+2348000000010",
        "+2348000000011",
        "+2348000000012",
        "+2348000000013",
        "+2348000000014",
        "+2348000000015",
    ];
    let rows: Vec<Value> = numbers
        .iter()
        .map(|n| json!({"phone_number": n, "user_tag_identifiers": {"n": n}, "workflow_variables": {"name": "Ada"}}))
        .collect();
    let (code, resp) = server.post(
        &a.key,
        "/voicebot/v1/call",
        &json!({"workflow_id": workflow_id, "workflow_params": rows, "retry": {"max_attempts": 2}}),
    );
    assert_eq!(code, 200, "{resp}");
    let report =
        wait_final(&server, &a.key, resp["data"]["batch_id"].as_str().unwrap(), Duration::from_secs(120));
    let by_number = |n: &str| {
        report["request_calls"].as_array().unwrap().iter().find(|c| c["phone_number"] == n).unwrap().clone()
    };
    let statuses: Vec<Value> = numbers.iter().map(|n| by_number(n)["status"].clone()).collect();
    assert_eq!(
        statuses,
        ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "TIMEOUT", "COMPLETED"],
        "{report}"
    );
    let selected: Vec<Value> =
        numbers.iter().map(|n| by_number(n)["call_result_options_selected"].clone()).collect();
    assert_eq!(selected, [json!("1"), json!("2"), Value::Null, Value::Null, Value::Null, json!("2")]);
    let s = &report["stats"];
    assert_eq!(s["total_calls"], 6);
    assert_eq!(s["completed_calls"], 4);
    assert_eq!(s["timeout_calls"], 1);
    assert_eq!(s["replied_calls"], 3);
    assert_eq!(s["replied_option_one_count"], 1);
    assert_eq!(s["replied_option_two_count"], 2);
    assert_eq!(s["success_rate"], 66.67);
    // Busy and no-answer were retried up to max_attempts, each attempt a new Call-ID.
    let (_, busy) = server
        .get(&a.key, &format!("/voicebot/v1/status/{}", by_number("+2348000000013")["id"].as_str().unwrap()));
    assert_eq!(busy["data"]["attempts"], 2, "{busy}");
    assert_eq!(busy["data"]["outcome"], "BUSY");
    let invites = phone.handle.invites_seen();
    let mut call_ids: Vec<&String> = invites.iter().map(|(id, _)| id).collect();
    call_ids.sort();
    call_ids.dedup();
    assert_eq!(call_ids.len(), invites.len(), "a Call-ID was reused");
    assert_eq!(invites.len(), 4 + 2 + 2, "one INVITE per attempt");
}

#[test]
fn opt_out_digit_adds_to_do_not_call() {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 200, "press": "9", "press_after_ms": 1500}}));
    let server = Server::start_with(&phone.trunk_toml(""));
    let a = server.create_integrator("A");
    let wf = json!({"name": "optout", "opt_out_digit": "9", "steps": [
        {"gather": {"prompt": "Press 1 to confirm, or 9 to stop these calls.", "options": {"1": "confirm"}, "timeout_seconds": 3, "attempts": 1}}
    ]});
    let (_, created) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
    let workflow_id = created["data"]["workflow_id"].as_str().unwrap().to_string();
    let body = json!({"workflow_id": workflow_id, "workflow_params": [{"phone_number": "+2348000000021"}]});
    let (code, resp) = server.post(&a.key, "/voicebot/v1/call", &body);
    assert_eq!(code, 200, "{resp}");
    wait_final(&server, &a.key, resp["data"]["batch_id"].as_str().unwrap(), Duration::from_secs(60));
    let (code, again) = server.post(&a.key, "/voicebot/v1/call", &body);
    assert_eq!(code, 422, "{again}");
    assert_eq!(again["errors"][0]["field"], "workflow_params[0].phone_number");
    assert!(again["errors"][0]["message"].as_str().unwrap().contains("do-not-call"));

    let (_, list) = server.get(&a.key, "/voicebot/v1/dnc");
    assert_eq!(list["data"]["numbers"][0]["phone_number"], "+2348000000021");
    assert_eq!(list["data"]["numbers"][0]["source"], "opt_out");
    let (code, _) =
        send(client().delete(format!("{}/voicebot/v1/dnc/+2348000000021", server.url)).bearer_auth(&a.key));
    assert_eq!(code, 200);
    assert_eq!(
        server.post(&a.key, "/voicebot/v1/call", &body).0,
        200,
        "removed from the list: callable again"
    );
    let (code, added) =
        server.post(&a.key, "/voicebot/v1/dnc", &json!({"phone_number": "+234 800 000 0022"}));
    assert_eq!((code, added["data"]["phone_number"].as_str()), (200, Some("+2348000000022")));
    let b = server.create_integrator("B");
    let (_, other) = server.get(&b.key, "/voicebot/v1/dnc");
    assert_eq!(other["data"]["numbers"], json!([]), "lists are per integrator");
}

/// Polls the phone: the arrival time of each new Call-ID and the most calls live at once.
fn watch_phone(phone: &Phone, calls: usize, within: Duration) -> (Vec<Instant>, usize) {
    let deadline = Instant::now() + within;
    let (mut arrivals, mut peak) = (Vec::new(), 0);
    while arrivals.len() < calls || phone.handle.active_calls() > 0 {
        let seen = phone.handle.invites_seen().len();
        while arrivals.len() < seen {
            arrivals.push(Instant::now());
        }
        peak = peak.max(phone.handle.active_calls());
        assert!(Instant::now() < deadline, "only {} of {calls} calls arrived", arrivals.len());
        std::thread::sleep(Duration::from_millis(2));
    }
    (arrivals, peak)
}

fn most_in_one_second(arrivals: &[Instant]) -> usize {
    (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(arrivals[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn cps_and_concurrency_limits_hold_at_the_phone() {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 300}}));
    let server = Server::start_with(&phone.trunk_toml("cps = 5\nmax_concurrent = 50\n"));
    let a = server.create_integrator("A");
    let wf = json!({"name": "quick", "steps": [{"gather": {"prompt": "Press 1.", "options": {"1": "yes"}, "timeout_seconds": 2, "attempts": 1}}]});
    let (_, created) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
    let workflow_id = created["data"]["workflow_id"].as_str().unwrap().to_string();
    let rows: Vec<Value> = (0..50).map(|i| json!({"phone_number": format!("+234803{:07}", i)})).collect();
    let (code, _) = server.post(
        &a.key,
        "/voicebot/v1/call",
        &json!({"workflow_id": workflow_id, "workflow_params": rows}),
    );
    assert_eq!(code, 200);
    let (arrivals, _) = watch_phone(&phone, 50, Duration::from_secs(60));
    let most = most_in_one_second(&arrivals);
    assert!(most <= 5, "{most} INVITEs reached the phone within one second at cps = 5");
    assert!(most >= 4, "the trunk was not used at its rate ({most}/s)");

    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 1500}}));
    let server = Server::start_with(&phone.trunk_toml("cps = 50\nmax_concurrent = 3\n"));
    let a = server.create_integrator("A");
    let (_, created) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
    let workflow_id = created["data"]["workflow_id"].as_str().unwrap().to_string();
    let rows: Vec<Value> = (0..12).map(|i| json!({"phone_number": format!("+234803{:07}", i)})).collect();
    let (code, _) = server.post(
        &a.key,
        "/voicebot/v1/call",
        &json!({"workflow_id": workflow_id, "workflow_params": rows}),
    );
    assert_eq!(code, 200);
    let (_, peak) = watch_phone(&phone, 12, Duration::from_secs(60));
    assert!(peak <= 3, "{peak} calls live at the phone with max_concurrent = 3");
    assert_eq!(peak, 3, "the trunk's concurrency was not used");
}
