//! Batch listing for dashboards: newest first, keyset pages that neither skip nor repeat
//! (also across batches created in the same microsecond), per-status counts, tenancy.

use voicebot_store::*;

use crate::support::{Db, S, new_batch};

async fn store(db: &Db, id: &str, integrator: &str, created_at: i64, phones: &[&str]) {
    let mut b = new_batch(id, phones, 1, None);
    b.integrator_id = integrator.into();
    b.created_at = created_at;
    assert_eq!(db.create_batch(&b).await.unwrap(), BatchCreated::Created(id.into()));
}

fn page(before: Option<BatchCursor>, limit: u32) -> BatchListFilter {
    BatchListFilter { before, limit }
}

fn ids(page: &[BatchSummary]) -> Vec<&str> {
    page.iter().map(|s| s.batch.id.as_str()).collect()
}

async fn batches_newest_first_paged_with_progress(db: Db) {
    store(&db, "b1", "int-1", S, &["+2348000000001", "+2348000000002", "+2348000000003"]).await;
    store(&db, "b2", "int-1", 2 * S, &["+2348000000004"]).await;
    // Same microsecond: the id breaks the tie, so paging between them is still exact.
    store(&db, "b3", "int-1", 3 * S, &["+2348000000005"]).await;
    store(&db, "b4", "int-1", 3 * S, &["+2348000000006"]).await;
    store(&db, "other", "int-2", 4 * S, &["+2348000000007"]).await;

    let all = db.list_batches("int-1", &page(None, 10)).await.unwrap();
    assert_eq!(ids(&all), ["b4", "b3", "b2", "b1"], "newest first, other integrators' hidden");

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let got = db.list_batches("int-1", &page(cursor.clone(), 1)).await.unwrap();
        let Some(last) = got.last() else { break };
        assert_eq!(got.len(), 1);
        seen.push(last.batch.id.clone());
        cursor = Some(last.cursor());
    }
    assert_eq!(seen, ["b4", "b3", "b2", "b1"], "pages of one neither skip nor repeat");

    // One call of b1 live, b2 cancelled: counts follow the calls.
    let claimed = db
        .claim_due_calls(&ClaimRequest { node: "n".into(), now: 10 * S, lease_until: 600 * S, limit: 1 })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let live_batch = claimed[0].batch.id.clone();
    assert_eq!(db.cancel_batch("int-1", "b2", 11 * S).await.unwrap(), Some(1));
    let all = db.list_batches("int-1", &page(None, 10)).await.unwrap();
    let by_id = |id: &str| all.iter().find(|s| s.batch.id == id).unwrap().clone();
    let b2 = by_id("b2");
    assert_eq!((b2.progress.total, b2.progress.cancelled, b2.progress.queued), (1, 1, 0));
    assert_eq!(b2.batch.status, BatchStatus::Cancelled);
    let live = by_id(&live_batch);
    assert_eq!((live.progress.dialing, live.progress.total), (1, live.batch.total_calls as u64));
    let progress_sum: u64 = all.iter().map(|s| s.progress.total).sum();
    assert_eq!(progress_sum, 6, "every call of int-1 counted once");
    assert_eq!(by_id("b1").progress, db.batch_progress("b1").await.unwrap());

    assert!(db.list_batches("int-3", &page(None, 10)).await.unwrap().is_empty());
}

/// A batch of int-1 whose calls carry a `name` variable and a tag.
async fn named_batch(db: &Db, id: &str, rows: &[(&str, &str, &str)]) {
    let mut b = new_batch(id, &rows.iter().map(|r| r.0).collect::<Vec<_>>(), 3, None);
    for (call, (_, name, tag)) in b.calls.iter_mut().zip(rows) {
        call.workflow_variables = serde_json::json!({"name": name}).to_string();
        call.user_tag_identifiers = serde_json::json!({"mrn": tag}).to_string();
    }
    b.name = Some("Tuesday clinic".into());
    b.created_at = 5 * S;
    assert_eq!(db.create_batch(&b).await.unwrap(), BatchCreated::Created(id.into()));
}

fn phones(calls: &[CallRow]) -> Vec<&str> {
    calls.iter().map(|c| c.phone_number.as_str()).collect()
}

