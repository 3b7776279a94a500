//! Callback outbox: the trigger writes one row when a batch becomes final, claims take a
//! lease, attempts are fenced, redeliver keeps the id.

use voicebot_store::*;

use crate::support::{Db, S, batch};

fn record(claim: &CallbackClaim, node: &str, next: CallbackNext, now: i64) -> CallbackAttemptRecord {
    CallbackAttemptRecord {
        outbox_id: claim.id.clone(),
        node: node.into(),
        url: Some("http://127.0.0.1:9/hook".into()),
        started_at: now,
        http_status: Some(500),
        latency_ms: Some(3),
        error: None,
        next,
        now,
    }
}

async fn final_batch_gets_one_outbox_row_and_lease_fences_senders(store: Db) {
    batch(&store, "b1", &["+2348000000001"], 1, None).await;
    assert!(store.callback_delivery("int-1", "b1").await.unwrap().is_none(), "not final yet");
    assert!(store.claim_callbacks("a", 10 * S, 20 * S, 10).await.unwrap().is_empty());

    store.cancel_batch("int-1", "b1", 5 * S).await.unwrap();
    store.cancel_batch("int-1", "b1", 6 * S).await.unwrap(); // already final: no second row
    let d = store.callback_delivery("int-1", "b1").await.unwrap().expect("outbox row");
    assert_eq!(d.state, CallbackState::Pending);
    assert!(d.webhook_id.starts_with("msg_") && d.webhook_id.len() == 36, "{}", d.webhook_id);
    assert_eq!(d.next_attempt_at, 5 * S);
    assert!(store.callback_delivery("int-2", "b1").await.unwrap().is_none(), "tenancy");

    let claims = store.claim_callbacks("a", 10 * S, 20 * S, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].id, d.webhook_id);
    assert!(store.claim_callbacks("b", 11 * S, 21 * S, 10).await.unwrap().is_empty(), "leased");
    // Lease expired: sender b takes it over; a's late result is refused.
    let taken = store.claim_callbacks("b", 20 * S, 30 * S, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(
        !store
            .record_callback_attempt(&record(&claims[0], "a", CallbackNext::Delivered, 21 * S))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_callback_attempt(&record(&taken[0], "b", CallbackNext::RetryAt(40 * S), 21 * S))
            .await
            .unwrap()
    );
    assert!(store.claim_callbacks("b", 39 * S, 50 * S, 10).await.unwrap().is_empty(), "not due");
    let again = store.claim_callbacks("b", 40 * S, 50 * S, 10).await.unwrap();
    assert_eq!((again[0].attempts, again[0].round_attempts), (1, 1));
    assert!(
        store
            .record_callback_attempt(&record(&again[0], "b", CallbackNext::Stop(CallbackState::Gone), 41 * S))
            .await
            .unwrap()
    );

    let d = store.callback_delivery("int-1", "b1").await.unwrap().unwrap();
    assert_eq!(d.state, CallbackState::Gone);
    assert_eq!(d.attempt_log.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["RETRY", "GONE"]);
    assert!(store.claim_callbacks("b", 100 * S, 200 * S, 10).await.unwrap().is_empty());

    let r = store.redeliver_callback("int-1", "b1", 101 * S).await.unwrap().unwrap();
    assert_eq!((r.state, r.webhook_id.as_str()), (CallbackState::Pending, d.webhook_id.as_str()));
    assert!(store.redeliver_callback("int-2", "b1", 101 * S).await.unwrap().is_none());
    let c = store.claim_callbacks("b", 101 * S, 200 * S, 10).await.unwrap();
    assert_eq!((c[0].id.as_str(), c[0].attempts, c[0].round_attempts), (d.webhook_id.as_str(), 2, 0));
    assert!(
        store.record_callback_attempt(&record(&c[0], "b", CallbackNext::Delivered, 102 * S)).await.unwrap()
    );
    let d = store.callback_delivery("int-1", "b1").await.unwrap().unwrap();
    assert_eq!((d.state, d.attempts, d.delivered_at), (CallbackState::Delivered, 3, Some(102 * S)));
}

conformance!(final_batch_gets_one_outbox_row_and_lease_fences_senders,);
