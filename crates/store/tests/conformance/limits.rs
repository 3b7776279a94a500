//! Fleet-wide trunk limits and node heartbeats: send slots never overlap whichever node takes
//! them, `begin_attempt` refuses past the trunk's `max_concurrent` even when nodes race for the
//! last slot, and a node that stops heartbeating loses its calls to recovery before its
//! leases expire.

use std::collections::HashSet;

use voicebot_store::*;

use crate::support::{Db, S, batch, phones};

fn claim_by(node: &str, now: i64, limit: u32) -> ClaimRequest {
    ClaimRequest { node: node.into(), now, lease_until: now + 600 * S, limit }
}

fn attempt(node: &str, call_id: &str, trunk: &str, now: i64, max_concurrent: Option<u32>) -> NewAttempt {
    NewAttempt {
        id: format!("{call_id}-{now}"),
        call_id: call_id.into(),
        sip_call_id: format!("sip-{call_id}-{now}"),
        trunk: trunk.into(),
        node: node.into(),
        started_at: now,
        lease_until: now + 600 * S,
        max_concurrent,
    }
}

fn ended(node: &str, call_id: &str, started: i64, now: i64) -> AttemptResult {
    AttemptResult {
        attempt_id: format!("{call_id}-{started}"),
        call_id: call_id.into(),
        node: node.into(),
        outcome: "ANSWERED".into(),
        sip_code: Some(200),
        answered_at: None,
        ended_at: now,
        duration_seconds: 1,
        options_selected: None,
        opted_out: false,
        next: CallNext::Final { status: CallStatus::Completed, reason: None },
        digits: String::new(),
        played: vec![],
    }
}

async fn send_slots_never_overlap_across_nodes(db: Db) {
    const INTERVAL: i64 = 100_000;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for _ in 0..25 {
                    mine.push(db.reserve_send_slot("main", S, INTERVAL).await.unwrap());
                }
                mine
            })
        })
        .collect();
    let mut slots = Vec::new();
    for t in tasks {
        slots.extend(t.await.unwrap());
    }
    slots.sort_unstable();
    assert_eq!(slots.first(), Some(&S), "an idle trunk sends at once");
    assert_eq!(slots.len(), 100);
    for w in slots.windows(2) {
        assert!(w[1] - w[0] >= INTERVAL, "slots {} and {} overlap", w[0], w[1]);
    }
    // Pacing is per trunk, and an idle gap is not saved up (burst 1).
    assert_eq!(db.reserve_send_slot("other", S, INTERVAL).await.unwrap(), S);
    let later = 100 * S;
    assert_eq!(db.reserve_send_slot("main", later, INTERVAL).await.unwrap(), later);
    assert_eq!(db.reserve_send_slot("main", later, INTERVAL).await.unwrap(), later + INTERVAL);
}

async fn begin_attempt_refuses_past_max_concurrent(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002", "+2348000000003", "+2348000000004"], 3, None)
        .await;
    assert_eq!(db.claim_due_calls(&claim_by("node-a", S, 4)).await.unwrap().len(), 4);
    let begin = |call: &str, trunk: &str| attempt("node-a", call, trunk, 2 * S, Some(2));
    assert_eq!(db.begin_attempt(&begin("b1-c0", "main")).await.unwrap(), AttemptStart::Started(1));
    assert_eq!(db.begin_attempt(&begin("b1-c1", "main")).await.unwrap(), AttemptStart::Started(1));
    assert_eq!(db.begin_attempt(&begin("b1-c2", "main")).await.unwrap(), AttemptStart::TrunkFull);
    // Refused means nothing written: still claimed, no attempt counted.
    let c2 = db.get_call("int-1", "b1-c2").await.unwrap().unwrap();
    assert_eq!((c2.status, c2.attempts), (CallStatus::Dialing, 0));
    // Another trunk has its own count.
    assert_eq!(db.begin_attempt(&begin("b1-c3", "backup")).await.unwrap(), AttemptStart::Started(1));
    // An attempt ending frees its place.
    assert!(db.finish_attempt(&ended("node-a", "b1-c0", 2 * S, 3 * S)).await.unwrap());
    let again = attempt("node-a", "b1-c2", "main", 4 * S, Some(2));
    assert_eq!(db.begin_attempt(&again).await.unwrap(), AttemptStart::Started(1));
    // Attempts of a dead run count until recovery interrupts them (the lease outlives any
    // call, and the heartbeat sweep also takes expired leases).
    assert!(db.finish_attempt(&ended("node-a", "b1-c3", 2 * S, 3 * S)).await.unwrap());
    let c3 = db.claim_due_calls(&claim_by("node-a", 4 * S, 1)).await.unwrap();
    assert!(c3.is_empty(), "c3 is final");
    let after_leases = attempt("node-a", "b1-c3", "main", 700 * S, Some(2));
    assert_eq!(db.begin_attempt(&after_leases).await.unwrap(), AttemptStart::LeaseLost);
    let recovered = db.recover_interrupted(700 * S, None, 0).await.unwrap();
    assert_eq!(recovered.interrupted, 2, "b1-c1 and b1-c2, their leases expired");
    let fresh = db.claim_due_calls(&claim_by("node-b", 701 * S, 2)).await.unwrap();
    assert_eq!(fresh.len(), 2);
    for c in &fresh {
        let a = attempt("node-b", &c.call.id, "main", 702 * S, Some(2));
        assert_eq!(db.begin_attempt(&a).await.unwrap(), AttemptStart::Started(2), "{}", c.call.id);
    }
}

