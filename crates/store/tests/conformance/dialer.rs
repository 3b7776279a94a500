//! Dialer queries: claims, attempts committed before the INVITE, retries and final states,
//! batch settlement, crash recovery, do-not-call, progress.

use voicebot_store::*;

use crate::support::{Db, S, batch};

const NODE: &str = "node-a";

fn claim(now: i64, limit: u32) -> ClaimRequest {
    ClaimRequest { node: NODE.into(), now, lease_until: now + 600 * S, limit }
}

fn attempt(call_id: &str, n: u32, now: i64) -> NewAttempt {
    NewAttempt {
        id: format!("{call_id}-a{n}"),
        call_id: call_id.into(),
        sip_call_id: format!("sip-{call_id}-{n}"),
        trunk: "main".into(),
        node: NODE.into(),
        started_at: now,
        lease_until: now + 600 * S,
        max_concurrent: None,
    }
}

fn result(call_id: &str, n: u32, outcome: &str, now: i64, next: CallNext) -> AttemptResult {
    AttemptResult {
        attempt_id: format!("{call_id}-a{n}"),
        call_id: call_id.into(),
        node: NODE.into(),
        outcome: outcome.into(),
        sip_code: Some(200),
        answered_at: None,
        ended_at: now,
        duration_seconds: 0,
        options_selected: None,
        opted_out: false,
        next,
        digits: String::new(),
        played: vec![],
    }
}

fn done(status: CallStatus) -> CallNext {
    CallNext::Final { status, reason: None }
}

async fn call(store: &Db, id: &str) -> CallRow {
    store.get_call("int-1", id).await.unwrap().unwrap()
}

async fn batch_status(store: &Db, id: &str) -> BatchStatus {
    store.get_batch("int-1", id).await.unwrap().unwrap().status
}

async fn claim_takes_due_calls_once_with_their_batch(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002", "+2348000000003"], 3, None).await;
    let got = db.claim_due_calls(&claim(10 * S, 2)).await.unwrap();
    assert_eq!(got.iter().map(|c| c.call.id.as_str()).collect::<Vec<_>>(), ["b1-c0", "b1-c1"]);
    assert_eq!(got[0].batch.id, "b1");
    assert_eq!(got[0].call.status, CallStatus::Dialing);
    let rest = db.claim_due_calls(&claim(10 * S, 10)).await.unwrap();
    assert_eq!(rest.len(), 1, "claimed calls are not claimed again");
    assert!(db.claim_due_calls(&claim(10 * S, 10)).await.unwrap().is_empty());
}

async fn attempt_is_committed_and_answered_call_completes_batch(db: Db) {
    batch(&db, "b1", &["+2348000000001"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    assert_eq!(db.begin_attempt(&attempt("b1-c0", 1, S)).await.unwrap(), AttemptStart::Started(1));
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::InProgress);
    assert_eq!(call(&db, "b1-c0").await.attempts, 1, "counted before the INVITE");
    db.mark_answered("b1-c0-a1", 2 * S).await.unwrap();
    let mut r = result("b1-c0", 1, "ANSWERED", 40 * S, done(CallStatus::Completed));
    r.duration_seconds = 38;
    r.options_selected = Some("1".into());
    assert!(db.finish_attempt(&r).await.unwrap());
    let c = call(&db, "b1-c0").await;
    assert_eq!(c.status, CallStatus::Completed);
    assert_eq!((c.duration_seconds, c.options_selected.as_deref()), (38, Some("1")));
    assert_eq!(c.outcome.as_deref(), Some("ANSWERED"));
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::Completed);
}

async fn retry_requeues_and_max_attempts_is_never_exceeded(db: Db) {
    batch(&db, "b1", &["+2348000000001"], 2, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    db.begin_attempt(&attempt("b1-c0", 1, S)).await.unwrap();
    let r = result("b1-c0", 1, "BUSY", 2 * S, CallNext::Retry { at: 300 * S });
    assert!(db.finish_attempt(&r).await.unwrap());
    let c = call(&db, "b1-c0").await;
    assert_eq!((c.status, c.next_attempt_at), (CallStatus::Queued, 300 * S));
    assert!(db.claim_due_calls(&claim(299 * S, 1)).await.unwrap().is_empty(), "not due yet");
    assert_eq!(db.claim_due_calls(&claim(300 * S, 1)).await.unwrap().len(), 1);
    assert_eq!(db.begin_attempt(&attempt("b1-c0", 2, 300 * S)).await.unwrap(), AttemptStart::Started(2));
    // A buggy caller asking for a retry after the last attempt: the store refuses to dial again.
    let r = result("b1-c0", 2, "BUSY", 301 * S, CallNext::Retry { at: 301 * S });
    db.finish_attempt(&r).await.unwrap();
    db.claim_due_calls(&claim(400 * S, 1)).await.unwrap();
    assert_eq!(db.begin_attempt(&attempt("b1-c0", 3, 400 * S)).await.unwrap(), AttemptStart::Exhausted);
    let c = call(&db, "b1-c0").await;
    assert_eq!((c.status, c.attempts), (CallStatus::Failed, 2));
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::Completed);
}

