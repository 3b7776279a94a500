//! Completion callbacks end to end (issue 7): the real binary, real HTTP receivers on
//! 127.0.0.1 built on the PyPI `standardwebhooks` library, batches made final through the
//! real API (POST a batch, then cancel it → `CANCELLED` → the trigger writes the outbox row).

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn ids(requests: &[Value]) -> Vec<&str> {
    requests.iter().map(|r| r["webhook_id"].as_str().unwrap_or_default()).collect()
}

/// Item 1: a Standard Webhooks library verifies a real batch's callback; the payload has the
/// seed's fields and types, is exactly `GET /batch/{id}`'s report, floats as `0.0`; after a key
/// rotation both secrets sign, so a receiver still holding the old one verifies.
#[test]
fn standard_webhooks_library_verifies_a_real_batch_callback() {
    let server = Server::start_with(&fast_callbacks_toml("[0, 0.5]"));
    let a = server.create_integrator("Lagos Clinic");
    server.put_seed_workflow(&a.key);
    let receiver = Receiver::start(&a.secret, "200");
    let batch = server.final_batch(&a.key, Some(&receiver.url()));

    let got = receiver.wait_for(1, 20);
    assert_eq!(got[0]["verified"], true, "{}", got[0]);
    assert_eq!(got[0]["problems"], json!([]), "{}", got[0]);
    assert_eq!(got[0]["signatures"], 1);
    let body = got[0]["body"].as_str().unwrap();
    assert!(body.contains(r#""avg_duration":0.0,"success_rate":0.0"#), "{body}");
    let (_, report) = server.get(&a.key, &format!("/voicebot/v1/batch/{batch}"));
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload, report["data"], "callback payload = batch report");
    assert_eq!(payload["status"], "CANCELLED");
    assert_eq!(payload["request_calls"][0]["user_tag_identifiers"], json!({"customer_id": "CUST001"}));

    let d = server.wait_callback(&a.key, &batch, "DELIVERED", 1, 10);
    assert_eq!(d["webhook_id"], got[0]["webhook_id"]);
    assert_eq!(d["attempt_log"][0]["http_status"], 200);

    // Rotation: the old secret stays valid for 24 h, so both sign.
    server.cli(&["keys", "rotate", "--integrator", &a.id]);
    let second = server.final_batch(&a.key, Some(&receiver.url()));
    let got = receiver.wait_for(2, 20);
    assert_eq!(got[1]["signatures"], 2, "{}", got[1]);
    assert_eq!(got[1]["verified"], true, "old secret verifies during the grace period");
    server.wait_callback(&a.key, &second, "DELIVERED", 1, 10);
}

/// Item 2: 500, 500, timeout, 200 → delivered on the 4th try with one webhook-id, every attempt
/// listed, nothing sent afterwards. The URL comes from the workflow's `call_back_url`.
#[test]
fn retries_until_2xx_with_the_same_webhook_id() {
    let server = Server::start_with(&fast_callbacks_toml("[0, 0.3, 0.3, 0.3, 0.3, 0.3]"));
    let a = server.create_integrator("A");
    let receiver = Receiver::start(&a.secret, "500,500,timeout,200");
    let mut wf = seed_workflow();
    wf["call_back_url"] = Value::from(receiver.url());
    let (code, v) = server.put(&a.key, &format!("/voicebot/v1/workflows/{SEED_WORKFLOW_ID}"), &wf);
    assert_eq!(code, 200, "{v}");
    let batch = server.final_batch(&a.key, None);

    let d = server.wait_callback(&a.key, &batch, "DELIVERED", 4, 30);
    let got = receiver.requests();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.iter().all(|r| r["verified"] == true));
    let webhook_id = d["webhook_id"].as_str().unwrap();
    assert_eq!(ids(&got), vec![webhook_id; 4]);
    let log = d["attempt_log"].as_array().unwrap();
    let codes: Vec<Value> = log.iter().map(|a| a["http_status"].clone()).collect();
    assert_eq!(codes, vec![json!(500), json!(500), Value::Null, json!(200)], "{d}");
    let outcomes: Vec<&str> = log.iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["RETRY", "RETRY", "RETRY", "DELIVERED"]);
    assert!(log[2]["error"].as_str().unwrap().contains("timed out"), "{}", log[2]);
    assert!(log.iter().all(|a| a["url"] == receiver.url()));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.requests().len(), 4, "no sends after the 2xx");
}