async fn nodes_racing_for_the_last_places_never_exceed_max_concurrent(db: Db) {
    let numbers = phones(40);
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    batch(&db, "b1", &refs, 1, None).await;
    let mut tasks = Vec::new();
    for n in 0..4 {
        let node = format!("node-{n}");
        let claimed = db.claim_due_calls(&claim_by(&node, S, 10)).await.unwrap();
        for c in claimed {
            let (db, node) = (db.clone(), node.clone());
            tasks.push(tokio::spawn(async move {
                db.begin_attempt(&attempt(&node, &c.call.id, "main", 2 * S, Some(5))).await.unwrap()
            }));
        }
    }
    let mut started = 0;
    for t in tasks {
        match t.await.unwrap() {
            AttemptStart::Started(1) => started += 1,
            AttemptStart::TrunkFull => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(started, 5, "exactly max_concurrent attempts started");
}

async fn silent_node_loses_its_calls_before_its_leases_expire(db: Db) {
    assert_eq!(db.heartbeat("node-a", 10 * S).await.unwrap(), None);
    assert_eq!(db.heartbeat("node-b", 10 * S).await.unwrap(), None);
    batch(&db, "b1", &["+2348000000001", "+2348000000002", "+2348000000003"], 2, None).await;
    let a = db.claim_due_calls(&claim_by("node-a", 11 * S, 2)).await.unwrap();
    let b = db.claim_due_calls(&claim_by("node-b", 11 * S, 1)).await.unwrap();
    let ids = |v: &[ClaimedCall]| v.iter().map(|c| c.call.id.clone()).collect::<HashSet<_>>();
    assert_eq!(ids(&a), HashSet::from(["b1-c0".to_string(), "b1-c1".to_string()]));
    assert_eq!(ids(&b), HashSet::from(["b1-c2".to_string()]));
    // node-a dials c0 and has c1 claimed but not dialed; node-b dials c2.
    db.begin_attempt(&attempt("node-a", "b1-c0", "main", 12 * S, None)).await.unwrap();
    db.begin_attempt(&attempt("node-b", "b1-c2", "main", 12 * S, None)).await.unwrap();
    // node-b keeps beating, node-a went silent at 10 s; dead after 20 s of silence.
    assert_eq!(db.heartbeat("node-b", 35 * S).await.unwrap(), Some(10 * S));
    let early = db.recover_dead_nodes(25 * S, 5 * S, 60 * S).await.unwrap();
    assert_eq!(early, Recovered::default(), "heartbeats newer than the cutoff: alive");
    let got = db.recover_dead_nodes(40 * S, 20 * S, 60 * S).await.unwrap();
    assert_eq!(got, Recovered { interrupted: 1, finalised: 0, requeued: 1 });
    let call = |id: &'static str| {
        let db = db.clone();
        async move { db.get_call("int-1", id).await.unwrap().unwrap() }
    };
    let c0 = call("b1-c0").await;
    assert_eq!((c0.status, c0.attempts, c0.next_attempt_at), (CallStatus::Queued, 1, 100 * S));
    assert_eq!(c0.outcome.as_deref(), Some(OUTCOME_INTERRUPTED));
    let c1 = call("b1-c1").await;
    assert_eq!((c1.status, c1.attempts), (CallStatus::Queued, 0), "never dialed: not counted");
    assert_eq!(call("b1-c2").await.status, CallStatus::Dialing, "node-b is alive");
    // The dead node's late result is fenced off; a second sweep finds nothing.
    assert!(!db.finish_attempt(&ended("node-a", "b1-c0", 12 * S, 41 * S)).await.unwrap());
    assert_eq!(db.recover_dead_nodes(42 * S, 22 * S, 60 * S).await.unwrap(), Recovered::default());
}

conformance!(
    send_slots_never_overlap_across_nodes,
    begin_attempt_refuses_past_max_concurrent,
    nodes_racing_for_the_last_places_never_exceed_max_concurrent,
    silent_node_loses_its_calls_before_its_leases_expire,
);
