//! Store benchmark for BENCHMARKS.md (issue 8): intake rows/s, claimed calls/s, fleet-wide send
//! slots/s of one trunk, and full dial cycles/s (claim → send slot → attempt row with the
//! trunk's concurrency check → result) with several concurrent "nodes" on one database.
//!
//! `cargo run --release -p voicebot-store --example bench_store -- URL [CALLS] [WORKERS]`
//! URL is `sqlite://file.db` or `postgres://...` (an empty database or schema).
//! Prints one tab-separated line: backend, calls, workers, intake rows/s, claims/s, slots/s,
//! cycles/s.

use std::sync::Arc;
use std::time::Instant;

use voicebot_store::*;

const BATCH: usize = 10_000;

fn integrator() -> Integrator {
    Integrator {
        id: "int-1".into(),
        name: "Bench".into(),
        callback_url: None,
        signing_secret: "whsec_x".into(),
        previous_signing_secret: None,
        previous_secret_expires_at: None,
        created_at: 0,
        default_country: None,
    }
}

fn batch(prefix: &str, n: usize, calls: usize) -> NewBatch {
    NewBatch {
        id: format!("{prefix}{n}"),
        integrator_id: "int-1".into(),
        workflow_id: "wf".into(),
        workflow: "{}".into(),
        tts_voice_accent: "english".into(),
        tts_voice_gender: "female".into(),
        callback_url: None,
        caller_id: None,
        not_before: None,
        not_after: None,
        max_attempts: 1,
        backoff_seconds: None,
        created_at: 0,
        idempotency: None,
        calls: (0..calls)
            .map(|i| NewCall {
                id: format!("{prefix}{n}-{i}"),
                phone_number: format!("+2348{i:09}"),
                user_tag_identifiers: r#"{"mrn":"12345"}"#.into(),
                workflow_variables: r#"{"name":"Ada"}"#.into(),
            })
            .collect(),
        name: None,
    }
}

/// Stores `calls` calls in batches of [`BATCH`]; returns rows/s.
async fn intake(store: &Arc<dyn Store>, prefix: &str, calls: usize) -> f64 {
    let batches: Vec<NewBatch> =
        (0..calls.div_ceil(BATCH)).map(|n| batch(prefix, n, BATCH.min(calls - n * BATCH))).collect();
    let t = Instant::now();
    for b in &batches {
        store.create_batch(b).await.expect("intake");
    }
    calls as f64 / t.elapsed().as_secs_f64()
}

/// `workers` nodes claim (10 at a time) until nothing is due; with `dial`, each claimed call
/// also gets its attempt row and a final result. Returns calls/s.
async fn drain(store: &Arc<dyn Store>, workers: usize, dial: bool) -> f64 {
    let t = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let node = format!("node-{w}");
                let mut done = 0u64;
                loop {
                    let now = now_micros();
                    let req =
                        ClaimRequest { node: node.clone(), now, lease_until: now + 600_000_000, limit: 10 };
                    let got = store.claim_due_calls(&req).await.expect("claim");
                    if got.is_empty() {
                        return done;
                    }
                    done += got.len() as u64;
                    if dial {
                        for c in got {
                            cycle(&store, &node, &c.call.id).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("worker");
    }
    total as f64 / t.elapsed().as_secs_f64()
}

/// `workers` nodes take 2,000 send slots of one trunk between them; returns slots/s.
async fn slots(store: &Arc<dyn Store>, workers: usize) -> f64 {
    let per_worker = 2_000 / workers.max(1);
    let t = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    store.reserve_send_slot("bench", now_micros(), 1).await.expect("slot");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("worker");
    }
    (per_worker * workers) as f64 / t.elapsed().as_secs_f64()
}

async fn cycle(store: &Arc<dyn Store>, node: &str, call_id: &str) {
    store.reserve_send_slot("main", now_micros(), 1).await.expect("slot");
    let now = now_micros();
    let attempt = NewAttempt {
        id: format!("{call_id}-a"),
        call_id: call_id.into(),
        sip_call_id: format!("sip-{call_id}"),
        trunk: "main".into(),
        node: node.into(),
        started_at: now,
        lease_until: now + 600_000_000,
        max_concurrent: Some(u32::MAX),
    };
    assert_eq!(store.begin_attempt(&attempt).await.expect("begin"), AttemptStart::Started(1));
    let result = AttemptResult {
        attempt_id: attempt.id.clone(),
        call_id: call_id.into(),
        node: node.into(),
        outcome: "ANSWERED".into(),
        sip_code: Some(200),
        answered_at: Some(now),
        ended_at: now_micros(),
        duration_seconds: 0,
        options_selected: None,
        opted_out: false,
        next: CallNext::Final { status: CallStatus::Completed, reason: None },
        digits: String::new(),
        played: vec![],
    };
    assert!(store.finish_attempt(&result).await.expect("finish"));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: bench_store URL [CALLS] [WORKERS]");
    let calls: usize = args.get(2).map_or(50_000, |s| s.parse().expect("CALLS"));
    let workers: usize = args.get(3).map_or(4, |s| s.parse().expect("WORKERS"));
    let store = open(url).await.expect("open");
    store.create_integrator(&integrator(), "hash").await.expect("integrator");
    let intake_rate = intake(&store, "a", calls).await;
    let claim_rate = drain(&store, workers, false).await;
    let slot_rate = slots(&store, workers).await;
    let cycle_calls = (calls / 5).max(1);
    intake(&store, "b", cycle_calls).await;
    let cycle_rate = drain(&store, workers, true).await;
    let backend = url.split(':').next().unwrap_or_default();
    println!(
        "{backend}\t{calls}\t{workers}\t{intake_rate:.0}\t{claim_rate:.0}\t{slot_rate:.0}\t{cycle_rate:.0}"
    );
}
