//! Callback outbox against a real SQLite file: the trigger writes one row when a batch
//! becomes final, claims take a lease, attempts are fenced, redeliver keeps the id.

use voicebot_store::*;

const S: i64 = 1_000_000;

async fn db() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    for id in ["int-1", "int-2"] {
        let i = Integrator {
            id: id.into(),
            name: "Clinic".into(),
            callback_url: None,
            signing_secret: "whsec_x".into(),
            previous_signing_secret: None,
            previous_secret_expires_at: None,
            created_at: 0,
        };
        store.create_integrator(&i, &format!("hash-{id}")).await.unwrap();
    }
    (dir, store)
}

async fn batch(store: &SqliteStore, id: &str) {
    let b = NewBatch {
        id: id.into(),
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
        calls: vec![NewCall {
            id: format!("{id}-c0"),
            phone_number: "+2348000000001".into(),
            user_tag_identifiers: "{}".into(),
            workflow_variables: "{}".into(),
        }],
    };
    store.create_batch(&b).await.unwrap();
}

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

#[tokio::test]
async fn final_batch_gets_one_outbox_row_and_lease_fences_senders() {
    let (_dir, store) = db().await;
    batch(&store, "b1").await;
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
