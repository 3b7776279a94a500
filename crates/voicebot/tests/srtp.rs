//! A batch over an SRTP trunk (issue 14): the server dials the virtual phone with `srtp = "mandatory"`,
//! the phone answers SRTP, hears the spoken prompt (decrypted) and presses 1 (encrypted), the batch
//! reports the selection; `/metrics` shows the SRTP counters. Keys never reach the log, even at TRACE.
//! A mandatory trunk to a phone without SRTP fails the call (488) instead of speaking in the clear.

mod common;

use std::time::Duration;

use common::phone::*;
use common::*;
use serde_json::Value;
use voicebot_telephony::SrtpPolicy;

fn one_call(server: &Server) -> (String, Value) {
    let a = server.create_integrator("Secure Clinic");
    server.put_seed_workflow(&a.key);
    let (code, v) = server.post(&a.key, "/voicebot/v1/call", &seed_batch());
    assert_eq!(code, 200, "{v}");
    let batch_id = v["data"]["batch_id"].as_str().expect("batch id").to_string();
    let report = wait_final(server, &a.key, &batch_id, Duration::from_secs(60));
    (batch_id, report)
}

const SCRIPT: &str = r#"{"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 2000}}"#;

#[test]
fn batch_over_a_mandatory_srtp_trunk_is_answered_and_keys_stay_out_of_logs() {
    let script: Value = serde_json::from_str(SCRIPT).expect("script");
    let phone = Phone::start_with(script, |c| c.srtp = SrtpPolicy::Mandatory);
    let server = Server::start_logging(&phone.trunk_toml("srtp = \"mandatory\""), "trace");
    let (_, report) = one_call(&server);
    assert_eq!(report["request_calls"][0]["call_result_options_selected"], "1", "{report}");
    let records = phone.handle.records();
    assert_eq!(records[0].srtp.as_deref(), Some("AES_CM_128_HMAC_SHA1_80"), "{records:?}");
    assert!(records[0].heard_ms > 1500 && records[0].srtp_auth_failures == 0, "{records:?}");
    let metrics =
        client().get(format!("{}/metrics", server.url)).send().expect("metrics").text().expect("text");
    for series in ["voicebot_srtp_auth_failures_total 0", "voicebot_srtp_replays_dropped_total 0"] {
        assert!(metrics.lines().any(|l| l == series), "{series} missing:\n{metrics}");
    }
    let log = server.log();
    assert!(log.lines().count() > 20, "the run was logged at TRACE:\n{log}");
    for secret in ["inline:", "a=crypto", "MasterKey(0", "send_key: [", "receive_key: ["] {
        assert!(!log.contains(secret), "log holds {secret}:\n{log}");
    }
}

#[test]
fn mandatory_srtp_trunk_to_a_plain_phone_fails_instead_of_talking_in_the_clear() {
    let script: Value = serde_json::from_str(SCRIPT).expect("script");
    let phone = Phone::start(script);
    let server = Server::start_with(&phone.trunk_toml("srtp = \"mandatory\""));
    let a = server.create_integrator("Strict Clinic");
    server.put_seed_workflow(&a.key);
    let (code, v) = server.post(&a.key, "/voicebot/v1/call", &seed_batch());
    assert_eq!(code, 200, "{v}");
    let batch_id = v["data"]["batch_id"].as_str().expect("batch id");
    let report = wait_final(&server, &a.key, batch_id, Duration::from_secs(60));
    assert_eq!(report["stats"]["completed_calls"], 0, "{report}");
    let records = phone.handle.records();
    assert_eq!(records[0].rejected, Some(488), "{records:?}");
}
