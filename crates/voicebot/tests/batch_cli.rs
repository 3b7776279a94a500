//! `voicebot batch submit` / `watch` (issue 9): a 1,000-row CSV becomes one batch through the
//! HTTP API, progress is shown while the virtual phone answers, and the final stats are printed.

mod common;

use std::process::{Command, Output};

use common::phone::*;
use common::*;
use serde_json::{Value, json};

fn cli(server: &Server, key: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--config")
        .arg(&server.config)
        .args(args)
        .env("VOICEBOT_API_KEY", key)
        .env_remove("VOICEBOT_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run voicebot")
}

fn short_workflow(server: &Server, key: &str) -> String {
    let wf = json!({"name": "short", "steps": [
        {"gather": {"prompt": "Hi {{name}}. Press 1.", "options": {"1": "yes", "2": "no"},
                    "timeout_seconds": 2, "attempts": 1}}
    ]});
    let (code, created) = server.post(key, "/voicebot/v1/workflows", &wf);
    assert_eq!(code, 200, "{created}");
    created["data"]["workflow_id"].as_str().unwrap().to_string()
}

#[test]
fn submit_a_1000_row_csv_and_watch_it_finish() {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 50, "press": "1", "press_after_ms": 300}}));
    let server = Server::start_with(&phone.trunk_toml("cps = 200\nmax_concurrent = 300"));
    let a = server.create_integrator("CSV Clinic");
    let workflow = short_workflow(&server, &a.key);
    let csv = server.dir.path().join("patients.csv");
    // Ten distinct names: the test measures dialing and reporting, not espeak-ng renders.
    let mut text = String::from("phone_number,name,tag.mrn\n");
    for i in 0..1000 {
        text.push_str(&format!("+234803{i:07},Patient {},MRN-{i}\n", i % 10));
    }
    std::fs::write(&csv, text).unwrap();

    let out = cli(&server, &a.key, &["batch", "submit", csv.to_str().unwrap(), "--workflow", &workflow]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "submit failed:\n{stderr}\n{}", server.log());
    let batch_id = stdout.lines().next().unwrap().trim().to_string();
    // Progress: several lines (stderr is not a terminal here), the last one all final.
    let progress: Vec<&str> = stderr.lines().filter(|l| l.contains(" final (")).collect();
    assert!(progress.len() >= 2, "no progress shown:\n{stderr}");
    assert!(progress.last().unwrap().contains("1000/1000 final (completed 1000"), "{stderr}");
    let stats: Value = serde_json::from_str(&stdout[stdout.find('{').unwrap()..]).expect("stats JSON");
    assert_eq!((stats["total_calls"].as_u64(), stats["completed_calls"].as_u64()), (Some(1000), Some(1000)));

    // Rows became variables and tags; the same file again is the same batch (idempotent).
    let (_, report) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch_id}"));
    let calls = report["data"]["request_calls"].as_array().unwrap();
    let first = calls.iter().find(|c| c["phone_number"] == "+2348030000007").expect("row 7");
    assert_eq!(first["user_tag_identifiers"], json!({"mrn": "MRN-7"}), "{first}");
    let again = cli(
        &server,
        &a.key,
        &["batch", "submit", csv.to_str().unwrap(), "--workflow", &workflow, "--no-watch"],
    );
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), batch_id);

    // `watch` of a finished batch prints its stats at once.
    let watched = cli(&server, &a.key, &["batch", "watch", &batch_id]);
    assert!(watched.status.success());
    assert!(String::from_utf8_lossy(&watched.stdout).contains("\"completed_calls\": 1000"));
}

#[test]
fn bad_csv_or_key_fails_with_a_clear_message() {
    let server = Server::start();
    let a = server.create_integrator("CSV Clinic");
    let csv = server.dir.path().join("bad.csv");
    std::fs::write(&csv, "name\nJames\n").unwrap();
    let out = cli(&server, &a.key, &["batch", "submit", csv.to_str().unwrap(), "--workflow", "w"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a `phone_number` column"));

    std::fs::write(&csv, "phone_number,name\n+2348030000001,James\n").unwrap();
    let out = cli(&server, "not-a-key", &["batch", "submit", csv.to_str().unwrap(), "--workflow", "w"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.count("batches"), 0);
}
