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

conformance!(batches_newest_first_paged_with_progress);