async fn calls_searched_sorted_and_paged(db: Db) {
    named_batch(
        &db,
        "s1",
        &[
            ("+2348000000001", "Ada", "MRN-7"),
            ("+2348000000002", "bola", "MRN-8"),
            ("+2348000000003", "Chidi 50%_off", "X"),
            ("+2348000000004", "ada-Obi", "MRN-9"),
        ],
    )
    .await;
    let find = |f: CallFilter| {
        let db = db.clone();
        async move { db.batch_calls("s1", &f).await.unwrap() }
    };
    let search = |s: &str| CallFilter { search: Some(s.into()), ..Default::default() };
    // Case-insensitive, over the number, the variables and the tags; LIKE wildcards are literal.
    assert_eq!(phones(&find(search("ADA")).await), ["+2348000000001", "+2348000000004"]);
    assert_eq!(phones(&find(search("0000003")).await), ["+2348000000003"]);
    assert_eq!(phones(&find(search("mrn-8")).await), ["+2348000000002"]);
    assert_eq!(phones(&find(search("50%_")).await), ["+2348000000003"]);
    assert!(find(search("%%")).await.is_empty());
    assert!(find(search("a_a")).await.is_empty(), "_ matches only itself");

    let sorted = |sort: CallSort, descending: bool| CallFilter { sort, descending, ..Default::default() };
    let by_name = find(sorted(CallSort::Variable("name".into()), false)).await;
    assert_eq!(phones(&by_name), ["+2348000000001", "+2348000000004", "+2348000000002", "+2348000000003"]);
    let by_phone_desc = find(sorted(CallSort::Phone, true)).await;
    assert_eq!(
        phones(&by_phone_desc),
        ["+2348000000004", "+2348000000003", "+2348000000002", "+2348000000001"]
    );
    // Ties (every status QUEUED) keep request order; offset pages through a sorted list.
    let page = CallFilter { sort: CallSort::Status, limit: Some(2), offset: Some(1), ..Default::default() };
    assert_eq!(phones(&find(page).await), ["+2348000000002", "+2348000000003"]);
    let rest = CallFilter { sort: CallSort::Duration, offset: Some(3), ..Default::default() };
    assert_eq!(phones(&find(rest).await), ["+2348000000004"]);
    let none =
        CallFilter { status: Some(CallStatus::Completed), search: Some("ada".into()), ..Default::default() };
    assert!(find(none).await.is_empty());

    // The batch alone, with its label, counts and the earliest due call; tenancy holds.
    let summary = db.get_batch_summary("int-1", "s1").await.unwrap().expect("summary");
    assert_eq!(summary.batch.name.as_deref(), Some("Tuesday clinic"));
    assert_eq!((summary.progress.queued, summary.next_attempt_at), (4, Some(5 * S)));
    assert!(db.get_batch_summary("int-2", "s1").await.unwrap().is_none());
    let listed = db.list_batches("int-1", &page_of(10)).await.unwrap();
    assert_eq!(listed[0].next_attempt_at, Some(5 * S));
}

fn page_of(limit: u32) -> BatchListFilter {
    BatchListFilter { before: None, limit }
}

async fn attempts_keep_digits_and_played_prompts(db: Db) {
    named_batch(&db, "t1", &[("+2348000000001", "Ada", "M")]).await;
    let claim = ClaimRequest { node: "n".into(), now: 10 * S, lease_until: 600 * S, limit: 1 };
    assert_eq!(db.claim_due_calls(&claim).await.unwrap().len(), 1);
    let attempt = NewAttempt {
        id: "t1-a1".into(),
        call_id: "t1-c0".into(),
        sip_call_id: "sip-t1".into(),
        trunk: "main".into(),
        node: "n".into(),
        started_at: 11 * S,
        lease_until: 600 * S,
        max_concurrent: None,
    };
    assert_eq!(db.begin_attempt(&attempt).await.unwrap(), AttemptStart::Started(1));
    let live = db.call_attempts("int-1", "t1-c0").await.unwrap();
    assert_eq!((live.len(), live[0].state.as_str(), live[0].digits.as_str()), (1, "DIALING", ""));
    let played = vec![format!("tts:{}", "ab".repeat(32)), "audio:greeting_1".to_string()];
    let result = AttemptResult {
        attempt_id: "t1-a1".into(),
        call_id: "t1-c0".into(),
        node: "n".into(),
        outcome: "ANSWERED".into(),
        sip_code: Some(200),
        answered_at: Some(12 * S),
        ended_at: 20 * S,
        duration_seconds: 8,
        options_selected: Some("1".into()),
        opted_out: false,
        next: CallNext::Final { status: CallStatus::Completed, reason: None },
        digits: "71".into(),
        played: played.clone(),
    };
    assert!(db.finish_attempt(&result).await.unwrap());
    let got = db.call_attempts("int-1", "t1-c0").await.unwrap();
    assert_eq!(got.len(), 1);
    let a = &got[0];
    assert_eq!(
        (a.attempt_no, a.state.as_str(), a.outcome.as_deref(), a.sip_code),
        (1, "ENDED", Some("ANSWERED"), Some(200))
    );
    assert_eq!((a.started_at, a.answered_at, a.ended_at), (11 * S, Some(12 * S), Some(20 * S)));
    assert_eq!((a.digits.as_str(), &a.played), ("71", &played));
    assert!(db.call_attempts("int-2", "t1-c0").await.unwrap().is_empty(), "another integrator's call");
}

async fn default_country_is_kept_per_integrator(db: Db) {
    assert_eq!(db.get_integrator("int-1").await.unwrap().unwrap().default_country, None);
    assert!(db.set_default_country("int-1", Some("NG")).await.unwrap());
    assert_eq!(db.get_integrator("int-1").await.unwrap().unwrap().default_country.as_deref(), Some("NG"));
    assert_eq!(
        db.integrator_for_key("hash-int-1", 0).await.unwrap().unwrap().default_country.as_deref(),
        Some("NG")
    );
    assert_eq!(db.get_integrator("int-2").await.unwrap().unwrap().default_country, None);
    assert!(db.set_default_country("int-1", None).await.unwrap());
    assert_eq!(db.get_integrator("int-1").await.unwrap().unwrap().default_country, None);
    assert!(!db.set_default_country("nobody", Some("NG")).await.unwrap());
}

conformance!(
    batches_newest_first_paged_with_progress,
    calls_searched_sorted_and_paged,
    attempts_keep_digits_and_played_prompts,
    default_country_is_kept_per_integrator,
);
