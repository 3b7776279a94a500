//! Intake and integrator-facing reads: integrators and key rotation, workflows, batches with
//! idempotency keys, call listing and paging, cancel, do-not-call lookups, tenancy.

use voicebot_store::*;

use crate::support::{Db, S, batch, new_batch, phones};

async fn integrators_and_key_rotation(db: Db) {
    let all = db.list_integrators().await.unwrap();
    assert_eq!(all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["int-1", "int-2"]);
    assert_eq!(db.get_integrator("int-2").await.unwrap().unwrap().name, "Clinic");
    assert!(db.get_integrator("nope").await.unwrap().is_none());
    assert_eq!(db.integrator_for_key("hash-int-1", S).await.unwrap().unwrap().id, "int-1");
    assert!(db.integrator_for_key("hash-x", S).await.unwrap().is_none());

    let r = KeyRotation {
        key_hash: "hash-new".into(),
        signing_secret: "whsec_y".into(),
        now: 10 * S,
        grace_until: 20 * S,
    };
    assert!(db.rotate_keys("int-1", &r).await.unwrap());
    assert!(!db.rotate_keys("nope", &r).await.unwrap());
    let i = db.get_integrator("int-1").await.unwrap().unwrap();
    assert_eq!(
        (i.signing_secret.as_str(), i.previous_signing_secret.as_deref()),
        ("whsec_y", Some("whsec_x"))
    );
    assert_eq!(i.previous_secret_expires_at, Some(20 * S));
    assert!(db.integrator_for_key("hash-int-1", 19 * S).await.unwrap().is_some(), "old key in grace");
    assert!(db.integrator_for_key("hash-int-1", 20 * S).await.unwrap().is_none(), "old key expired");
    assert!(db.integrator_for_key("hash-new", 30 * S).await.unwrap().is_some());
}

fn workflow(integrator: &str, id: &str, name: &str, at: i64) -> WorkflowRow {
    WorkflowRow {
        integrator_id: integrator.into(),
        id: id.into(),
        name: name.into(),
        definition: r#"{"steps": [ 1 ]}"#.into(),
        created_at: at,
        updated_at: at,
    }
}

async fn workflows_put_replace_delete_and_tenancy(db: Db) {
    assert!(db.put_workflow(&workflow("int-1", "w1", "first", S)).await.unwrap(), "created");
    assert!(db.put_workflow(&workflow("int-1", "w2", "second", 2 * S)).await.unwrap());
    assert!(!db.put_workflow(&workflow("int-1", "w1", "renamed", 3 * S)).await.unwrap(), "replaced");
    assert!(
        db.put_workflow(&workflow("int-2", "w1", "theirs", 3 * S)).await.unwrap(),
        "same id, other owner"
    );
    let w1 = db.get_workflow("int-1", "w1").await.unwrap().unwrap();
    assert_eq!((w1.name.as_str(), w1.created_at, w1.updated_at), ("renamed", S, 3 * S));
    assert_eq!(w1.definition, r#"{"steps": [ 1 ]}"#, "JSON bytes kept verbatim");
    let list = db.list_workflows("int-1").await.unwrap();
    assert_eq!(list.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), ["w2", "w1"], "newest first");

    assert!(db.delete_workflow("int-1", "w1", 4 * S).await.unwrap());
    assert!(!db.delete_workflow("int-1", "w1", 4 * S).await.unwrap());
    assert!(db.get_workflow("int-1", "w1").await.unwrap().is_none());
    assert_eq!(db.get_workflow("int-2", "w1").await.unwrap().unwrap().name, "theirs");
    assert!(db.put_workflow(&workflow("int-1", "w1", "again", 5 * S)).await.unwrap(), "re-created");
    assert_eq!(db.get_workflow("int-1", "w1").await.unwrap().unwrap().created_at, 5 * S);
}