async fn lease_fencing_refuses_other_nodes(db: Db) {
    batch(&db, "b1", &["+2348000000001"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    let mut a = attempt("b1-c0", 1, S);
    a.node = "node-b".into();
    assert_eq!(db.begin_attempt(&a).await.unwrap(), AttemptStart::LeaseLost);
    assert!(!db.skip_call("b1-c0", "node-b", CallStatus::Failed, "x", S).await.unwrap());
    assert!(!db.defer_call("b1-c0", "node-b", S, S).await.unwrap());
    assert_eq!(call(&db, "b1-c0").await.status, CallStatus::Dialing);
}

async fn recovery_marks_interrupted_counts_and_finalises_at_max(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002", "+2348000000003"], 2, None).await;
    db.claim_due_calls(&claim(S, 3)).await.unwrap();
    // c0: first attempt in flight; c1: second (last) attempt in flight; c2: claimed, never dialed.
    db.begin_attempt(&attempt("b1-c0", 1, S)).await.unwrap();
    db.begin_attempt(&attempt("b1-c1", 1, S)).await.unwrap();
    let r = result("b1-c1", 1, "NO_ANSWER", 2 * S, CallNext::Retry { at: 2 * S });
    db.finish_attempt(&r).await.unwrap();
    db.claim_due_calls(&claim(2 * S, 1)).await.unwrap();
    db.begin_attempt(&attempt("b1-c1", 2, 2 * S)).await.unwrap();
    // Leases have not expired and another node restarts: nothing happens.
    let none = db.recover_interrupted(3 * S, Some("node-b"), 60 * S).await.unwrap();
    assert_eq!(none, Recovered::default());
    // This node restarts (kill -9): its leases are dead.
    let got = db.recover_interrupted(3 * S, Some(NODE), 60 * S).await.unwrap();
    assert_eq!(got, Recovered { interrupted: 2, finalised: 1, requeued: 1 });
    let c0 = call(&db, "b1-c0").await;
    assert_eq!((c0.status, c0.attempts, c0.next_attempt_at), (CallStatus::Queued, 1, 63 * S));
    assert_eq!(c0.outcome.as_deref(), Some(OUTCOME_INTERRUPTED));
    let c1 = call(&db, "b1-c1").await;
    assert_eq!((c1.status, c1.attempts, c1.reason.as_deref()), (CallStatus::Failed, 2, Some("interrupted")));
    let c2 = call(&db, "b1-c2").await;
    assert_eq!((c2.status, c2.attempts), (CallStatus::Queued, 0), "no INVITE left: not counted");
    // The old node's late write is refused.
    let late = result("b1-c0", 1, "ANSWERED", 4 * S, done(CallStatus::Completed));
    assert!(!db.finish_attempt(&late).await.unwrap());
    // A fresh attempt gets a fresh number and Call-ID; the interrupted one is never reused.
    db.claim_due_calls(&claim(63 * S, 5)).await.unwrap();
    assert_eq!(db.begin_attempt(&attempt("b1-c0", 2, 63 * S)).await.unwrap(), AttemptStart::Started(2));
}

async fn recovery_by_lease_expiry(db: Db) {
    batch(&db, "b1", &["+2348000000001"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    db.begin_attempt(&attempt("b1-c0", 1, S)).await.unwrap();
    let early = db.recover_interrupted(600 * S, None, 0).await.unwrap();
    assert_eq!(early.interrupted, 0, "lease still live");
    let late = db.recover_interrupted(602 * S, None, 0).await.unwrap();
    assert_eq!(late.interrupted, 1);
    assert_eq!(call(&db, "b1-c0").await.status, CallStatus::Queued);
}

async fn cancel_stops_retries_of_live_calls(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    db.begin_attempt(&attempt("b1-c0", 1, S)).await.unwrap();
    assert_eq!(db.cancel_batch("int-1", "b1", 2 * S).await.unwrap(), Some(1));
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::InProgress, "a call is live");
    let r = result("b1-c0", 1, "BUSY", 3 * S, CallNext::Retry { at: 4 * S });
    assert!(db.finish_attempt(&r).await.unwrap());
    assert_eq!(call(&db, "b1-c0").await.status, CallStatus::Cancelled);
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::Cancelled);
    assert!(db.claim_due_calls(&claim(10 * S, 5)).await.unwrap().is_empty());
}

async fn cancel_between_claim_and_dial_refuses_the_attempt(db: Db) {
    batch(&db, "b1", &["+2348000000001"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    db.cancel_batch("int-1", "b1", 2 * S).await.unwrap();
    assert_eq!(db.begin_attempt(&attempt("b1-c0", 1, 3 * S)).await.unwrap(), AttemptStart::Cancelled);
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::Cancelled);
}

async fn skip_defer_and_not_after(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002"], 3, Some(100 * S)).await;
    db.claim_due_calls(&claim(S, 2)).await.unwrap();
    assert!(db.skip_call("b1-c0", NODE, CallStatus::Failed, "do_not_call", S).await.unwrap());
    assert_eq!(call(&db, "b1-c0").await.reason.as_deref(), Some("do_not_call"));
    assert!(db.defer_call("b1-c1", NODE, 200 * S, S).await.unwrap());
    let c1 = call(&db, "b1-c1").await;
    assert_eq!((c1.status, c1.attempts, c1.next_attempt_at), (CallStatus::Queued, 0, 200 * S));
    // Past not_after the waiting call is finalised by the next claim, and the batch settles.
    assert!(db.claim_due_calls(&claim(201 * S, 5)).await.unwrap().is_empty());
    let c1 = call(&db, "b1-c1").await;
    assert_eq!((c1.status, c1.reason.as_deref()), (CallStatus::Failed, Some("not_after")));
    assert_eq!(batch_status(&db, "b1").await, BatchStatus::Completed);
    let p = db.batch_progress("b1").await.unwrap();
    assert_eq!((p.total, p.failed, p.finished()), (2, 2, 2));
}

async fn opt_out_and_do_not_call_list(db: Db) {
    batch(&db, "b1", &["+2348000000001"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    db.begin_attempt(&attempt("b1-c0", 1, S)).await.unwrap();
    let mut r = result("b1-c0", 1, "ANSWERED", 5 * S, done(CallStatus::Completed));
    r.opted_out = true;
    db.finish_attempt(&r).await.unwrap();
    let list = db.list_do_not_call("int-1").await.unwrap();
    assert_eq!(
        list,
        vec![DoNotCall {
            phone_number: "+2348000000001".into(),
            source: "opt_out".into(),
            created_at: 5 * S
        }]
    );
    assert!(db.add_do_not_call("int-1", "+2348000000009", "api", 6 * S).await.unwrap());
    assert!(!db.add_do_not_call("int-1", "+2348000000009", "api", 7 * S).await.unwrap());
    let hits = db.do_not_call_hits("int-1", &["+2348000000009".into(), "+1".into()]).await.unwrap();
    assert_eq!(hits, vec!["+2348000000009".to_string()]);
    assert!(db.remove_do_not_call("int-1", "+2348000000009").await.unwrap());
    assert!(!db.remove_do_not_call("int-1", "+2348000000009").await.unwrap());
    assert_eq!(db.list_do_not_call("int-1").await.unwrap().len(), 1);
}

async fn progress_counts_by_status(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002", "+2348000000003"], 3, None).await;
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    let p = db.batch_progress("b1").await.unwrap();
    assert_eq!(p, BatchProgress { total: 3, queued: 2, dialing: 1, ..Default::default() });
}

async fn queue_depth_counts_due_scheduled_and_dialing(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002", "+2348000000003"], 3, None).await;
    let first = db.claim_due_calls(&claim(S, 1)).await.unwrap();
    assert!(db.defer_call(&first[0].call.id, NODE, 100 * S, S).await.unwrap());
    assert_eq!(db.queue_depth(S).await.unwrap(), QueueDepth { due: 2, scheduled: 1, dialing: 0 });
    db.claim_due_calls(&claim(S, 1)).await.unwrap();
    assert_eq!(db.queue_depth(S).await.unwrap(), QueueDepth { due: 1, scheduled: 1, dialing: 1 });
    assert_eq!(db.queue_depth(100 * S).await.unwrap(), QueueDepth { due: 2, scheduled: 0, dialing: 1 });
}

conformance!(
    claim_takes_due_calls_once_with_their_batch,
    attempt_is_committed_and_answered_call_completes_batch,
    retry_requeues_and_max_attempts_is_never_exceeded,
    lease_fencing_refuses_other_nodes,
    recovery_marks_interrupted_counts_and_finalises_at_max,
    recovery_by_lease_expiry,
    cancel_stops_retries_of_live_calls,
    cancel_between_claim_and_dial_refuses_the_attempt,
    skip_defer_and_not_after,
    opt_out_and_do_not_call_list,
    progress_counts_by_status,
    queue_depth_counts_due_scheduled_and_dialing,
);
