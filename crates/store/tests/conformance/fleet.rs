//! Many nodes on one store at once: claims never share a call, the last calls of a batch
//! finishing together settle it exactly once (one callback), a cancel racing re-queues
//! leaves nothing queued, and callback senders never share a delivery.

use std::collections::HashSet;

use voicebot_store::*;

use crate::support::{Db, S, batch, phones};

fn claim_by(node: &str, limit: u32) -> ClaimRequest {
    ClaimRequest { node: node.into(), now: S, lease_until: 600 * S, limit }
}

/// Claims every call of the store's batches with four nodes claiming side by side.
async fn claim_all_concurrently(db: &Db) -> Vec<(String, ClaimedCall)> {
    let tasks: Vec<_> = (0..4)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let node = format!("node-{n}");
                let mut mine = Vec::new();
                loop {
                    let got = db.claim_due_calls(&claim_by(&node, 7)).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| (node.clone(), c)));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn begin(db: &Db, node: &str, call_id: &str) {
    let a = NewAttempt {
        id: format!("{call_id}-a1"),
        call_id: call_id.into(),
        sip_call_id: format!("sip-{call_id}-1"),
        trunk: "main".into(),
        node: node.into(),
        started_at: 2 * S,
        lease_until: 600 * S,
        max_concurrent: None,
    };
    assert_eq!(db.begin_attempt(&a).await.unwrap(), AttemptStart::Started(1));
}

fn result(node: &str, call_id: &str, next: CallNext) -> AttemptResult {
    AttemptResult {
        attempt_id: format!("{call_id}-a1"),
        call_id: call_id.into(),
        node: node.into(),
        outcome: "ANSWERED".into(),
        sip_code: Some(200),
        answered_at: Some(3 * S),
        ended_at: 4 * S,
        duration_seconds: 1,
        options_selected: None,
        opted_out: false,
        next,
        digits: String::new(),
        played: vec![],
    }
}

/// Finishes every claimed call at once, one task each.
async fn finish_all_concurrently(db: &Db, claimed: &[(String, ClaimedCall)], next: CallNext) {
    let tasks: Vec<_> = claimed
        .iter()
        .map(|(node, c)| {
            let (db, r) = (db.clone(), result(node, &c.call.id, next.clone()));
            tokio::spawn(async move { assert!(db.finish_attempt(&r).await.unwrap()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

async fn concurrent_claims_never_share_a_call(db: Db) {
    let numbers = phones(300);
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    batch(&db, "b1", &refs, 1, None).await;
    let claimed = claim_all_concurrently(&db).await;
    let ids: HashSet<&str> = claimed.iter().map(|(_, c)| c.call.id.as_str()).collect();
    assert_eq!((claimed.len(), ids.len()), (300, 300), "each call claimed exactly once");
    let p = db.batch_progress("b1").await.unwrap();
    assert_eq!((p.dialing, p.queued), (300, 0));
}

async fn last_calls_finishing_together_settle_the_batch_once(db: Db) {
    for b in 0..6 {
        batch(&db, &format!("b{b}"), &["+2348000000001", "+2348000000002", "+2348000000003"], 1, None).await;
    }
    let claimed = claim_all_concurrently(&db).await;
    assert_eq!(claimed.len(), 18);
    for (node, c) in &claimed {
        begin(&db, node, &c.call.id).await;
    }
    let done = CallNext::Final { status: CallStatus::Completed, reason: None };
    finish_all_concurrently(&db, &claimed, done).await;
    for b in 0..6 {
        let id = format!("b{b}");
        let row = db.get_batch("int-1", &id).await.unwrap().unwrap();
        assert_eq!((row.status, row.completed_at), (BatchStatus::Completed, Some(4 * S)), "{id}");
        let d = db.callback_delivery("int-1", &id).await.unwrap().expect("one outbox row");
        assert_eq!(d.state, CallbackState::Pending);
    }
    let claims = db.claim_callbacks("sender", 10 * S, 20 * S, 100).await.unwrap();
    assert_eq!(claims.len(), 6, "one delivery per batch");
}

async fn cancel_racing_retries_leaves_nothing_queued(db: Db) {
    let numbers = phones(24);
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    batch(&db, "b1", &refs, 3, None).await;
    let claimed = claim_all_concurrently(&db).await;
    for (node, c) in &claimed {
        begin(&db, node, &c.call.id).await;
    }
    let cancel = {
        let db = db.clone();
        tokio::spawn(async move { db.cancel_batch("int-1", "b1", 3 * S).await.unwrap() })
    };
    finish_all_concurrently(&db, &claimed, CallNext::Retry { at: 5 * S }).await;
    cancel.await.unwrap();
    let p = db.batch_progress("b1").await.unwrap();
    assert_eq!((p.cancelled, p.queued, p.dialing), (24, 0, 0), "{p:?}");
    assert_eq!(db.get_batch("int-1", "b1").await.unwrap().unwrap().status, BatchStatus::Cancelled);
    assert!(db.callback_delivery("int-1", "b1").await.unwrap().is_some());
}

async fn callback_senders_never_share_a_delivery(db: Db) {
    for b in 0..20 {
        let id = format!("b{b}");
        batch(&db, &id, &["+2348000000001"], 1, None).await;
        db.cancel_batch("int-1", &id, S).await.unwrap();
    }
    let tasks: Vec<_> = (0..4)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = db.claim_callbacks(&format!("sender-{n}"), 2 * S, 60 * S, 3).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| c.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (20, 20));
}

conformance!(
    concurrent_claims_never_share_a_call,
    last_calls_finishing_together_settle_the_batch_once,
    cancel_racing_retries_leaves_nothing_queued,
    callback_senders_never_share_a_delivery,
);