async fn batch_is_stored_whole_and_read_back(db: Db) {
    let numbers = phones(12_345);
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let mut b = new_batch("b1", &refs, 3, Some(900 * S));
    b.not_before = Some(60 * S);
    b.backoff_seconds = Some(30);
    b.callback_url = Some("https://example.org/hook".into());
    b.calls[7].user_tag_identifiers = r#"{"mrn": "007",  "x": [1]}"#.into();
    b.calls[7].workflow_variables = r#"{"name":"Ada"}"#.into();
    assert_eq!(db.create_batch(&b).await.unwrap(), BatchCreated::Created("b1".into()));

    let row = db.get_batch("int-1", "b1").await.unwrap().unwrap();
    assert_eq!((row.status, row.total_calls, row.max_attempts), (BatchStatus::Pending, 12_345, 3));
    assert_eq!((row.not_before, row.not_after, row.backoff_seconds), (Some(60 * S), Some(900 * S), Some(30)));
    assert_eq!(row.callback_url.as_deref(), Some("https://example.org/hook"));
    assert!(db.get_batch("int-2", "b1").await.unwrap().is_none(), "tenancy");

    let c7 = db.get_call("int-1", "b1-c7").await.unwrap().unwrap();
    assert_eq!((c7.seq, c7.status, c7.next_attempt_at), (7, CallStatus::Queued, 60 * S));
    assert_eq!(c7.user_tag_identifiers, r#"{"mrn": "007",  "x": [1]}"#);
    assert_eq!(c7.workflow_variables, r#"{"name":"Ada"}"#);
    assert!(db.get_call("int-2", "b1-c7").await.unwrap().is_none(), "tenancy");

    let all = db.batch_calls("b1", &CallFilter::default()).await.unwrap();
    assert_eq!(all.len(), 12_345);
    assert!(all.iter().enumerate().all(|(i, c)| c.seq == i as i64 && c.phone_number == numbers[i]));
    let page = CallFilter { after_seq: Some(9_998), limit: Some(3), ..Default::default() };
    let got = db.batch_calls("b1", &page).await.unwrap();
    assert_eq!(got.iter().map(|c| c.seq).collect::<Vec<_>>(), [9_999, 10_000, 10_001]);
    let dialing = CallFilter { status: Some(CallStatus::Dialing), ..Default::default() };
    assert!(db.batch_calls("b1", &dialing).await.unwrap().is_empty());
}

async fn idempotency_replays_conflicts_and_expires(db: Db) {
    let key = |hash: &str, not_before: i64| IdempotencyKey {
        key: "k1".into(),
        request_hash: hash.into(),
        not_before,
    };
    let mut b = new_batch("b1", &["+2348000000001"], 1, None);
    b.idempotency = Some(key("h1", 0));
    assert_eq!(db.create_batch(&b).await.unwrap(), BatchCreated::Created("b1".into()));
    let mut again = new_batch("b2", &["+2348000000001"], 1, None);
    again.idempotency = Some(key("h1", 0));
    assert_eq!(db.create_batch(&again).await.unwrap(), BatchCreated::Replayed("b1".into()));
    again.idempotency = Some(key("h2", 0));
    assert_eq!(db.create_batch(&again).await.unwrap(), BatchCreated::Conflict);
    assert!(db.get_batch("int-1", "b2").await.unwrap().is_none(), "nothing stored");
    assert_eq!(db.find_idempotent("int-1", "k1", 0).await.unwrap(), Some(("h1".into(), "b1".into())));
    assert!(db.find_idempotent("int-2", "k1", 0).await.unwrap().is_none(), "keys are per integrator");
    // Older than the replay window: a new request.
    again.idempotency = Some(key("h2", S));
    again.created_at = 2 * S;
    assert_eq!(db.create_batch(&again).await.unwrap(), BatchCreated::Created("b2".into()));
    assert_eq!(db.find_idempotent("int-1", "k1", S).await.unwrap(), Some(("h2".into(), "b2".into())));
}

async fn cancel_queued_batch_makes_it_final(db: Db) {
    batch(&db, "b1", &["+2348000000001", "+2348000000002"], 1, None).await;
    assert_eq!(db.cancel_batch("int-2", "b1", S).await.unwrap(), None, "tenancy");
    assert_eq!(db.cancel_batch("int-1", "nope", S).await.unwrap(), None);
    assert_eq!(db.cancel_batch("int-1", "b1", S).await.unwrap(), Some(2));
    let b = db.get_batch("int-1", "b1").await.unwrap().unwrap();
    assert_eq!((b.status, b.completed_at), (BatchStatus::Cancelled, Some(S)));
    assert_eq!(db.cancel_batch("int-1", "b1", 2 * S).await.unwrap(), Some(0));
    let p = db.batch_progress("b1").await.unwrap();
    assert_eq!((p.total, p.cancelled), (2, 2));
}

async fn do_not_call_hits_are_per_integrator(db: Db) {
    let many = phones(2_500);
    for p in many.iter().step_by(500) {
        assert!(db.add_do_not_call("int-1", p, "api", S).await.unwrap());
    }
    let mut hits = db.do_not_call_hits("int-1", &many).await.unwrap();
    hits.sort();
    assert_eq!(hits, many.iter().step_by(500).cloned().collect::<Vec<_>>());
    assert!(db.do_not_call_hits("int-2", &many).await.unwrap().is_empty());
    assert!(db.do_not_call_hits("int-1", &[]).await.unwrap().is_empty());
    db.ping().await.unwrap();
}

conformance!(
    integrators_and_key_rotation,
    workflows_put_replace_delete_and_tenancy,
    batch_is_stored_whole_and_read_back,
    idempotency_replays_conflicts_and_expires,
    cancel_queued_batch_makes_it_final,
    do_not_call_hits_are_per_integrator,
);
