//! Crash safety (issue 6, acceptance 4): `kill -9` the server at random points of a 200-call
//! batch, ten times, restarting each time. Every call must end final, no call may have more
//! attempts than `max_attempts`, and every INVITE the phone saw must belong to exactly one
//! committed attempt row (a new Call-ID per attempt; nothing re-dialed behind the store's back).

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::phone::*;
use common::*;
use serde_json::{Value, json};

/// A small deterministic generator: the kill points differ per run but are reproducible from the seed.
struct Lcg(u64);

impl Lcg {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

#[test]
fn kill_9_ten_times_during_a_batch() {
    let phone =
        Phone::start(json!({"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 400}}));
    let mut server = Server::start_with(&phone.trunk_toml("cps = 40\nmax_concurrent = 40\n"));
    let a = server.create_integrator("A");
    let wf = json!({"name": "quick", "steps": [
        {"gather": {"prompt": "Press 1.", "options": {"1": "yes"}, "timeout_seconds": 2, "attempts": 1}}
    ]});
    let (_, created) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
    let workflow_id = created["data"]["workflow_id"].as_str().unwrap().to_string();
    let rows: Vec<Value> = (0..200).map(|i| json!({"phone_number": format!("+234803{:07}", i)})).collect();
    let (code, resp) = server.post(
        &a.key,
        "/voicebot/v1/call",
        &json!({"workflow_id": workflow_id, "workflow_params": rows, "retry": {"max_attempts": 3}}),
    );
    assert_eq!(code, 200, "{resp}");
    let batch_id = resp["data"]["batch_id"].as_str().unwrap().to_string();

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("kill schedule seed: {seed}");
    let mut rng = Lcg(seed);
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(rng.next_ms(200, 1500)));
        server.kill9_and_restart();
    }
    let report = wait_final(&server, &a.key, &batch_id, Duration::from_secs(240));
    let calls = report["request_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 200);
    for c in calls {
        assert!(matches!(c["status"].as_str(), Some("COMPLETED" | "FAILED" | "TIMEOUT")), "not final: {c}");
    }

    let db = server.db_path();
    let max_attempts: i64 = query_strings(
        &db,
        "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM attempts GROUP BY call_id)",
    )[0][0]
        .parse()
        .unwrap();
    assert!(max_attempts <= 3, "a call had {max_attempts} attempt rows");
    let over: i64 =
        query_strings(&db, "SELECT COUNT(*) FROM calls WHERE attempts > 3")[0][0].parse().unwrap();
    assert_eq!(over, 0);
    let attempt_ids: HashMap<String, String> =
        query_strings(&db, "SELECT sip_call_id, call_id FROM attempts")
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect();
    let seen = phone.handle.invites_seen();
    assert!(!seen.is_empty());
    for (call_id, invites) in &seen {
        assert!(attempt_ids.contains_key(call_id), "the phone got an INVITE ({call_id}) with no attempt row");
        // Retransmissions of one INVITE share its Call-ID; a re-dial would need a new one.
        assert!(*invites <= 7, "{call_id}: {invites} INVITE datagrams");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while phone.handle.active_calls() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "200 calls final after 10 kills: {} attempts, {} INVITE Call-IDs at the phone, {} completed",
        attempt_ids.len(),
        seen.len(),
        report["stats"]["completed_calls"]
    );
}