/// Item 3: `kill -9` while a retry is pending; after restart the retry goes out on schedule
/// and exactly one request is acknowledged with a 2xx.
#[test]
fn retry_survives_kill9() {
    let mut server = Server::start_with(&fast_callbacks_toml("[0, 4]"));
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let receiver = Receiver::start(&a.secret, "500,200");
    let batch = server.final_batch(&a.key, Some(&receiver.url()));
    let first = receiver.wait_for(1, 20);
    server.wait_callback(&a.key, &batch, "PENDING", 1, 10);
    server.kill9();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.requests().len(), 1);
    server.kill9_and_restart();

    let d = server.wait_callback(&a.key, &batch, "DELIVERED", 2, 30);
    let got = receiver.requests();
    assert_eq!(got.len(), 2, "{got:?}");
    let gap = got[1]["received_at"].as_f64().unwrap() - first[0]["received_at"].as_f64().unwrap();
    assert!(gap >= 3.8, "retry came {gap:.2} s after the first attempt, schedule says 4 s");
    assert_eq!(ids(&got), vec![d["webhook_id"].as_str().unwrap(); 2]);
    std::thread::sleep(Duration::from_millis(1000));
    let acknowledged = receiver.requests().iter().filter(|r| r["action"] == "200").count();
    assert_eq!(acknowledged, 1, "exactly one 2xx-acknowledged delivery");
    assert_eq!(receiver.requests().len(), 2);
}

/// Item 4: 410 stops retries; redeliver sends again with the same webhook-id.
#[test]
fn gone_stops_and_redeliver_keeps_the_id() {
    let server = Server::start_with(&fast_callbacks_toml("[0, 0.2, 0.2, 0.2]"));
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let receiver = Receiver::start(&a.secret, "410,200");
    let batch = server.final_batch(&a.key, Some(&receiver.url()));
    let d = server.wait_callback(&a.key, &batch, "GONE", 1, 20);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(receiver.requests().len(), 1, "410 stops retries");

    let other = server.create_integrator("B");
    let (code, _) =
        server.post(&other.key, &format!("/voicebot/v1/batch/{batch}/callback/redeliver"), &json!({}));
    assert_eq!(code, 404, "another integrator's batch");
    let (code, v) =
        server.post(&a.key, &format!("/voicebot/v1/batch/{batch}/callback/redeliver"), &json!({}));
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["data"]["webhook_id"], d["webhook_id"]);
    let after = server.wait_callback(&a.key, &batch, "DELIVERED", 2, 20);
    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(ids(&got), vec![d["webhook_id"].as_str().unwrap(); 2]);
    assert_eq!(after["webhook_id"], d["webhook_id"]);

    // A batch that is not final has no callback yet.
    let (code, v) = server.post(&a.key, "/voicebot/v1/call", &seed_batch());
    assert_eq!(code, 200);
    let open = v["data"]["batch_id"].as_str().unwrap();
    assert_eq!(server.callback(&a.key, open)["state"], "NOT_FINAL");
    let (code, _) = server.post(&a.key, &format!("/voicebot/v1/batch/{open}/callback/redeliver"), &json!({}));
    assert_eq!(code, 422);
}

/// Item 5: private callback URLs refused at intake and workflow creation unless allowed; the
/// sender refuses a private integrator default at send time; redirects are never followed.
#[test]
fn private_targets_refused_and_redirects_not_followed() {
    let strict = Server::start();
    let a = strict.create_integrator("A");
    strict.put_seed_workflow(&a.key);
    for url in ["http://169.254.169.254/", "http://10.0.0.1/", "http://localhost/"] {
        let mut wf = seed_workflow();
        wf["call_back_url"] = Value::from(url);
        let (code, v) = strict.post(&a.key, "/voicebot/v1/workflows", &wf);
        assert_eq!(code, 422, "{url}: {v}");
        assert_eq!(v["errors"][0]["field"], "call_back_url");
        let mut b = seed_batch();
        b["callback_url"] = Value::from(url);
        let (code, v) = strict.post(&a.key, "/voicebot/v1/call", &b);
        assert_eq!(code, 422, "{url}: {v}");
        assert_eq!(v["errors"][0]["field"], "callback_url");
    }
    let mut b = seed_batch();
    b["callback_url"] = Value::from("https://example.org/hooks/voicebot");
    assert_eq!(strict.post(&a.key, "/voicebot/v1/call", &b).0, 200, "public URL accepted");

    // An integrator default on loopback (set by the operator CLI) is refused when sending.
    let target = Receiver::start(&a.secret, "200");
    let out = strict.cli(&["integrators", "create", "--name", "C", "--callback-url", &target.url()]);
    let c: Value = serde_json::from_str(out.trim()).unwrap();
    let c_key = c["api_key"].as_str().unwrap();
    strict.put_seed_workflow(c_key);
    let batch = strict.final_batch(c_key, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    let d = loop {
        let d = strict.callback(c_key, &batch);
        if d["attempts"].as_u64().unwrap_or(0) >= 1 {
            break d;
        }
        assert!(Instant::now() < deadline, "{d}");
        std::thread::sleep(Duration::from_millis(25));
    };
    assert!(d["attempt_log"][0]["error"].as_str().unwrap().contains("refused"), "{d}");
    assert_eq!(d["attempt_log"][0]["url"], Value::from(target.url()), "integrator default is the target");

    // Allowed in config: accepted; a receiver redirecting to loopback is not followed.
    let open = Server::start_with(&fast_callbacks_toml("[0, 30]"));
    let a = open.create_integrator("A");
    open.put_seed_workflow(&a.key);
    let mut wf = seed_workflow();
    wf["call_back_url"] = Value::from("http://10.0.0.1/");
    assert_eq!(open.post(&a.key, "/voicebot/v1/workflows", &wf).0, 200);
    let redirector = Receiver::start(&a.secret, &format!("redirect={}", target.url()));
    let batch = open.final_batch(&a.key, Some(&redirector.url()));
    redirector.wait_for(1, 20);
    let d = open.wait_callback(&a.key, &batch, "PENDING", 1, 10);
    assert_eq!(d["attempt_log"][0]["http_status"], 302, "{d}");
    assert_eq!(d["attempt_log"][0]["outcome"], "RETRY");
    std::thread::sleep(Duration::from_millis(500));
    assert!(target.requests().is_empty(), "the redirect was followed: {:?}", target.requests());
}

/// `Retry-After` from the receiver is a floor on the next delay (schedule says 0.2 s here).
#[test]
fn retry_after_is_honoured() {
    let server = Server::start_with(&fast_callbacks_toml("[0, 0.2, 0.2]"));
    let a = server.create_integrator("A");
    server.put_seed_workflow(&a.key);
    let receiver = Receiver::start(&a.secret, "503retry=2,200");
    let batch = server.final_batch(&a.key, Some(&receiver.url()));
    server.wait_callback(&a.key, &batch, "DELIVERED", 2, 20);
    let got = receiver.requests();
    let gap = got[1]["received_at"].as_f64().unwrap() - got[0]["received_at"].as_f64().unwrap();
    assert!(gap >= 1.9, "second attempt {gap:.2} s after a Retry-After: 2");
}
